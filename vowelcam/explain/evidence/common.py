"""What the evidence tests share: their inputs and settings, predictions and maps of (altered) tokens, the
profiles read from them, and the ``faithfulness.csv`` row with its cluster-bootstrap interval.

Used by :mod:`.deletion`, :mod:`.randomisation`, :mod:`.warp`, :mod:`.causal` and :mod:`.faithfulness` (which runs
the first three); it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ...intervals import cluster_bootstrap_mean, resampling_clusters
from ..maps.cam import compute_layer_cams
from ..maps.capture import eval_mode
from ..maps.grid import CamGrid
from ..readings.controls import floor_above  # the same energy map as the agreement controls read

FAITHFULNESS_COLUMNS = ["test", "condition", "metric", "value", "ci_lo", "ci_hi", "n", "n_clusters", "unit", "width_hz"]
Prepare = Callable[[np.ndarray], torch.Tensor]


@dataclass(frozen=True)
class FaithSpec:
    """Settings of the tests (see :class:`vowelcam.config.CamSettings` for the user-facing names)."""

    width_hz: float = 250.0  # the band_deletion width; deletion_curve adds widths_hz
    widths_hz: tuple[float, ...] = (125.0, 250.0, 500.0, 1000.0)
    random_draws: int = 3
    curve_random_draws: int = 1  # random bands per token at the deletion curve's other widths
    energy_tolerance_db: float = 3.0
    warp_factors: tuple[float, ...] = (0.9, 1.1)
    randomisation_seeds: int = 2
    randomisation_max_tokens: int = 64
    label_permutation: bool = False
    permutation_epochs: int = 6
    noise_percentile: float = 5.0  # the energy control map: dB above this percentile of the token
    batch_size: int = 32
    n_boot: int = 1000
    seed: int = 0


@dataclass
class FaithInputs:
    """What the tests work on: the model, its CAM layer, the tokens (dB spectrograms on the model's rows) and
    who said them (for the cluster bootstrap)."""

    model: nn.Module
    layer: nn.Module
    cascade: Sequence[tuple[str, Sequence[nn.Module]]]  # re-initialised in turn, top first (randomisation)
    grid: CamGrid
    prepare: Prepare
    specs: np.ndarray  # [N, F, T] dB
    true_idx: np.ndarray  # [N] class index
    frames: np.ndarray  # [N, 2] token frame_start, frame_end
    method: str
    device: torch.device
    speakers: Sequence[str] = ()
    recordings: Sequence[str] = ()
    train_specs: np.ndarray | None = None  # tokens the label-permutation copy learns from (not the test tokens)
    train_idx: np.ndarray | None = None
    clusters: list[str] = field(init=False)
    unit: str = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.specs)
        speakers = list(self.speakers) or [""] * n
        recordings = list(self.recordings) or [f"token:{i}" for i in range(n)]
        self.clusters, self.unit = resampling_clusters(speakers, recordings)

    def subset(self, idx: np.ndarray) -> FaithInputs:
        """The same inputs restricted to tokens ``idx``."""
        out = FaithInputs(
            self.model,
            self.layer,
            self.cascade,
            self.grid,
            self.prepare,
            self.specs[idx],
            self.true_idx[idx],
            self.frames[idx],
            self.method,
            self.device,
            train_specs=self.train_specs,
            train_idx=self.train_idx,
        )
        out.clusters, out.unit = [self.clusters[i] for i in idx], self.unit
        return out


def _batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def predict(inp: FaithInputs, specs: np.ndarray, spec: FaithSpec, model: nn.Module | None = None) -> np.ndarray:
    """Class probabilities ``[N, classes]``."""
    model = model or inp.model
    out = []
    with eval_mode(model), torch.no_grad():
        for part in _batches(len(specs), spec.batch_size):
            out.append(torch.softmax(model(inp.prepare(specs[part]).to(inp.device)), 1).cpu().numpy())
    return np.concatenate(out)


def predict_logits(inp: FaithInputs, specs: np.ndarray, spec: FaithSpec) -> np.ndarray:
    """Raw class scores ``[N, classes]`` (before the softmax) of ``inp.model``."""
    out = []
    with eval_mode(inp.model), torch.no_grad():
        for start in range(0, len(specs), spec.batch_size):
            out.append(inp.model(inp.prepare(specs[start : start + spec.batch_size]).to(inp.device)).cpu().numpy())
    return np.concatenate(out)


def layer_maps(
    inp: FaithInputs,
    specs: np.ndarray,
    spec: FaithSpec,
    model: nn.Module | None = None,
    layer: nn.Module | None = None,
    targets: np.ndarray | None = None,
) -> np.ndarray:
    """True-class (or ``targets``) raw maps on the layer grid ``[N, h, w]``."""
    targets = inp.true_idx if targets is None else targets
    out = []
    for part in _batches(len(specs), spec.batch_size):
        x = inp.prepare(specs[part]).to(inp.device)
        batch = compute_layer_cams(
            model or inp.model,
            layer or inp.layer,
            x,
            torch.as_tensor(targets[part]).reshape(-1, 1),
            inp.method,
            inp.grid,
        )
        out.append(batch.layer_maps[:, 0].detach().cpu().numpy())
    return np.concatenate(out)


def token_frame_mask(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """``[N, T]`` True on each token's own frames ``[frame_start, frame_end)`` (at least one)."""
    cols = np.arange(n_frames)[None, :]
    return (cols >= frames[:, :1]) & (cols < np.maximum(frames[:, 1:], frames[:, :1] + 1))


def interval_profiles(maps: np.ndarray, inp: FaithInputs) -> np.ndarray:
    """Clipped frequency profiles ``[N, F]`` over each token's frames from layer-grid maps."""
    up = inp.grid.upsample(torch.from_numpy(maps)).numpy()
    return (np.clip(up, 0, None) * token_frame_mask(inp.frames, up.shape[2])[:, None, :]).sum(axis=2)


def energy_profiles(specs: np.ndarray, frames: np.ndarray, percentile: float = 5.0) -> np.ndarray:
    """The model-free control map read like a CAM: dB above the token's ``percentile``, summed over its frames."""
    above = floor_above(torch.from_numpy(np.asarray(specs, dtype=np.float32)), percentile).numpy()
    return (above * token_frame_mask(frames, specs.shape[2])[:, None, :]).sum(axis=2)


def stat_row(
    test: str,
    condition: str,
    metric: str,
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[str],
    unit: str,
    spec: FaithSpec,
    width_hz: float | None = None,
) -> dict[str, Any]:
    """One ``faithfulness.csv`` row: the mean of ``values`` with its cluster-bootstrap interval."""
    mean, lo, hi, n, n_clusters = cluster_bootstrap_mean(
        np.asarray(values, dtype=np.float64), clusters, spec.n_boot, spec.seed
    )
    return {
        "test": test,
        "condition": condition,
        "metric": metric,
        "value": mean,
        "ci_lo": lo,
        "ci_hi": hi,
        "n": n,
        "n_clusters": n_clusters,
        "unit": unit,
        "width_hz": width_hz,
    }


def window_centroid_shift(
    base: np.ndarray, moved: np.ndarray, freqs: np.ndarray, before: np.ndarray, after: np.ndarray, pad_hz: float
) -> np.ndarray:
    """Per token, the shift (Hz) of the profiles' centroid inside ``[min(before, after) - w, max + w]`` with
    ``w = max(|after - before|, pad_hz)``, each profile taken above its own minimum in the window (so a broad base
    does not hide where the peak went); NaN when the window holds no such mass."""
    out = np.full(len(base), np.nan)
    for i, (b, a) in enumerate(zip(before, after)):
        if not (np.isfinite(b) and np.isfinite(a)):
            continue
        w = max(abs(a - b), pad_hz)
        inside = (freqs >= min(a, b) - w) & (freqs <= max(a, b) + w)
        mb, mm = base[i, inside] - base[i, inside].min(), moved[i, inside] - moved[i, inside].min()
        if mb.sum() > 0 and mm.sum() > 0:
            out[i] = (freqs[inside] * mm).sum() / mm.sum() - (freqs[inside] * mb).sum() / mb.sum()
    return out


def band_share(profiles: np.ndarray, freqs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Share of each profile's mass within ``[lo, hi]`` Hz (NaN for empty profiles or bands)."""
    inside = (freqs[None, :] >= lo[:, None]) & (freqs[None, :] <= hi[:, None])
    total = profiles.sum(axis=1)
    share = (profiles * inside).sum(axis=1) / np.where(total > 0, total, np.nan)
    return np.where(np.isfinite(lo) & np.isfinite(hi), share, np.nan)
