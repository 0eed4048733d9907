"""Evidence that the maps mean something (``faithfulness.csv``: test, condition, metric, value, ci_lo, ci_hi, n).

- ``band_deletion``: per token, the frequency band of fixed width holding the most true-class CAM mass (over the
  token's frames) is overwritten, in every frame, with the token's noise floor (a low percentile of its own dB
  values: silence as the recording has it, not the zeros a model never saw); ``random_band`` overwrites a band of
  the same width at a uniformly drawn position instead (several draws, averaged per token). Metrics:
  ``accuracy``, ``prob_true`` (mean), ``prob_drop`` (original minus deleted, per token), ``accuracy_drop``;
  condition ``top_minus_random`` is the paired difference of ``prob_drop``. If the maps point at what the model
  uses, the top band hurts more.
- ``randomisation`` (Adebayo et al. 2018): maps of a copy whose top layers are re-initialised (condition ``fc``;
  then also the CAM layer and every feature layer above it, e.g. ``layer4+fc``) against the trained model's maps,
  as the Spearman rank correlation of each token's layer-grid map. Maps that survive randomisation say nothing
  about the model.
- ``frequency_shift`` (the essay's objection): the spectrogram moved up or down by N Hz (whole rows; vacated rows
  get the noise floor). Metrics: ``accuracy``, ``changed_share`` (prediction differs from the unshifted one),
  ``prob_true_change``, and ``map_shift_hz``: the lag maximising the cross-correlation of the shifted token's
  profile with the original one (a map that follows the formants moves by about the shift).

Intervals are percentile bootstraps over tokens (95 %).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..progress import ProgressCallback, report
from .agreement import bootstrap_mean
from .cam import compute_layer_cams, eval_mode
from .grid import CamGrid

FAITHFULNESS_COLUMNS = ["test", "condition", "metric", "value", "ci_lo", "ci_hi", "n"]
Prepare = Callable[[np.ndarray], torch.Tensor]


@dataclass(frozen=True)
class FaithSpec:
    """Settings of the three tests."""

    width_hz: float = 250.0
    random_draws: int = 3
    shift_hz: float = 150.0
    noise_percentile: float = 5.0
    batch_size: int = 32
    n_boot: int = 1000
    seed: int = 0


@dataclass
class FaithInputs:
    """What the tests work on: the model, its CAM layer, and the tokens (dB spectrograms on the model's rows)."""

    model: nn.Module
    layer: nn.Module
    upper_modules: Sequence[nn.Module]  # the CAM layer, the feature layers above it, fc (re-initialised in turn)
    grid: CamGrid
    prepare: Prepare
    specs: np.ndarray  # [N, F, T] dB
    true_idx: np.ndarray  # [N] class index
    frames: np.ndarray  # [N, 2] token frame_start, frame_end
    method: str
    device: torch.device


def noise_floor(specs: np.ndarray, percentile: float) -> np.ndarray:
    """Per-token fill value: the ``percentile`` of its own dB values."""
    return np.percentile(specs.reshape(len(specs), -1), percentile, axis=1).astype(np.float32)


def fill_rows(specs: np.ndarray, starts: np.ndarray, width: int, fill: np.ndarray) -> np.ndarray:
    """A copy with rows ``[start, start + width)`` of each token set to its ``fill`` value, in every frame."""
    rows = np.arange(specs.shape[1])[None, :]
    mask = (rows >= starts[:, None]) & (rows < starts[:, None] + width)
    return np.where(mask[:, :, None], fill[:, None, None], specs).astype(np.float32)


def top_band_starts(profiles: np.ndarray, width: int) -> np.ndarray:
    """First row of the ``width``-row window with the most profile mass, per token."""
    csum = np.concatenate([np.zeros((len(profiles), 1)), np.cumsum(profiles, axis=1)], axis=1)
    return np.argmax(csum[:, width:] - csum[:, :-width], axis=1)


def shift_rows(specs: np.ndarray, rows: int, fill: np.ndarray) -> np.ndarray:
    """Move every spectrogram ``rows`` rows up (positive = higher Hz), vacated rows filled per token."""
    out = np.empty_like(specs)
    out[:] = fill[:, None, None]
    if rows >= 0:
        out[:, rows:] = specs[:, : specs.shape[1] - rows]
    else:
        out[:, :rows] = specs[:, -rows:]
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


def layer_maps(inp: FaithInputs, specs: np.ndarray, spec: FaithSpec, model: nn.Module | None = None,
               layer: nn.Module | None = None) -> np.ndarray:
    """True-class raw maps on the layer grid ``[N, h, w]``."""
    out = []
    for part in _batches(len(specs), spec.batch_size):
        x = inp.prepare(specs[part]).to(inp.device)
        targets = torch.as_tensor(inp.true_idx[part]).reshape(-1, 1)
        batch = compute_layer_cams(model or inp.model, layer or inp.layer, x, targets, inp.method, inp.grid)
        out.append(batch.layer_maps[:, 0].cpu().numpy())
    return np.concatenate(out)


def interval_profiles(maps: np.ndarray, inp: FaithInputs) -> np.ndarray:
    """Clipped frequency profiles ``[N, F]`` over each token's frames from layer-grid maps."""
    up = inp.grid.upsample(torch.from_numpy(maps)).numpy()
    frames = np.arange(up.shape[2])[None, :]
    inside = (frames >= inp.frames[:, :1]) & (frames < np.maximum(inp.frames[:, 1:], inp.frames[:, :1] + 1))
    return (np.clip(up, 0, None) * inside[:, None, :]).sum(axis=2)


def _row(test: str, condition: str, metric: str, values: Sequence[float], spec: FaithSpec,
         rng: np.random.Generator) -> dict[str, Any]:
    mean, lo, hi, n = bootstrap_mean(values, spec.n_boot, rng)
    return {"test": test, "condition": condition, "metric": metric, "value": mean, "ci_lo": lo, "ci_hi": hi, "n": n}


def band_deletion(inp: FaithInputs, base_probs: np.ndarray, profiles: np.ndarray, spec: FaithSpec,
                  rng: np.random.Generator) -> list[dict[str, Any]]:
    """The band-deletion rows (see the module docstring)."""
    n, n_rows = profiles.shape
    width = max(1, min(n_rows - 1, int(round(spec.width_hz / inp.grid.input_hz_per_row))))
    floor = noise_floor(inp.specs, spec.noise_percentile)
    idx = np.arange(n)
    p0 = base_probs[idx, inp.true_idx]
    correct0 = (base_probs.argmax(1) == inp.true_idx).astype(float)
    top = predict(inp, fill_rows(inp.specs, top_band_starts(profiles, width), width, floor), spec)
    randoms = [predict(inp, fill_rows(inp.specs, rng.integers(0, n_rows - width + 1, n), width, floor), spec)
               for _ in range(max(1, spec.random_draws))]
    p_top = top[idx, inp.true_idx]
    p_rand = np.mean([r[idx, inp.true_idx] for r in randoms], axis=0)
    acc_rand = np.mean([(r.argmax(1) == inp.true_idx) for r in randoms], axis=0)
    rows = [_row("band_deletion", "none", "accuracy", correct0, spec, rng),
            _row("band_deletion", "none", "prob_true", p0, spec, rng)]
    for cond, p, acc in (("top_cam_band", p_top, (top.argmax(1) == inp.true_idx).astype(float)),
                         ("random_band", p_rand, acc_rand)):
        rows += [_row("band_deletion", cond, "accuracy", acc, spec, rng),
                 _row("band_deletion", cond, "prob_true", p, spec, rng),
                 _row("band_deletion", cond, "prob_drop", p0 - p, spec, rng),
                 _row("band_deletion", cond, "accuracy_drop", correct0 - acc, spec, rng)]
    rows.append(_row("band_deletion", "top_minus_random", "prob_drop", p_rand - p_top, spec, rng))
    rows.append({"test": "band_deletion", "condition": "all", "metric": "width_hz",
                 "value": width * inp.grid.input_hz_per_row, "ci_lo": None, "ci_hi": None, "n": n})
    return rows


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of flattened maps ``a[i]``, ``b[i]`` (NaN for constant maps)."""
    from scipy.stats import rankdata

    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    return np.divide((ra * rb).sum(1), denom, out=np.full(len(a), np.nan), where=denom > 0)


def randomisation(inp: FaithInputs, base_maps: np.ndarray, spec: FaithSpec,
                  rng: np.random.Generator) -> list[dict[str, Any]]:
    """Rank correlation of trained-model maps with maps of copies with re-initialised top layers."""
    rows = []
    modules = list(inp.upper_modules)
    names = {id(m): n for n, m in inp.model.named_modules()}
    for depth in sorted({1, len(modules)}):
        label = "+".join(names[id(m)] for m in modules[-depth:])  # e.g. "fc", "layer4+fc"
        twin = copy.deepcopy(inp.model)
        twin_modules = dict(twin.named_modules())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed + depth)
            for module in modules[-depth:]:
                for sub in twin_modules[names[id(module)]].modules():
                    if hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
        twin_layer = twin_modules[names[id(inp.layer)]]
        rho = spearman_rows(base_maps, layer_maps(inp, inp.specs, spec, twin, twin_layer))
        rows.append(_row("randomisation", label, "spearman", rho, spec, rng))
    return rows


def _profile_lag(a: np.ndarray, b: np.ndarray, max_lag: int) -> np.ndarray:
    """Per token, the lag (rows) of ``b`` against ``a`` with the highest cross-correlation."""
    n_rows = a.shape[1]
    scores = []
    for lag in range(-max_lag, max_lag + 1):
        lo, hi = max(0, -lag), min(n_rows, n_rows - lag)
        scores.append((a[:, lo:hi] * b[:, lo + lag : hi + lag]).sum(1))
    return np.argmax(np.stack(scores, 1), axis=1) - max_lag


def frequency_shift(inp: FaithInputs, base_probs: np.ndarray, base_profiles: np.ndarray, spec: FaithSpec,
                    rng: np.random.Generator) -> list[dict[str, Any]]:
    """Prediction and map changes when the spectrogram moves by +-``shift_hz``."""
    df = inp.grid.input_hz_per_row
    n_shift = max(1, int(round(spec.shift_hz / df)))
    floor = noise_floor(inp.specs, spec.noise_percentile)
    idx = np.arange(len(inp.specs))
    pred0 = base_probs.argmax(1)
    rows = []
    for rows_moved in (-n_shift, n_shift):
        shifted = shift_rows(inp.specs, rows_moved, floor)
        probs = predict(inp, shifted, spec)
        profiles = interval_profiles(layer_maps(inp, shifted, spec), inp)
        lag = _profile_lag(base_profiles, profiles, 2 * n_shift)
        cond = f"{rows_moved * df:+g}Hz"
        rows += [_row("frequency_shift", cond, "accuracy", probs.argmax(1) == inp.true_idx, spec, rng),
                 _row("frequency_shift", cond, "changed_share", probs.argmax(1) != pred0, spec, rng),
                 _row("frequency_shift", cond, "prob_true_change",
                      probs[idx, inp.true_idx] - base_probs[idx, inp.true_idx], spec, rng),
                 _row("frequency_shift", cond, "map_shift_hz", lag * df, spec, rng)]
    return rows


def run_faithfulness(inp: FaithInputs, spec: FaithSpec, progress: ProgressCallback | None = None) -> list[dict[str, Any]]:
    """All three tests; rows for ``faithfulness.csv``."""
    rng = np.random.default_rng(spec.seed)
    report(progress, "faithfulness", 0, 4, "trained maps")
    base_probs = predict(inp, inp.specs, spec)
    base_maps = layer_maps(inp, inp.specs, spec)
    profiles = interval_profiles(base_maps, inp)
    report(progress, "faithfulness", 1, 4, "band deletion")
    rows = band_deletion(inp, base_probs, profiles, spec, rng)
    report(progress, "faithfulness", 2, 4, "randomisation")
    rows += randomisation(inp, base_maps, spec, rng)
    report(progress, "faithfulness", 3, 4, "frequency shift")
    rows += frequency_shift(inp, base_probs, profiles, spec, rng)
    report(progress, "faithfulness", 4, 4, "done")
    return rows
