"""Start-up cost of ``vowelcam --help``, ``vowelcam --version`` and ``import vowelcam``: wall time and peak RSS.

Compares two source trees side by side in one run (interleaved, so machine load hits both alike): by default
this checkout and a detached worktree of the base commit::

    git worktree add --detach ../vowelcam-firstcontact-base 7ccc91f
    python -m bench.bench_startup --base ../vowelcam-firstcontact-base --repeats 5

Each measurement is a fresh ``python`` process (``PYTHONPATH`` = the tree) timed with ``perf_counter`` (wall) and
its CPU time and peak resident set size read from ``os.wait4`` (CPU time is less sensitive to a loaded machine).
Writes ``bench/results/startup.json`` (medians and all runs).
Not a test: timings vary with load; compare the two trees only within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CASES = {
    "--help": ["-m", "vowelcam", "--help"],
    "--version": ["-m", "vowelcam", "--version"],
    "import vowelcam": ["-c", "import vowelcam"],
    "train -h": ["-m", "vowelcam", "train", "-h"],
}


def measure(tree: Path, args: list[str]) -> dict[str, float]:
    """Wall seconds, peak RSS (MB) and exit status of one ``python ARGS`` with ``tree`` on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tree
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return {
        "seconds": wall,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "status": os.waitstatus_to_exitcode(status),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=Path("../vowelcam-firstcontact-base"), help="base source tree")
    parser.add_argument("--after", type=Path, default=HERE, help="changed source tree")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "bench" / "results" / "startup.json")
    opts = parser.parse_args()
    trees = {"base": opts.base.resolve(), "after": opts.after.resolve()}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {t: {c: [] for c in CASES} for t in trees}
    for name, args in CASES.items():
        for tree in trees.values():  # warm the file cache (and bytecode) once, unmeasured
            measure(tree, args)
        for _ in range(opts.repeats):
            for label, tree in trees.items():
                runs[label][name].append(measure(tree, args))
    summary = {
        label: {
            name: {
                "median_seconds": round(statistics.median(r["seconds"] for r in rs), 3),
                "median_cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in rs), 3),
                "median_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in rs), 1),
                "exit_status": sorted({r["status"] for r in rs}),
            }
            for name, rs in cases.items()
        }
        for label, cases in runs.items()
    }
    ratio = {
        name: round(summary["base"][name]["median_seconds"] / summary["after"][name]["median_seconds"], 1)
        for name in CASES
    }
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared; medians of {opts.repeats})",
        "trees": {k: str(v) for k, v in trees.items()},
        "summary": summary,
        "speed_up_base_over_after": ratio,
        "runs": runs,
    }
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(result, indent=2))
    for name in CASES:
        b, a = summary["base"][name], summary["after"][name]
        print(
            f"{name:16s} base {b['median_seconds']:6.2f} s (cpu {b['median_cpu_seconds']:5.2f}) "
            f"{b['median_peak_rss_mb']:7.1f} MB   after {a['median_seconds']:6.2f} s (cpu"
            f" {a['median_cpu_seconds']:5.2f}) "
            f"{a['median_peak_rss_mb']:7.1f} MB   ({ratio[name]}x wall)"
        )
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
