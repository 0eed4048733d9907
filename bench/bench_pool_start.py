"""How fast a local pool's workers are ready: fork, spawn, a fork server, and the fork server vowelcam uses.

A client that runs threads (a progress bar, torch's pools, a Dask client) must not fork itself (Python 3.12 warns:
``popen_fork`` DeprecationWarning), so ``ProcessPool`` starts its workers from a fork server that imports the
chunk modules once (:func:`vowelcam.parallel.runners.worker_context`). Each measurement runs in a fresh process
that has imported ``vowelcam.extract.chunk`` and started a thread, as ``extract``'s client has: the seconds from
creating a pool of ``--jobs`` processes until each has run a first task that imports the chunk module (what a
worker does before its first chunk), and whether a DeprecationWarning about forking was raised.

    python -m bench.bench_pool_start [--jobs 2] [--repeats 3]

Writes bench/results/pool_start.json (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.lib.paths import REPO, RESULTS

METHODS = ("fork", "spawn", "forkserver", "vowelcam")  # vowelcam: the fork server with the chunk modules preloaded

ONE = """
import importlib, json, multiprocessing, sys, threading, time, warnings
from concurrent.futures import ProcessPoolExecutor
warnings.simplefilter("always")

def first_task(name):
    t = time.perf_counter()
    importlib.import_module(name)
    return time.perf_counter() - t

if __name__ == "__main__":
    method, jobs = sys.argv[1], int(sys.argv[2])
    import vowelcam.extract.chunk  # the client has it loaded
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    if method == "vowelcam":
        from vowelcam.parallel.runners import worker_context
        context = worker_context()
    else:
        context = multiprocessing.get_context(method)
    with warnings.catch_warnings(record=True) as caught:
        t = time.perf_counter()
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            imports = list(pool.map(first_task, ["vowelcam.extract.chunk"] * jobs))
            ready = time.perf_counter() - t
    forking = [w for w in caught if issubclass(w.category, DeprecationWarning) and "fork" in str(w.message)]
    print(json.dumps({"ready_s": ready, "slowest_first_import_s": max(imports), "fork_warning": bool(forking)}))
"""


def measure(script: Path, method: str, jobs: int) -> dict:
    """One fresh client process: seconds until ``jobs`` workers have each run a first task."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script), method, str(jobs)], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{method}: {done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "pool_start.json")
    args = parser.parse_args()
    results: dict = {
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "settings": vars(args) | {"out": os.path.relpath(args.out, REPO)},
        "methods": {},
    }
    folder = tempfile.TemporaryDirectory()
    script = Path(folder.name) / "pool_client.py"  # a file, not -c: spawned workers re-import the main module
    script.write_text(ONE)
    for method in METHODS:
        runs = [measure(script, method, args.jobs) for _ in range(args.repeats)]
        results["methods"][method] = {
            "ready_s_median": round(statistics.median(r["ready_s"] for r in runs), 2),
            "ready_s": [round(r["ready_s"], 2) for r in runs],
            "slowest_first_import_s_median": round(statistics.median(r["slowest_first_import_s"] for r in runs), 3),
            "fork_warning": any(r["fork_warning"] for r in runs),
        }
        print(method, results["methods"][method], flush=True)
    folder.cleanup()
    results["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
