"""GPU throughput of the vowelcam ResNets: training, inference and Grad-CAM tokens/s, and the study-scale time.

    python -m bench.bench_gpu [--dry-run] [--archs resnet18,resnet101] [--out bench/results/gpu.json]

Run by ``bench/gpu_check.sh`` on a lent GPU machine (see the README's GPU section). Inputs have the shapes of
vowelcam's spectrograms (257 rows = 0-8 kHz at 31.25 Hz per row for the full-band vowel task, 129 rows for
``vowels4k``, 96 frames of 5 ms) at the default CAM resolution (<= 125 Hz per row at layer4). Throughput depends
on shapes, not on values, so the batches are random; the study-scale figure is the LJSpeech vowel count
(343 845 tokens, the full MFA alignment) divided by the measured training rate: one epoch's time, not a run's.

Training = forward + backward + fused AdamW step under bf16 autocast with channels-last on CUDA (vowelcam.learn's
GPU path), optionally ``torch.compile``; inference = eval-mode forward; CAM = Grad-CAM for two targets (true and
predicted class), as ``vowelcam cam`` computes it. ``--dry-run`` does the same with tiny batches on the CPU so CI
can prove the script runs (its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from bench.lib.paths import RESULTS
from bench.lib.timing import median_seconds  # the median-of-repeats timer (CUDA-synchronised)
from vowelcam.explain.maps.cam import compute_layer_cams
from vowelcam.learn.loop import autocast
from vowelcam.learn.models import SpectrogramResNet, choose_freq_strides

STUDY_TOKENS = 343_845  # LJSpeech vowels in the full MFA alignment (shared/README.md)
SHAPES = {"full_band_257x96": 257, "vowels4k_129x96": 129}
N_CLASSES = 15


def _model(arch: str, device: torch.device, compile_model: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    model = SpectrogramResNet(arch, N_CLASSES, choose_freq_strides(31.25, 125.0)).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return torch.compile(model) if compile_model else model


def measure(arch: str, rows: int, device: torch.device, batch: int, repeats: int, compile_model: bool = False) -> dict:
    """Median tokens/s of training steps, inference and two-target Grad-CAM for one architecture and shape."""
    model = _model(arch, device, compile_model)
    x = torch.randn(batch, 1, rows, 96, device=device)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, N_CLASSES, (batch,), device=device)
    opt = torch.optim.AdamW(model.parameters(), fused=device.type == "cuda")

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast(device):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        opt.step()

    def infer_step() -> None:
        with torch.inference_mode(), autocast(device):
            model(x)

    plain = getattr(model, "_orig_mod", model)
    targets = torch.stack([y, (y + 1) % N_CLASSES], dim=1)

    def cam_step() -> None:
        compute_layer_cams(plain, plain.layer4, x, targets, "gradcam")

    model.train()
    train_s = median_seconds(train_step, device, repeats)
    model.eval()
    infer_s = median_seconds(infer_step, device, repeats)
    cam_s = median_seconds(cam_step, device, repeats)
    train_rate = batch / train_s
    return {
        "arch": arch,
        "rows": rows,
        "frames": 96,
        "batch": batch,
        "compiled": compile_model,
        "train_tokens_per_s": train_rate,
        "infer_tokens_per_s": batch / infer_s,
        "cam_tokens_per_s": batch / cam_s,
        "study_epoch_minutes": STUDY_TOKENS / train_rate / 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny CPU run: proves the script works (CI)")
    parser.add_argument("--archs", default="resnet18,resnet101")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd training")
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu.json")
    args = parser.parse_args()
    cuda = torch.cuda.is_available() and not args.dry_run
    if not cuda and not args.dry_run:
        raise SystemExit("bench_gpu.py: no CUDA device here (use --dry-run to check the script on a CPU)")
    device = torch.device("cuda" if cuda else "cpu")
    batch, repeats = (args.batch_size, args.repeats) if cuda else (2, 1)
    archs = args.archs.split(",") if cuda else ["resnet18"]
    shapes = SHAPES if cuda else {"vowels4k_129x96": 129}
    results = []
    for arch in archs:
        for name, rows in shapes.items():
            for compiled in [False, True] if args.compile and cuda else [False]:
                record = measure(arch, rows, device, batch, repeats, compiled)
                results.append({"shape": name, **record})
                print(json.dumps(results[-1]), flush=True)
    report = {
        "dry_run": args.dry_run,
        "device": torch.cuda.get_device_name() if cuda else platform.machine(),
        "torch": torch.__version__,
        "study_tokens": STUDY_TOKENS,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
