"""What every fake run directory is made of: token rows, formant columns, the spectrogram store, prediction rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vowelcam import rundir
from vowelcam.acoustics.features import geometry
from vowelcam.acoustics.store import write_axes, write_shard
from vowelcam.config import SpectrogramSettings
from vowelcam.tokens import TOKEN_COLUMNS

PERCENTS = (20, 50, 80)


def token_row(**fields: Any) -> dict[str, Any]:
    """A ``tokens.csv`` row: every token column empty, then a vowel token of the phones tier in shard 0 at 0.1-0.2 s,
    then ``fields``."""
    row: dict[str, Any] = dict.fromkeys(TOKEN_COLUMNS, "")
    row.update(tier="phones", kind="vowel", start=0.1, end=0.2, spec_shard=0)
    row.update(fields)
    return row


def formant_columns(
    formants: Sequence[float], bandwidths: Sequence[float], drift: Sequence[float] = (1.0, 1.0, 1.0)
) -> dict[str, float]:
    """``f{k}_20/50/80`` (the formant times ``drift`` at each point) and ``b{k}_50`` for each formant."""
    columns: dict[str, float] = {}
    for k, (f, bw) in enumerate(zip(formants, bandwidths), start=1):
        for pct, d in zip(PERCENTS, drift):
            columns[f"f{k}_{pct}"] = f * d
        columns[f"b{k}_50"] = bw
    return columns


def write_spectrograms(
    root: Path, settings: SpectrogramSettings, specs: np.ndarray, axes: tuple[np.ndarray, np.ndarray] | None = None
) -> None:
    """The run's spectrogram store: the axes (``geometry(settings)``'s unless given as ``(freqs, times)``) and
    ``specs`` as shard 0 in float16."""
    if axes is None:
        geo = geometry(settings)
        axes = (geo.freqs_hz, geo.times_s)
    store = root / rundir.SPECTROGRAMS
    write_axes(store, settings, *axes)
    write_shard(store, 0, np.asarray(specs).astype(np.float16))


def write_tokens(root: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """The run's ``tokens.csv``."""
    rundir.write_csv(root / rundir.TOKENS, rows, TOKEN_COLUMNS)


def prediction_row(
    token_id: str,
    true: str,
    predicted: str,
    prob_true: float,
    prob_predicted: float,
    probs: Mapping[str, float],
    split: str,
) -> dict[str, Any]:
    """A ``predictions.csv`` row of fold 0; ``probs`` is each label's probability."""
    row = {
        "token_id": token_id,
        "true": true,
        "predicted": predicted,
        "prob_true": prob_true,
        "prob_predicted": prob_predicted,
        "split": split,
        "fold": 0,
        "correct": int(true == predicted),
    }
    row.update({f"p_{label}": p for label, p in probs.items()})
    return row
