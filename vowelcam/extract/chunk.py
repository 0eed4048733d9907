"""One chunk of recordings: measured on a worker (:func:`measure_chunk`, pure, its result picklable) and written
by the caller (:func:`write_chunk`), so a local pool and a cluster leave the same bytes in the run directory.

A chunk's files are its spectrogram shard, token, track, problem and speaker rows, then a marker holding the
signature of its inputs and settings (written last: a chunk is done when its marker matches). A chunk is a few
recordings or a window of a long one (:mod:`.layout`), so what a worker holds and returns is bounded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import rundir
from .. import tokens as token_table
from ..acoustics.features import geometry
from ..acoustics.store import write_shard
from ..config import Settings
from ..corpus.speakers import SpeakerResolver
from ..errors import ConfigError, DataProblem
from ..measure.extra_outputs import write_chunk_tracks
from ..rundir import PROBLEM_COLUMNS, RunDir, write_csv
from .chunk_plans import chunk_plans
from .layout import Chunk
from .one_file import ChunkContext, FilePlan, FileResult, SpecStack, measure_file

CHUNK_DIR = "spectrograms/chunks"
LOST = "worker lost"  # problems.csv reason of a recording whose chunk was given up after its worker died
SPEAKER_COLUMNS = [
    "speaker",
    "group",
    "source",
    "median_f0",
    "n_tokens",
    "median_f1",
    "median_f2",
    "median_f3",
    "formant_spacing_hz",
    "vtl_cm",
    "posterior",
]


@dataclass
class ChunkOutput:
    """Everything a chunk writes: token rows, their spectrograms ``[N, F, T]``, tracks, problems, speakers."""

    rows: list[dict[str, Any]]
    stack: np.ndarray
    tracks: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    speakers: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True  # False: given up (no marker is written, so a re-run tries the chunk again)


def token_columns(settings: Settings, resolver: SpeakerResolver) -> list[str]:
    """tokens.csv's columns: the documented ones, the settings' extra ones (DCT, points, carried tiers), then the
    speaker map's pass-through columns."""
    base = token_table.token_columns(settings)
    clash = [c for c in resolver.extra_columns if c in base]
    if clash:
        raise ConfigError(
            f"speaker group map: column(s) {', '.join(clash)} would overwrite tokens.csv columns; rename them"
        )
    return base + list(resolver.extra_columns)


def measure_chunk(chunk: Chunk, settings: Settings, resolver: SpeakerResolver) -> ChunkOutput:
    """Plan and measure every recording of ``chunk`` (speaker groups estimated over the chunk, or over the whole
    recording for a window of one); writes nothing, so it can run on any worker that sees the corpus."""
    geo = geometry(settings.spectrogram)
    planned = chunk_plans(chunk, settings, resolver)
    groups = {speaker: e.group for speaker, e in planned.estimates.items() if e.group}
    context = ChunkContext(settings, resolver, geo, groups, planned.known_f0)
    capacity = sum(len(plan.specs) for plan in planned.plans if isinstance(plan, FilePlan))
    stack = SpecStack(capacity, len(geo.freqs_hz), len(geo.times_s), settings.spectrogram.dtype)
    rows, problems, tracks = [], [], []
    for plan in planned.plans:
        first_row = len(stack)
        result = plan if isinstance(plan, FileResult) else measure_file(plan, context, stack)
        for offset, row in enumerate(result.rows):
            row.update(spec_shard=chunk.index, spec_row=first_row + offset)
        rows.extend(result.rows)
        tracks.extend(result.tracks)
        problems.extend(p.as_row() for p in result.problems)
    speakers = [vars(e) for e in planned.estimates.values()]
    return ChunkOutput(rows, stack.filled(), tracks, problems, speakers)


def empty_stack(settings: Settings) -> np.ndarray:
    """A shard of no spectrogram, with the store's axes."""
    geo = geometry(settings.spectrogram)
    return np.zeros((0, len(geo.freqs_hz), len(geo.times_s)), settings.spectrogram.dtype)


def lost_chunk(chunk: Chunk, settings: Settings, tries: int, error: str) -> ChunkOutput:
    """The output of a chunk given up after its worker died on every try: one problem per recording."""
    detail = (
        f"chunk {chunk.index}: its worker died on each of {tries} tries ({error});"
        " run extract again to retry its recordings"
    )
    problems = [DataProblem(pair.audio, LOST, detail).as_row() for pair in chunk.pairs]
    return ChunkOutput([], empty_stack(settings), problems=problems, complete=False)


def write_chunk(run: RunDir, chunk: Chunk, output: ChunkOutput, settings: Settings, columns: list[str]) -> None:
    """Write ``chunk``'s shard, token rows (``columns``), tracks, problems, speakers and, for a complete chunk, its
    marker, last."""
    index = chunk.index
    write_shard(run.path(rundir.SPECTROGRAMS), index, output.stack)
    chunk_dir = run.path(CHUNK_DIR)
    write_csv(chunk_dir / f"tokens-{index:05d}.csv", output.rows, columns)
    write_chunk_tracks(chunk_dir, index, output.tracks, settings)
    write_csv(chunk_dir / f"problems-{index:05d}.csv", output.problems, PROBLEM_COLUMNS)
    write_csv(chunk_dir / f"speakers-{index:05d}.csv", output.speakers, SPEAKER_COLUMNS)
    marker = marker_path(run, index)
    if output.complete:
        rundir.atomic_write_text(
            marker, json.dumps({"signature": chunk.signature, "files": len(chunk.pairs), "tokens": len(output.rows)})
        )
    else:
        marker.unlink(missing_ok=True)


def marker_path(run: RunDir, index: int) -> Path:
    """Where chunk ``index``'s marker lives."""
    return run.path(CHUNK_DIR) / f"chunk-{index:05d}.json"


def read_marker(run: RunDir, index: int) -> str | None:
    """The signature chunk ``index`` was last written with (None: never, or given up)."""
    try:
        return json.loads(marker_path(run, index).read_text())["signature"]
    except (OSError, ValueError, KeyError):
        return None
