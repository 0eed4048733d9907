"""Training-step and inference tokens/s of one vowelcam ResNet on spectrogram-shaped random batches."""

from __future__ import annotations

import torch

from vowelcam.learn.loop import autocast
from vowelcam.learn.models import SpectrogramResNet, choose_freq_strides

from .timing import median_seconds


def measure(arch: str, rows: int, max_hz: float, device: torch.device, batch: int, batches: int) -> dict:
    """Tokens per second for training steps and for inference, median over ``batches`` timed batches.

    Training = forward + backward + fused AdamW step (bf16 autocast and channels-last on CUDA, as in
    vowelcam.learn); inference = eval-mode forward without gradients. ``max_hz`` is the Hz per row at layer4
    (0 = standard strides).
    """
    torch.manual_seed(0)
    model = SpectrogramResNet(arch, 12, choose_freq_strides(31.25, max_hz)).to(device)
    x = torch.randn(batch, 1, rows, 96, device=device)
    y = torch.randint(0, 12, (batch,), device=device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), fused=True)

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast(device):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        opt.step()

    def infer_step() -> None:
        with torch.inference_mode(), autocast(device):
            model(x)

    model.train()
    train_s = median_seconds(train_step, device, batches)
    model.eval()
    infer_s = median_seconds(infer_step, device, batches)
    return {
        "arch": arch,
        "rows": rows,
        "frames": 96,
        "max_hz_per_row": max_hz,
        "device": device.type,
        "batch": batch,
        "train_tokens_per_s": batch / train_s,
        "infer_tokens_per_s": batch / infer_s,
    }
