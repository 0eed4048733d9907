"""bench/gpu_check.sh runs end to end on a CPU in --dry-run mode (the GPU machine runs it for real)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_dry_run_writes_its_figures(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "VOWELCAM_DRY_RUN_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    env.pop("OUT", None)
    done = subprocess.run(
        ["bash", str(REPO / "bench" / "gpu_check.sh"), "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "3 skipped" in done.stdout  # the CUDA tests import and skip without a GPU
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert report["dry_run"] is True and len(report["results"]) == 1
    record = report["results"][0]
    for key in ("train_tokens_per_s", "infer_tokens_per_s", "cam_tokens_per_s"):
        assert record[key] > 0
    assert record["study_epoch_minutes"] == pytest.approx(report["study_tokens"] / record["train_tokens_per_s"] / 60)
