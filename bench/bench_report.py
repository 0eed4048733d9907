"""Report rendering benchmark: `vowelcam report` on a synthetic run of 10 000 tokens (gallery bounded).

The run is written by ``tests/report_fake_run.py`` in the shape the pipeline's stages write (tokens.csv, a
spectrogram store, predictions, model metadata, CAMs for the 20 % test split, agreement, faithfulness, problems).
Target: the whole report (figures + HTML + PDF) in under 30 s. Times are wall clock (``time.perf_counter``) around
``build_report`` in a fresh process, so imports (torch for the model metadata, WeasyPrint) are included; process
CPU time is also recorded, the fairer figure on a machine shared with other jobs. Extra run directories (e.g. the
README's sample-data run or a Hillenbrand run) can be timed too.

    python bench/bench_report.py [--tokens 10000] [--gallery 12] [--repeat 1] [--run RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "report.json"
TARGET_S = 30.0

# Runs in a child process so that each measurement pays the imports a user's `vowelcam report` pays.
CHILD = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from vowelcam.report.render import build_report
r = build_report(sys.argv[1], sys.argv[2])
print(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                  "figures_s": r.seconds_figures, "html_s": r.seconds_html, "pdf_s": r.seconds_pdf,
                  "pages": r.pages, "pdf_bytes": r.pdf.stat().st_size if r.pdf else 0}))
"""


def time_report(run_dir: Path, out: Path) -> dict:
    """Render ``run_dir`` into ``out`` in a fresh interpreter and return its timings."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(run_dir), str(out)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--gallery", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--run", type=Path, action="append", default=[], help="also time this run directory")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO / "tests"))
    from report_fake_run import write_fake_run

    results = []
    with tempfile.TemporaryDirectory(prefix="vowelcam-bench-report-") as tmp:
        t0 = time.perf_counter()
        run = write_fake_run(Path(tmp) / "run", n_tokens=args.tokens, gallery_size=args.gallery)
        write_s = time.perf_counter() - t0
        for i in range(args.repeat):
            timing = time_report(run.root, Path(tmp) / f"report-{i}")
            results.append(
                {"run": f"synthetic {args.tokens} tokens", "tokens": args.tokens, "gallery": args.gallery, **timing}
            )
    for extra in args.run:
        with tempfile.TemporaryDirectory(prefix="vowelcam-bench-report-") as tmp:
            n_tokens = sum(1 for _ in open(extra / "tokens.csv", encoding="utf-8")) - 1
            results.append({"run": str(extra), "tokens": n_tokens, **time_report(extra, Path(tmp))})

    report = {
        "benchmark": "report rendering (figures + HTML + PDF, fresh process, imports included)",
        "target_s": TARGET_S,
        "synthetic_run_write_s": write_s,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_1min": os.getloadavg()[0]},
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_table(report)


def print_table(report: dict) -> None:
    """The results as a Rich table."""
    table = Table(title=f"vowelcam report rendering (target < {report['target_s']:.0f} s)")
    for col in (
        "run",
        "tokens",
        "wall s",
        "CPU s",
        "figures s",
        "HTML s",
        "PDF s",
        "pages",
        "PDF MB",
        "wall < 30 s",
        "CPU < 30 s",
    ):
        table.add_column(col, justify="left" if col == "run" else "right")
    for r in report["results"]:
        met = ["[green]met" if r[key] < report["target_s"] else "[red]missed" for key in ("wall_s", "cpu_s")]
        table.add_row(
            r["run"],
            str(r["tokens"]),
            f"{r['wall_s']:.1f}",
            f"{r['cpu_s']:.1f}",
            f"{r['figures_s']:.1f}",
            f"{r['html_s']:.2f}",
            f"{r['pdf_s']:.1f}",
            str(r["pages"]),
            f"{r['pdf_bytes'] / 1e6:.2f}",
            *met,
        )
    console = Console(width=140)
    console.print(table)
    console.print(
        f"load average during the run: {report['machine']['load_avg_1min']:.1f} on {report['machine']['cpus']} CPUs "
        "(wall time exceeds CPU time when other jobs share the cores)"
    )


if __name__ == "__main__":
    main()
