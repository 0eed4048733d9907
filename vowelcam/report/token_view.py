"""What a single-token picture adds to a card: the token's formant track from ``tracks.csv`` and a title line of
numbers. Used by the report's misclassification cards and by ``vowelcam show`` (one drawing code for both)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..rundir import iter_csv
from .cards import CardInputs
from .ipa import ipa_label

TRACKS = "tracks.csv"
Track = dict[int, tuple[np.ndarray, np.ndarray]]  # formant -> (time s in the recording, Hz)


def read_tracks(path: str | Path, token_ids: Iterable[str]) -> dict[str, Track]:
    """The tracks of ``token_ids`` from ``tracks.csv`` (one streamed pass; {} when the file is absent)."""
    wanted = set(token_ids)
    path = Path(path)
    if not wanted or not path.is_file():
        return {}
    points: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for row in iter_csv(path):
        if row["token_id"] in wanted:
            hz = float(row["hz"]) if row["hz"] else math.nan
            points.setdefault(row["token_id"], {}).setdefault(int(row["formant"]), []).append((float(row["time"]), hz))
    return {
        tid: {k: (np.array([t for t, _ in v]), np.array([h for _, h in v])) for k, v in by_k.items()}
        for tid, by_k in points.items()
    }


def with_track(inputs: CardInputs, track: Optional[Track]) -> CardInputs:
    """``inputs`` with the track drawn, its times made relative to the token's centre (ms)."""
    if not track:
        return inputs
    centre = (float(inputs.token["start"]) + float(inputs.token["end"])) / 2
    return replace(inputs, track={k: ((t - centre) * 1000.0, hz) for k, (t, hz) in track.items()})


def token_title(token: dict[str, Any], prediction: Optional[dict[str, str]]) -> str:
    """One line: id, speaker, label, true/predicted with probabilities, F0, F1–F3 at 50 %, duration, ceiling."""
    parts = [f"{token['token_id']}", f"speaker {token.get('speaker', '')}", f"label {token.get('label', '')}"]
    if prediction:
        parts.append(f"true {ipa_label(prediction['true'])} p={_f(prediction.get('prob_true')):.2f}")
        parts.append(f"predicted {ipa_label(prediction['predicted'])} p={_f(prediction.get('prob_predicted')):.2f}")
    formants = "/".join(_hz(token.get(f"f{k}_50")) for k in (1, 2, 3))
    parts.append(f"F1/F2/F3 at 50 % {formants} Hz")
    parts.append(f"F0 {_hz(token.get('f0'))} Hz")
    parts.append(f"{_f(token.get('duration_ms')):.0f} ms")
    parts.append(f"ceiling {_hz(token.get('ceiling'))} Hz")
    return " · ".join(parts)


def _f(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _hz(value: Any) -> str:
    v = _f(value)
    return f"{v:.0f}" if v == v else "–"
