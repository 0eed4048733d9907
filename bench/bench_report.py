"""Report rendering benchmark: `vowelcam report` on a synthetic run of 10 000 tokens (gallery bounded).

The run is written by ``tests/report_fake_run.py`` (through ``bench.lib.report_timing``) in the shape the
pipeline's stages write (tokens.csv, a spectrogram store, predictions, model metadata, CAMs for the 20 % test
split, agreement, faithfulness, problems).
Target: the whole report (figures + HTML + PDF) in under 30 s. Times are wall clock (``time.perf_counter``) around
``build_report`` in a fresh process, so imports (torch for the model metadata, WeasyPrint) are included; process
CPU time is also recorded, the fairer figure on a machine shared with other jobs. Extra run directories (e.g. the
README's sample-data run or a Hillenbrand run) can be timed too.

    python -m bench.bench_report [--tokens 10000] [--gallery 12] [--repeat 1] [--run RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.lib.paths import RESULTS as RESULTS_DIR
from bench.lib.report_timing import time_report, write_fake_run

RESULTS = RESULTS_DIR / "report.json"
TARGET_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--gallery", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--run", type=Path, action="append", default=[], help="also time this run directory")
    args = parser.parse_args()

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
