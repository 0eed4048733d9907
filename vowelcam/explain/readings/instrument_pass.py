"""Run instruments over a run's held-out tokens and read them: evidence profiles -> per-token contrast-region
readings -> verdicts (``readings.csv``, ``verdicts.csv``). Plain inputs in, rows out; the stage writes them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ...rundir import as_float
from ..maps.instruments import (
    MIN_REGION_HALFWIDTH_HZ,
    OCCLUSION_WIDTH_HZ,
    Instrument,
    cam_profiles,
    frame_mask,
    ig_profiles,
    occlusion_profiles,
)
from .contrast_region import (
    competitor_formants,
    competitor_of,
    positive_profile,
    reading_columns,
    token_reading,
    unit_mass,
)
from .verdicts import verdict_table

READING_ID_COLUMNS = ["instrument", "token_id", "speaker", "file", "vowel", "fold", "predicted"]


@dataclass
class HeldOut:
    """The held-out tokens an instrument reads, aligned row by row."""

    tokens: list[Mapping[str, Any]]  # tokens.csv rows
    targets: np.ndarray  # [N, 2] class indices: true, competitor (the runner-up)
    x: torch.Tensor  # [N, 1, F, T] model input
    power: np.ndarray  # [N, F] linear power over each token's frames
    frames: np.ndarray  # [N, 2] the token's frames [start, end)
    folds: np.ndarray  # [N] the fold whose model held the token out
    labels: list[str]
    freqs: np.ndarray
    hz_per_row: float
    predicted: np.ndarray | None = None  # [N] the class the read model gives each token (see model_decisions)


def held_out_inputs(
    preds: Sequence[Mapping[str, Any]],
    tokens: Mapping[str, Mapping[str, Any]],
    labels: Sequence[str],
    specs_db: np.ndarray,
    x: torch.Tensor,
    freqs: np.ndarray,
    hz_per_row: float,
    folds: Sequence[int],
) -> HeldOut:
    """:class:`HeldOut` from predictions rows (with ``p_<label>`` columns), their tokens, dB spectrograms
    ``[N, F, T]``, the model inputs made from them and the fold that held each token out."""
    rows = [tokens[p["token_id"]] for p in preds]
    index = {label: i for i, label in enumerate(labels)}
    targets = np.array([[index[p["true"]], runner_up(p, labels)] for p in preds], dtype=np.int64)
    frames = np.array([[int(t["frame_start"]), int(t["frame_end"])] for t in rows], dtype=np.int64)
    mask = frame_mask(frames, specs_db.shape[-1]).numpy()
    power = (np.power(10.0, specs_db.astype(np.float64) / 10.0) * mask[:, None, :]).sum(-1)
    fold_index = np.asarray(folds, dtype=np.int64)
    return HeldOut(rows, targets, x, power, frames, fold_index, list(labels), freqs, hz_per_row)


def model_decisions(data: HeldOut, model_for: Callable[[int], nn.Module], batch_size: int = 64) -> HeldOut:
    """``data`` with the competitor (runner-up) and the predicted class of every token taken from the logits of
    the model that is read (each token's own fold's), not from ``predictions.csv``: the evidence must be of this
    model's decision, and a model file newer than the predictions would otherwise be explained against stale ones."""
    from ..maps.capture import eval_mode

    logits = np.zeros((len(data.tokens), len(data.labels)))
    for fold in np.unique(data.folds):
        model = model_for(int(fold))
        device = next(model.parameters()).device
        idx = np.flatnonzero(data.folds == fold)
        with eval_mode(model), torch.no_grad():
            for start in range(0, len(idx), batch_size):
                part = idx[start : start + batch_size]
                logits[part] = model(data.x[part].to(device)).float().cpu().numpy()
    others = logits.copy()
    others[np.arange(len(logits)), data.targets[:, 0]] = -np.inf
    targets = np.stack([data.targets[:, 0], others.argmax(1)], axis=1)
    return replace(data, targets=targets, predicted=logits.argmax(1))


def runner_up(pred: Mapping[str, Any], labels: Sequence[str]) -> int:
    """The index of the most probable class other than the true one (``p_<label>`` columns)."""
    probs = np.array([as_float(pred.get(f"p_{label}")) for label in labels])
    probs[labels.index(pred["true"])] = -np.inf
    probs[~np.isfinite(probs)] = -np.inf
    return int(np.argmax(probs))


def evidence(
    inst: Instrument,
    data: HeldOut,
    model_for: Callable[[int], nn.Module],
    grid_for: Callable[[nn.Module, str], Any],
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Evidence profiles ``[N, F]`` and class-map masses ``[N]`` of ``inst`` on ``data``, each token scored by its
    own fold's model, in batches."""
    n, rows = len(data.tokens), data.x.shape[-2]
    out, mass = np.zeros((n, rows)), np.zeros(n)
    for fold in np.unique(data.folds):
        model = model_for(int(fold))
        idx = np.flatnonzero(data.folds == fold)
        for start in range(0, len(idx), batch_size):
            part = idx[start : start + batch_size]
            out[part], mass[part] = _profiles(inst, model, data, part, grid_for)
    return out, mass


def _profiles(
    inst: Instrument, model: nn.Module, data: HeldOut, part: np.ndarray, grid_for
) -> tuple[np.ndarray, np.ndarray]:
    from ..maps.capture import eval_mode

    device = next(model.parameters()).device
    x = data.x[part].to(device)
    targets = torch.from_numpy(data.targets[part]).to(device)
    mask = frame_mask(data.frames[part], x.shape[-1])
    with eval_mode(model):
        if inst.kind == "cam":
            return cam_profiles(
                model, getattr(model, inst.layer), grid_for(model, inst.layer), inst.method, x, targets, mask
            )
        if inst.kind == "occlusion":
            return occlusion_profiles(model, x, targets, data.hz_per_row)
        return ig_profiles(model, x, targets, mask)


def halfwidth_for(inst: Instrument, point_spread_hz: Mapping[str, float]) -> float:
    """Half the width of a formant band for ``inst``: half its resolution, at least :data:`MIN_REGION_HALFWIDTH_HZ`."""
    if inst.kind == "cam":
        resolution = float(point_spread_hz.get(inst.layer, float("nan")))
    elif inst.kind == "occlusion":
        resolution = OCCLUSION_WIDTH_HZ
    else:
        resolution = 0.0
    return max(MIN_REGION_HALFWIDTH_HZ, resolution / 2 if np.isfinite(resolution) else 0.0)


def read_instrument(
    inst: Instrument,
    data: HeldOut,
    profiles: np.ndarray,
    mass: np.ndarray,
    halfwidth_hz: float,
    all_tokens: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """``readings.csv`` rows of one instrument (see :mod:`vowelcam.explain.readings.contrast_region`)."""
    positives = np.array([unit_mass(positive_profile(p)) for p in profiles])
    has = positives.sum(1) > 0
    run_mean = positives[has].mean(0) if has.any() else np.zeros(profiles.shape[1])
    means = competitor_formants([t for t in all_tokens if t.get("kind", "vowel") == "vowel"])
    rows = []
    for i, token in enumerate(data.tokens):
        competitor = data.labels[data.targets[i, 1]]
        own = [_hz(token.get(f"f{k}_50")) for k in (1, 2, 3)]
        speaker = str(token.get("speaker") or "")
        comp = competitor_of(speaker, competitor, means)
        vowel = data.labels[data.targets[i, 0]]
        class_means = (means[1].get(vowel, np.full(3, np.nan)), means[1].get(competitor, np.full(3, np.nan)))
        row = {
            "instrument": inst.name,
            "token_id": token["token_id"],
            "speaker": token.get("speaker", ""),
            "file": token.get("file", ""),
            "vowel": vowel,
            "fold": int(data.folds[i]),
            "competitor": competitor,
            "predicted": data.labels[data.predicted[i]] if data.predicted is not None else "",
        }
        row.update(
            token_reading(
                profiles[i],
                float(mass[i]),
                data.power[i],
                run_mean,
                data.freqs,
                own,
                list(comp),
                halfwidth_hz,
                class_means,
            )
        )
        rows.append(row)
    return rows


def instrument_verdicts(inst: Instrument, readings: Sequence[Mapping[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """``verdicts.csv`` rows of one instrument, with its name in front."""
    return [{"instrument": inst.name, **row} for row in verdict_table(readings, seed)]


def readings_header() -> list[str]:
    """The columns of ``readings.csv``."""
    return READING_ID_COLUMNS + reading_columns()


def _hz(value: Any) -> float:
    v = as_float(value)
    return v if np.isfinite(v) and v > 0 else float("nan")
