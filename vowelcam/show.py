"""``vowelcam show RUN TOKEN_ID``: one token as a PNG, the picture to check a measurement or a decision by.

Two panels share the report card's drawing code (:func:`vowelcam.report.cards.card_figure`): the token's stored
spectrogram with its Hz axis, the CAM of the true class (left) and of the predicted class (right) laid over it
on one raw colour scale, the token's interval, its F1–F3 at 20/50/80 % and its formant track (``tracks.csv``),
with the numbers (probabilities, F0, F1–F3 at 50 %, duration, ceiling) in the title.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from .errors import RunDirError
from .report.cards import card_figure
from .report.data import load_report_data
from .report.figures import card_inputs
from .report.token_view import TRACKS, read_tracks, token_title, with_track


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
