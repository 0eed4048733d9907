"""The extraction stage's hooks into this package: per token (extra columns, track rows), per chunk (its part of
``tracks.csv``) and at the merge (``tracks.csv``, normalised columns). Kept here so the extraction modules call one
function at each place."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..rundir import iter_csv, write_csv
from .normalise import with_normalised
from .tracks import TRACK_COLUMNS, empty_columns, intensity_db, measure_track, track_columns, track_rows, wants_track

TRACKS = "tracks.csv"


def token_extras(
    samples: np.ndarray, sr: int, seg_start: float, row: dict[str, Any], inner: np.ndarray, settings: Settings
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Extra tokens.csv columns (intensity, DCT, extra points) and tracks.csv rows of one measured token.

    ``samples`` start at ``seg_start`` s in the recording; ``row`` is the token's row with its Praat measurements
    (``ceiling`` chosen); ``inner`` is the vowel's own samples. Consonants get empty values and no track.
    """
    measure = settings.measure
    extras: dict[str, Any] = {"intensity_db": math.nan, **empty_columns(measure)}
    if row.get("kind") != "vowel":
        return extras, []
    extras["intensity_db"] = intensity_db(inner)
    ceiling = float(row.get("ceiling") or math.nan)
    if not wants_track(measure) or ceiling != ceiling:
        return extras, []
    track = measure_track(
        samples, sr, row["start"] - seg_start, row["end"] - seg_start, ceiling, measure, offset=seg_start
    )
    extras.update(track_columns(track, measure))
    return extras, track_rows(row["token_id"], track) if measure.track_step > 0 else []


def chunk_tracks_path(chunk_dir: Path, index: int) -> Path:
    """Where a chunk's track rows go."""
    return chunk_dir / f"tracks-{index:05d}.csv"


def write_chunk_tracks(chunk_dir: Path, index: int, rows: list[dict[str, Any]], settings: Settings) -> None:
    """Write a chunk's track rows (nothing when tracks are off)."""
    if settings.measure.track_step > 0:
        write_csv(chunk_tracks_path(chunk_dir, index), rows, TRACK_COLUMNS)


def merge_outputs(root: Path, chunk_dir: Path, n_chunks: int, settings: Settings) -> None:
    """``tracks.csv`` from the chunks' parts (streamed); removed when tracks are off, so none is stale."""
    target = root / TRACKS
    if settings.measure.track_step <= 0:
        target.unlink(missing_ok=True)
        return
    parts = [chunk_tracks_path(chunk_dir, i) for i in range(n_chunks)]
    write_csv(target, (row for p in parts if p.exists() for row in iter_csv(p)), TRACK_COLUMNS)


def normalised_tokens(rows: Callable[[], Iterable[dict[str, Any]]]) -> Iterable[dict[str, Any]]:
    """Token rows with the per-speaker normalised columns (two streamed passes over ``rows()``)."""
    return with_normalised(rows)


def output_overrides(track_step: float | None, points: str | None, carry_tiers: list[str] | None) -> dict[str, dict]:
    """Settings overrides from the ``--track-step``, ``--points 20,35,50`` and ``--carry-tier NAME`` flags
    (None/empty = not given). Raises ConfigError for a malformed point list."""
    from ..errors import ConfigError

    parsed = None
    if points:
        try:
            parsed = tuple(sorted({int(p) for p in points.replace(" ", "").split(",") if p}))
        except ValueError:
            raise ConfigError(f"--points: expected whole percentages like 20,35,50,65,80, got {points!r}") from None
        if any(not 0 <= p <= 100 for p in parsed):
            raise ConfigError(f"--points: percentages must lie in 0..100, got {points!r}")
    if track_step is not None and not 0 <= track_step <= 0.5:
        raise ConfigError(f"--track-step: a fraction of the vowel in (0, 0.5], or 0 for no tracks; got {track_step}")
    return {
        "measure": {"track_step": track_step, "points": parsed},
        "corpus": {"carry_tiers": tuple(carry_tiers) if carry_tiers else None},
    }
