"""Instruments: ways of asking a trained network where along the frequency axis its evidence for a token's class
against the competing class lies. Every instrument returns the same thing, an **evidence profile** ``[N, F]`` per
token (positive = for the true class over the competitor), so that one reading and verdict path
(:mod:`vowelcam.explain.readings.contrast_region`, :mod:`vowelcam.explain.readings.verdicts`) serves them all.

- ``<method>@<layer>`` (e.g. ``gradcam@layer3``): a CAM method's raw (pre-ReLU) map for the true class minus the
  one for the competitor, upsampled to the input grid and summed over the token's frames. Resolution: the layer's
  measured point spread.
- ``occlusion``: model-agnostic and faithful by construction. A band of :data:`OCCLUSION_WIDTH_HZ` (or the width
  asked for) slides along frequency in steps of half its width; inside it every frame's values are in-filled by a
  straight line (in the model's input units, i.e. dB) between the rows just below and above the band, which removes
  a formant peak or a valley but keeps the spectral envelope's level. Evidence at a row = the mean drop of the logit
  difference (true minus competitor) over the bands that cover it. Resolution: the band width.
- ``integrated-gradients``: Sundararajan et al. (2017) for the logit difference, with the token's own floor (its
  5th-percentile input value, everywhere) as the baseline, :data:`IG_STEPS` Riemann midpoint steps; attribution
  summed over the token's frames. Resolution: one input row (read with :data:`MIN_REGION_HALFWIDTH_HZ`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

OCCLUSION_WIDTH_HZ = 250.0
IG_STEPS = 16
IG_FLOOR_PERCENTILE = 5.0
MIN_REGION_HALFWIDTH_HZ = 125.0  # a formant band is never read narrower than +-125 Hz (formant bandwidths, errors)
INPUT_INSTRUMENTS = ("occlusion", "integrated-gradients")
# Every instrument the calibration tries and ``cam.instruments = "auto"`` reads (the report heads with the calibrated
# one that found the most cues; :func:`vowelcam.explain.readings.calibration.default_instrument`).
INSTRUMENTS = (
    "gradcam@layer4",
    "gradcam@layer3",
    "hirescam@layer3",
    "gradcam@layer2",
    "occlusion",
    "integrated-gradients",
)


def instrument_list(text: str, auto: Sequence[str] = INSTRUMENTS) -> list[str]:
    """The instruments a ``cam.instruments`` setting names, checked; ``auto`` (or empty) = ``auto``."""
    names = list(auto) if text.strip().lower() in ("", "auto") else [t for t in text.split(",") if t.strip()]
    return [parse_instrument(name).name for name in names]


@dataclass(frozen=True)
class Instrument:
    """One instrument: ``kind`` cam | occlusion | integrated-gradients; ``method``/``layer`` for CAMs."""

    name: str
    kind: str
    method: str = ""
    layer: str = ""


def parse_instrument(text: str) -> Instrument:
    """``gradcam@layer3``, ``hirescam@layer2``, ``occlusion`` or ``integrated-gradients`` as an :class:`Instrument`."""
    from ...errors import VowelcamError
    from ..errors import CamError

    name = text.strip().lower()
    if name in INPUT_INSTRUMENTS:
        return Instrument(name, name)
    method, sep, layer = name.partition("@")
    if not sep or not method or not layer:
        raise CamError(
            f"unknown instrument {text!r}: use METHOD@LAYER (e.g. gradcam@layer3), occlusion or integrated-gradients"
        )
    from .methods import check_method

    try:
        method = check_method(method)
    except VowelcamError as exc:
        raise CamError(f"instrument {text!r}: {exc}") from None
    return Instrument(f"{method}@{layer}", "cam", method, layer)


def frame_mask(frames: np.ndarray, n_frames: int) -> torch.Tensor:
    """``[N, T]`` 0/1 mask of each token's own frames ``[start, end)``."""
    cols = np.arange(n_frames)[None, :]
    return torch.from_numpy(((cols >= frames[:, :1]) & (cols < frames[:, 1:2])).astype(np.float32))


def cam_profiles(
    model: nn.Module, layer: nn.Module, grid, method: str, x: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Evidence profiles ``[N, F]`` (true minus competitor raw map, over the token's frames) and the mass of the
    true-class map's absolute profile ``[N]``."""
    from .cam import compute_layer_cams

    batch = compute_layer_cams(model, layer, x, targets, method, grid)
    raw = batch.raw_maps.detach().float()
    true_map = grid.upsample(raw[:, 0])
    diff = true_map - grid.upsample(raw[:, 1])
    m = mask.to(diff.device)[:, None, :]
    evidence = (diff * m).sum(-1)
    mass = (true_map.abs() * m).sum((-1, -2))
    return evidence.cpu().numpy().astype(np.float64), mass.cpu().numpy().astype(np.float64)


def logit_difference(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``logit[true] - logit[competitor]`` per token (``targets`` ``[N, 2]``)."""
    logits = model(x).float()
    return logits.gather(1, targets[:, :1]).squeeze(1) - logits.gather(1, targets[:, 1:2]).squeeze(1)


@torch.no_grad()
def occlusion_profiles(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor, hz_per_row: float, width_hz: float = OCCLUSION_WIDTH_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """Evidence profiles of band occlusion (see the module docstring) and their absolute mass."""
    n, rows = len(x), x.shape[-2]
    width = max(2, int(round(width_hz / hz_per_row)))
    step = max(1, width // 2)
    base = logit_difference(model, x, targets)
    total = torch.zeros(n, rows, dtype=torch.float64)
    cover = torch.zeros(rows, dtype=torch.float64)
    for start in range(0, max(rows - width, 0) + step, step):
        lo, hi = start, min(start + width, rows)
        drop = (base - logit_difference(model, infill_band(x, lo, hi), targets)).double().cpu()
        total[:, lo:hi] += drop[:, None]
        cover[lo:hi] += 1
    profile = (total / cover.clamp_min(1)).numpy()
    return profile, np.abs(profile).sum(1)


def infill_band(x: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """``x`` ``[N, 1, F, T]`` with rows ``[lo, hi)`` replaced, frame by frame, by the straight line between rows
    ``lo - 1`` and ``hi`` (the nearer edge alone at the ends of the axis)."""
    out = x.clone()
    rows = x.shape[-2]
    below = x[..., max(lo - 1, 0), :] if lo > 0 else x[..., min(hi, rows - 1), :]
    above = x[..., hi, :] if hi < rows else below
    t = torch.linspace(0, 1, hi - lo + 2, device=x.device, dtype=x.dtype)[1:-1]
    out[..., lo:hi, :] = below[..., None, :] + (above - below)[..., None, :] * t[:, None]
    return out


def ig_profiles(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, steps: int = IG_STEPS
) -> tuple[np.ndarray, np.ndarray]:
    """Integrated-gradients evidence profiles (see the module docstring) and their absolute mass."""
    flat = x.reshape(len(x), -1)
    floor = torch.quantile(flat.float(), IG_FLOOR_PERCENTILE / 100.0, dim=1).to(x.dtype)
    baseline = floor[:, None, None, None].expand_as(x)
    total = torch.zeros_like(x)
    for alpha in (torch.arange(steps, dtype=x.dtype) + 0.5) / steps:
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(logit_difference(model, point, targets).sum(), point)
        total += grad
    attribution = ((x - baseline) * total / steps).detach()[:, 0]
    profile = (attribution * mask.to(x.device)[:, None, :]).sum(-1)
    return profile.cpu().numpy().astype(np.float64), np.abs(profile.cpu().numpy()).sum(1)


ProfileFunction = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], tuple[np.ndarray, np.ndarray]]
