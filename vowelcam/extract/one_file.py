"""Extraction of one recording: label file -> token specs -> Praat measurements + spectrograms.

Every problem names the file (and tier and interval); one bad token never stops the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..acoustics import praat
from ..acoustics.audio import AudioInfo, Recording, audio_info, clipped_fraction, level_dbfs
from ..acoustics.band import band_note
from ..acoustics.features import SpectrogramGeometry, context_seconds, recording_spectrogram, token_frames
from ..config import Settings
from ..corpus.discover import Pair, timit_words_file
from ..corpus.select import TokenSpec, select_tokens
from ..corpus.speakers import SpeakerResolver
from ..corpus.textgrids import TextGrid, read_textgrid, read_timit
from ..corpus.tiers import find_tier_groups
from ..errors import DataProblem
from ..measure.carried_tiers import carried_values
from ..measure.extra_outputs import token_extras
from ..tokens import MEASURE_COLUMNS

log = logging.getLogger(__name__)

SILENCE_DBFS = -60.0  # a token quieter than this (RMS) has nothing to measure
CLIP_SHARE = 0.01  # more than 1 % of samples at full scale: flagged (kept)
MEASURE_MARGIN_S = 0.1  # audio on each side of the token given to Praat
BAND_PROBLEM = "formant above the band"  # problems.csv reason: one per speaker and recording


class SpecStack:
    """Spectrograms ``[N, F, T]`` appended into one array allocated for the most there can be, so a chunk's shard
    is never held twice (as a list and as its stack)."""

    def __init__(self, capacity: int, freqs: int, frames: int, dtype: str) -> None:
        self._array = np.empty((capacity, freqs, frames), dtype)
        self._n = 0

    def append(self, spectrogram: np.ndarray) -> None:
        """Add one ``[F, T]`` spectrogram."""
        self._array[self._n] = spectrogram
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def filled(self) -> np.ndarray:
        """The spectrograms appended so far, ``[N, F, T]`` (a view, no copy)."""
        return self._array[: self._n]


@dataclass
class FileResult:
    """Rows for tokens.csv, their spectrograms ``[N, F, T]`` and the file's problems."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    specs: list[np.ndarray] | SpecStack = field(default_factory=list)
    problems: list[DataProblem] = field(default_factory=list)
    tracks: list[dict[str, Any]] = field(default_factory=list)  # tracks.csv rows (vowelcam.measure.tracks)


def read_labels(pair: Pair, info: AudioInfo | None) -> TextGrid:
    """The pair's TextGrid, or its TIMIT ``.phn``/``.wrd`` read as one (sample offsets need the audio rate)."""
    if pair.is_timit:
        rate = info.sample_rate if info else 16000
        return read_timit(pair.labels, rate, timit_words_file(pair.labels))
    return read_textgrid(pair.labels)


@dataclass
class FilePlan:
    """A recording whose labels were read: its audio header and the tokens to measure."""

    pair: Pair
    info: AudioInfo
    specs: list[TokenSpec]
    problems: list[DataProblem]
    carried: dict = field(default_factory=dict)  # (tier, interval) -> {tier_<name>: label} (--carry-tier)


def plan_file(pair: Pair, settings: Settings) -> FilePlan | FileResult:
    """Read the header and the labels and choose the tokens; a FileResult with the problem if that fails."""
    try:
        info = audio_info(pair.audio)
        grid = read_labels(pair, info)
        groups = find_tier_groups(grid, settings.corpus.phones_tier, settings.corpus.words_tier)
        specs, problems = select_tokens(grid, groups, settings.labels)
    except DataProblem as problem:
        return FileResult(problems=[problem])
    carried, carry_problems = carried_values(
        grid, [(s.tier, s.interval, s.start, s.end) for s in specs], settings.corpus.carry_tiers, pair.labels
    )
    problems += carry_problems
    if grid.end > info.duration + 0.05:
        problems.append(
            DataProblem(
                pair.audio,
                "audio shorter than its labels",
                f"{info.duration:.3f} s of audio, labels to {grid.end:.3f} s (truncated file?)",
            )
        )
    return FilePlan(pair, info, specs, problems, carried)


@dataclass(frozen=True)
class ChunkContext:
    """What every token of a chunk is measured with: settings, speakers, axes and per-chunk F0 knowledge."""

    settings: Settings
    resolver: SpeakerResolver
    geo: SpectrogramGeometry
    estimated_groups: dict[str, str] = field(default_factory=dict)  # speaker -> group estimated from F0
    known_f0: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (file, tier, interval) -> F0


def measure_file(plan: FilePlan, context: ChunkContext, specs: SpecStack | None = None) -> FileResult:
    """Measure and cut every planned token; never raises for data problems (they are returned). The spectrograms
    go to ``specs`` when given (the result's ``specs`` is then that stack), else to a list."""
    result = FileResult(problems=list(plan.problems), specs=specs if specs is not None else [])
    recording = Recording(plan.info)
    for spec in plan.specs:
        try:
            row, spectrogram = _token(plan.pair, recording, spec, context, result.problems, result.tracks)
        except DataProblem as problem:
            result.problems.append(problem)
            continue
        row.update(plan.carried.get((spec.tier, spec.interval), {}))
        result.rows.append(row)
        result.specs.append(spectrogram)
    result.problems.extend(_band_problems(plan, result.rows, context))
    return result


def _band_problems(plan: FilePlan, rows: list[dict[str, Any]], context: ChunkContext) -> list[DataProblem]:
    """One problem per speaker of the file whose F2/F3 the recording's band cannot hold (those values are empty)."""
    out, seen = [], set()
    for row in rows:
        if row["kind"] != "vowel" or row["speaker"] in seen:
            continue
        seen.add(row["speaker"])
        centre = _centre_ceiling(row["speaker"], row["group"], context)
        note = band_note(centre, plan.info.sample_rate, row["group"], context.settings.measure)
        if note:
            out.append(DataProblem(plan.pair.audio, BAND_PROBLEM, f"speaker {row['speaker']}: {note}"))
    return out


def _centre_ceiling(speaker: str, group: str, context: ChunkContext) -> float:
    """The speaker's own ceiling from the map, else the group's."""
    own = context.resolver.ceiling(speaker)
    return own if own is not None else praat.group_ceiling(group, context.settings.measure)


def _token(
    pair: Pair,
    recording: Recording,
    spec: TokenSpec,
    context: ChunkContext,
    problems: list[DataProblem],
    tracks: list[dict[str, Any]],
) -> tuple[dict[str, Any], np.ndarray]:
    info, settings = recording.info, context.settings
    where = dict(tier=spec.tier, interval=f"{spec.interval} ({spec.start:.3f}-{spec.end:.3f} s)")
    tolerance = 1.5 / info.sample_rate + 0.002
    if spec.end > info.duration + tolerance:
        raise DataProblem(
            pair.labels,
            "interval beyond audio end",
            f"ends at {spec.end:.3f} s, audio {pair.audio.name} is {info.duration:.3f} s",
            **where,
        )
    centre = (spec.start + spec.end) / 2
    ctx = max(context_seconds(settings.spectrogram), (spec.end - spec.start) / 2 + MEASURE_MARGIN_S)
    samples, seg_start = recording.segment(centre - ctx, centre + ctx)
    inner = samples[
        int((spec.start - seg_start) * info.sample_rate) : int((spec.end - seg_start) * info.sample_rate) + 1
    ]
    invalid = int(np.count_nonzero(~np.isfinite(samples)))
    if invalid:  # before the level: NaN audio is not silence
        detail = f"{spec.label!r}: {invalid} of {len(samples)} samples around it are NaN or infinite (damaged audio)"
        raise DataProblem(pair.audio, "NaN audio", detail, **where)
    if level_dbfs(inner) < SILENCE_DBFS:
        raise DataProblem(pair.audio, "silent token", f"{spec.label!r} RMS {level_dbfs(inner):.0f} dBFS", **where)
    if clipped_fraction(inner) > CLIP_SHARE:
        problems.append(
            DataProblem(
                pair.audio,
                "clipped token (kept)",
                f"{spec.label!r}: {100 * clipped_fraction(inner):.1f} % of samples at full scale",
                **where,
            )
        )
    speaker, group = context.resolver.resolve(pair.rel, spec.tier_speaker)
    group = group or context.estimated_groups.get(speaker, "")
    f0 = context.known_f0.get((pair.rel, spec.tier, spec.interval))
    measures = _measure(
        samples, info.sample_rate, spec, seg_start, group, settings, f0, context.resolver.ceiling(speaker)
    )
    spectrogram = recording_spectrogram(recording, centre, settings.spectrogram, context.geo)
    frame_start, frame_end = token_frames(spec.start, spec.end, settings.spectrogram, context.geo)
    stem = PurePosixPath(pair.rel).with_suffix("").as_posix()
    row = {
        "token_id": f"{stem}:{spec.tier}:{spec.interval}",
        "file": pair.rel,
        "textgrid": pair.labels.name,
        "speaker": speaker,
        "group": group,
        "tier": spec.tier,
        "interval": spec.interval,
        "label": spec.label,
        "convention": spec.convention,
        "phone": spec.phone,
        "ipa": spec.ipa,
        "stress": spec.stress,
        "kind": spec.kind,
        "word": spec.word,
        "prev_phone": spec.prev_phone,
        "next_phone": spec.next_phone,
        "start": round(spec.start, 6),
        "end": round(spec.end, 6),
        "duration_ms": round(1000 * (spec.end - spec.start), 3),
        **measures,
        "frame_start": frame_start,
        "frame_end": frame_end,
        **context.resolver.extra(speaker),
    }
    extras, track = token_extras(samples, info.sample_rate, seg_start, row, inner, settings)
    row.update(extras)
    tracks.extend(track)
    return row, spectrogram.astype(settings.spectrogram.dtype)


def _measure(
    samples: np.ndarray,
    sr: int,
    spec: TokenSpec,
    seg_start: float,
    group: str,
    settings: Settings,
    f0: float | None,
    ceiling: float | None = None,
) -> dict[str, float]:
    """Praat measurements on the token plus a margin; vowels only (consonant tokens get empty measurements)."""
    if spec.kind != "vowel":
        return {**{name: float("nan") for name in MEASURE_COLUMNS}, "sample_rate": float(sr)}
    lo = max(0, int((spec.start - MEASURE_MARGIN_S - seg_start) * sr))
    hi = min(len(samples), int((spec.end + MEASURE_MARGIN_S - seg_start) * sr) + 1)
    offset = lo / sr + seg_start
    return praat.measure_token(
        samples[lo:hi],
        sr,
        spec.start - offset,
        spec.end - offset,
        group or None,
        settings.measure,
        f0=f0,
        ceiling=ceiling,
    )


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it, else as given (for messages)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
