"""The extraction stage's outputs beyond Praat's fixed measurements, one function at each place the stage calls:
per token (intensity, DCT and extra-point columns, track rows), per chunk (its part of ``tracks.csv``) and at the
merge (``tracks.csv``, the per-speaker normalised formant columns)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..rundir import iter_csv, write_csv
from .speaker_normalisation import with_normalised
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
    return extras, track_rows(row, track) if measure.track_step > 0 else []


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
