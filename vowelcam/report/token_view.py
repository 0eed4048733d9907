"""One token's picture: the inputs of a card (stored spectrogram, CAMs of the true and the predicted class), the
token's formant track from ``tracks.csv`` and a title line of numbers. Used by the report's misclassification cards
and by ``vowelcam show`` (one drawing code for both, :func:`vowelcam.report.cards.card_figure`).

``vowelcam show RUN TOKEN_ID`` (:func:`show_token`): one token as a PNG, the picture to check a measurement or a
decision by: the token's stored spectrogram with its Hz axis, the CAM of the true class (left) and of the
predicted class (right) laid over it on one raw colour scale, the token's interval, its F1–F3 at 20/50/80 % and its
formant track, with the numbers (probabilities, F0, F1–F3 at 50 %, duration, ceiling) in the title.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..corpus.labels import ipa_label
from ..errors import RunDirError
from ..measure.tracks import read_track_points
from ..rundir import as_float, iter_csv
from .cards import CardInputs, card_figure
from .data import ReportData, load_report_data

log = logging.getLogger(__name__)
TRACKS = "tracks.csv"
Track = dict[int, tuple[np.ndarray, np.ndarray]]  # formant -> (time s in the recording, Hz)


def read_tracks(path: str | Path, token_ids: Iterable[str]) -> dict[str, Track]:
    """The tracks of ``token_ids`` from ``tracks.csv``, wide or long (one streamed pass; {} when absent)."""
    wanted = set(token_ids)
    path = Path(path)
    if not wanted or not path.is_file():
        return {}
    points: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for row in iter_csv(path):
        if row["token_id"] in wanted:
            for k, t, hz, _ in read_track_points(row):
                points.setdefault(row["token_id"], {}).setdefault(k, []).append((t, hz))
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
        parts.append(f"true {ipa_label(prediction['true'])} p={as_float(prediction.get('prob_true')):.2f}")
        parts.append(
            f"predicted {ipa_label(prediction['predicted'])} p={as_float(prediction.get('prob_predicted')):.2f}"
        )
    formants = "/".join(_hz(token.get(f"f{k}_50")) for k in (1, 2, 3))
    parts.append(f"F1/F2/F3 at 50 % {formants} Hz")
    parts.append(f"F0 {_hz(token.get('f0'))} Hz")
    parts.append(f"{as_float(token.get('duration_ms')):.0f} ms")
    parts.append(f"ceiling {_hz(token.get('ceiling'))} Hz")
    return " · ".join(parts)


def _hz(value: Any) -> str:
    v = as_float(value)
    return f"{v:.0f}" if v == v else "–"


def card_inputs(data: ReportData, token: dict[str, Any], row: dict[str, str]) -> Optional[CardInputs]:
    """A card's spectrogram and maps for ``token`` (``row``: its predictions.csv row); None without a spectrogram."""
    if data.store is None or not isinstance(token.get("spec_shard"), int) or not isinstance(token.get("spec_row"), int):
        return None
    cams = data.cams
    max_freq = float(cams.freqs[-1]) if cams is not None else float((data.model or {}).get("max_freq") or 0.0)
    spec = data.store.get(token["spec_shard"], token["spec_row"], max_freq=max_freq)
    freqs = data.store.freqs[: spec.shape[0]]
    cam_true = cam_pred = None
    if cams is not None and row["token_id"] in cams.row_of:
        r = cams.row_of[row["token_id"]]
        cam_true = np.asarray(cams.true_maps[r], dtype=np.float32)
        cam_pred = np.asarray(cams.pred_maps[r], dtype=np.float32) if cams.pred_maps is not None else None
        if cam_true.shape != spec.shape:
            log.warning(
                "token %s: CAM %s and spectrogram %s grids differ; card drawn without CAM",
                row["token_id"],
                cam_true.shape,
                spec.shape,
            )
            cam_true = cam_pred = None
    return CardInputs(spec, freqs, data.store.times * 1000.0, cam_true, cam_pred, token, row["true"], row["predicted"])


def show_token(run_dir: str | Path, token_id: str, out: Optional[str | Path] = None) -> Path:
    """Write the token's picture to ``out`` (default ``RUN/show/<token id made file-safe>.png``); return its path."""
    data = load_report_data(run_dir)
    token = data.by_id.get(token_id)
    if token is None:
        raise RunDirError(f"{data.run.root}: no token {token_id!r} in tokens.csv")
    prediction = next((p for p in data.predictions or [] if p["token_id"] == token_id), None)
    row = prediction or {"token_id": token_id, "true": token["phone"], "predicted": "?"}
    inputs = card_inputs(data, token, row)
    if inputs is None:
        raise RunDirError(f"{data.run.root}: no spectrogram stored for token {token_id!r}")
    inputs = with_track(inputs, read_tracks(data.run.path(TRACKS), [token_id]).get(token_id))
    inputs = replace(inputs, title=token_title(token, prediction))
    path = Path(out) if out is not None else data.run.path("show") / f"{_safe(token_id)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    return card_figure(inputs, path)


def _safe(token_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in token_id)
