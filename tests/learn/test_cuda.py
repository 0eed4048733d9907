"""The CUDA path, on a real GPU (skipped elsewhere; ``bench/gpu_check.sh`` runs these on a lent GPU machine).

- bf16 autocast + channels-last predictions take the float32 decisions, except on near-ties, which are counted.
- CAMs computed on CUDA equal CAMs computed on the CPU for the same trained model, within float tolerance.
- DDP over NCCL with one process trains and writes one set of outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.helpers.runs import extracted_run
from vowelcam import rundir
from vowelcam.acoustics.store import SpectrogramStore
from vowelcam.config import CamSettings, TrainSettings
from vowelcam.learn.models import load_model
from vowelcam.learn.train import train

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (bench/gpu_check.sh runs these on a GPU machine)"
)
NEAR_TIE = 0.05  # top-two probability margin under which a flipped decision is a rounding near-tie, not a bug


def _report(name: str, record: dict) -> None:
    """Append a figure to the file gpu_check.sh collects (when it asks for one)."""
    path = os.environ.get("VOWELCAM_GPU_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": name, **record}) + "\n")


def test_bf16_predictions_keep_the_float32_decisions_except_near_ties(tmp_path):
    run = extracted_run(tmp_path / "run", speakers=6, per_class=6)
    train(run, TrainSettings(arch="resnet18", epochs=3, batch_size=16, seed=0), device="cuda")
    model, info = load_model(run / rundir.MODEL, "cuda")
    tokens = rundir.read_csv(run / rundir.TOKENS)
    store = SpectrogramStore(run / rundir.SPECTROGRAMS)
    x = info.prepare(
        store.get_many([(int(t["spec_shard"]), int(t["spec_row"])) for t in tokens], max_freq=info.max_freq)
    ).cuda()
    with torch.no_grad():
        ref = torch.softmax(model(x).float(), 1)
        model.to(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fast = torch.softmax(model(x.contiguous(memory_format=torch.channels_last)).float(), 1)
    top2 = ref.topk(2, dim=1).values
    near_tie = (top2[:, 0] - top2[:, 1]) < NEAR_TIE
    flipped = fast.argmax(1) != ref.argmax(1)
    _report(
        "bf16",
        {
            "tokens": len(x),
            "near_ties": int(near_tie.sum()),
            "flipped": int(flipped.sum()),
            "max_prob_diff": float((fast - ref).abs().max()),
        },
    )
    assert not (flipped & ~near_tie).any()
    assert float((fast - ref).abs().max()) < 0.05


def test_cams_on_cuda_equal_cams_on_the_cpu(tmp_path):
    from vowelcam.explain.stage import explain_run

    cpu_run = extracted_run(tmp_path / "cpu", speakers=6, per_class=4)
    train(cpu_run, TrainSettings(arch="resnet18", epochs=1, batch_size=8, seed=1), device="cpu")
    gpu_run = tmp_path / "gpu"
    shutil.copytree(cpu_run, gpu_run)
    settings = CamSettings(tokens="all", faithfulness=False, batch_size=8)
    explain_run(cpu_run, settings, device="cpu")
    explain_run(gpu_run, settings, device="cuda")
    worst = 0.0
    for name in ("true.npy", "pred.npy"):
        ref, ours = np.load(cpu_run / "cams" / name), np.load(gpu_run / "cams" / name)
        scale = np.abs(ref).max(axis=(1, 2), keepdims=True) + 1e-12
        worst = max(worst, float((np.abs(ours - ref) / scale).max()))
    _report("cam_cuda_vs_cpu", {"max_rel_diff": worst})
    assert worst < 1e-3


def test_ddp_over_nccl_with_one_process_trains(tmp_path):
    run = extracted_run(tmp_path / "run", speakers=6, per_class=2)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "1",
        "-m",
        "vowelcam",
        "train",
        str(run),
        "--epochs",
        "1",
        "--arch",
        "resnet18",
        "--device",
        "cuda",
    ]
    env = {**os.environ, "VOWELCAM_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "nccl" in (done.stdout + done.stderr).lower()
    assert len(rundir.read_csv(run / rundir.PREDICTIONS)) == 36
