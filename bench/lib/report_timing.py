"""Timing ``vowelcam report`` in a fresh interpreter, on a synthetic run written by the tests' fake-run builder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .paths import REPO

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


def write_fake_run(root: Path, n_tokens: int, gallery_size: int) -> Any:
    """A synthetic run of ``n_tokens`` tokens in the shape the pipeline writes (the tests' ``report_fake_run``)."""
    sys.path.insert(0, str(REPO / "tests"))
    from tests.helpers.runs import reported_run as write

    return write(root, n_tokens=n_tokens, gallery_size=gallery_size)
