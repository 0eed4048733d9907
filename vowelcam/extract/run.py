"""``vowelcam extract``: corpus -> run directory (tokens.csv, problems.csv, spectrograms/, config.toml).

Files are processed in chunks; each chunk writes its spectrogram shard, token rows and problems atomically and
then a marker holding a signature of its inputs and settings. A re-run skips chunks whose marker matches, so an
interrupted extraction resumes and an unchanged corpus costs only the discovery. ``jobs`` processes work on
chunks in parallel; memory per process is one chunk, whatever the corpus size. Under ``torchrun`` (see
:class:`ChunkShare`) each rank, on any machine sharing the run directory, takes every ``world``-th chunk and rank 0
merges once all are done.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from .. import rundir
from .. import tokens as token_table
from ..acoustics.features import geometry
from ..acoustics.store import shard_name, write_axes, write_shard
from ..config import Settings, save_settings
from ..corpus.discover import Pair, discover
from ..corpus.speakers import SpeakerResolver
from ..errors import ConfigError, VowelcamError
from ..measure.extra_outputs import merge_outputs, normalised_tokens, write_chunk_tracks
from ..progress import ProgressCallback, report
from ..rundir import PROBLEM_COLUMNS, RunDir, iter_csv, read_csv, write_csv
from .groups import estimate_groups
from .one_file import ChunkContext, FilePlan, FileResult, measure_file, plan_file

log = logging.getLogger(__name__)
CHUNK_DIR = "spectrograms/chunks"
SPEAKERS = "speakers.csv"
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


class NoTokensError(VowelcamError):
    """Extraction produced no token at all."""


@dataclass
class ExtractSummary:
    """What an extraction found, for the CLI's table."""

    run_dir: Path
    n_audio: int = 0
    n_labels: int = 0
    n_pairs: int = 0
    n_tokens: int = 0
    n_chunks_done: int = 0
    n_chunks_skipped: int = 0
    speakers: int = 0
    tokens_by_class: Counter = field(default_factory=Counter)
    problems_by_reason: Counter = field(default_factory=Counter)


def _no_wait() -> None:
    return None


@dataclass(frozen=True)
class ChunkShare:
    """This process's share of the chunks when several processes (``torchrun`` ranks) extract one corpus.

    Rank ``rank`` of ``world`` extracts the chunks whose index is ``rank`` modulo ``world``; ``wait`` blocks until
    every rank has called it (a barrier). Rank 0 merges the chunks; every rank returns the same summary.
    """

    rank: int = 0
    world: int = 1
    wait: Callable[[], None] = _no_wait

    @property
    def is_main(self) -> bool:
        """Rank 0: merges the chunks and reports progress."""
        return self.rank == 0


def extract(
    corpus: str | Path,
    out: str | Path,
    textgrids: str | Path | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
    share: ChunkShare | None = None,
) -> ExtractSummary:
    """Extract every token of ``corpus`` into the run directory ``out`` and return a summary."""
    settings = settings or Settings()
    share = share or ChunkShare()
    progress = progress if share.is_main else None
    resolver = SpeakerResolver.from_settings(
        settings.corpus.speaker_from, settings.corpus.speaker_pattern, settings.corpus.speaker_groups
    )
    columns = token_columns(settings, resolver)
    found = discover(corpus, textgrids, settings.corpus.audio_extensions)
    if not found.pairs:
        raise NoTokensError(
            f"no audio/label pairs in {corpus}"
            + (f" and {textgrids}" if textgrids else "")
            + f" ({found.n_audio} audio files, {found.n_labels} label files; "
            "audio and TextGrids pair by relative path or file name)"
        )
    run = RunDir(out).create()  # only once the corpus is known to hold pairs: a typo leaves no empty run dir
    rundir.record_sources(run.root, corpus, textgrids)  # for export-textgrids
    chunks = _chunks(found.pairs, settings.extract.chunk_files)
    signatures = [_signature(chunk, settings) for chunk in chunks]
    todo = [i for i, sig in enumerate(signatures) if force or _marker(run, i) != sig or not _chunk_complete(run, i)]
    summary = ExtractSummary(run.root, found.n_audio, found.n_labels, len(found.pairs))
    summary.n_chunks_skipped = len(chunks) - len(todo)
    geo = geometry(settings.spectrogram)
    write_axes(run.path(rundir.SPECTROGRAMS), settings.spectrogram, geo.freqs_hz, geo.times_s)
    report(progress, "extract", summary.n_chunks_skipped, len(chunks), "chunks")
    mine = [i for i in todo if i % share.world == share.rank]
    if share.world > 1:
        log.info("rank %d of %d extracts %d of the %d chunks to do", share.rank, share.world, len(mine), len(todo))
    for done, index in enumerate(_run_chunks(chunks, mine, signatures, settings, resolver, run), start=1):
        report(
            progress,
            "extract",
            min(summary.n_chunks_skipped + done * share.world, len(chunks)),
            len(chunks),
            f"chunk {index}",
        )
    summary.n_chunks_done = len(todo)
    share.wait()  # every rank's chunks are written
    if share.is_main:
        _remove_stale(run, len(chunks))
        _merge(run, len(chunks), [p.as_row() for p in found.problems], settings, columns)
        save_settings(settings, run.path(rundir.CONFIG))
    share.wait()  # the merged tables are written
    _summarise(iter_csv(run.path(rundir.TOKENS)), iter_csv(run.path(rundir.PROBLEMS)), summary)
    if summary.n_tokens == 0:
        raise NoTokensError(f"no token could be extracted from {corpus} (see {run.path(rundir.PROBLEMS)})")
    return summary


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


def _chunks(pairs: list[Pair], size: int) -> list[list[Pair]]:
    size = max(1, size)
    return [pairs[i : i + size] for i in range(0, len(pairs), size)]


def _signature(chunk: list[Pair], settings: Settings) -> str:
    """Hash of the chunk's files (path, size, mtime) and of every setting that changes extraction."""
    h = hashlib.sha256()
    relevant = {k: v for k, v in settings.to_dict().items() if k in ("corpus", "labels", "measure", "spectrogram")}
    h.update(json.dumps(relevant, sort_keys=True).encode())
    if settings.corpus.speaker_groups:  # the map's content (groups, ceilings, columns) changes the rows
        h.update(Path(settings.corpus.speaker_groups).read_bytes())
    for pair in chunk:
        for path in (pair.audio, pair.labels):
            stat = path.stat()
            h.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return h.hexdigest()


def _marker_path(run: RunDir, index: int) -> Path:
    return run.path(CHUNK_DIR) / f"chunk-{index:05d}.json"


def _marker(run: RunDir, index: int) -> str | None:
    try:
        return json.loads(_marker_path(run, index).read_text())["signature"]
    except (OSError, ValueError, KeyError):
        return None


def _chunk_complete(run: RunDir, index: int) -> bool:
    """Whether every file a chunk's marker promises is there (a deleted shard or table redoes the chunk)."""
    chunk_dir = run.path(CHUNK_DIR)
    promised = [run.path(rundir.SPECTROGRAMS) / shard_name(index)]
    promised += [chunk_dir / f"{kind}-{index:05d}.csv" for kind in ("tokens", "problems", "speakers")]
    return all(p.is_file() for p in promised)


def _run_chunks(chunks, todo, signatures, settings, resolver, run) -> Iterator[int]:
    jobs = [(i, chunks[i], signatures[i], settings, resolver, str(run.root)) for i in todo]
    if settings.extract.jobs <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _do_chunk(*job)
        return
    with ProcessPoolExecutor(max_workers=settings.extract.jobs) as pool:
        futures = [pool.submit(_do_chunk, *job) for job in jobs]
        for future in futures:
            yield future.result()


def _do_chunk(
    index: int, chunk: list[Pair], signature: str, settings: Settings, resolver: SpeakerResolver, root: str
) -> int:
    """Extract one chunk and write its shard, rows, problems and marker (marker last)."""
    run = RunDir(root)
    geo = geometry(settings.spectrogram)
    rows, specs, problems, tracks = [], [], [], []
    plans = [plan_file(pair, settings) for pair in chunk]
    known_f0: dict = {}
    estimates = estimate_groups([p for p in plans if isinstance(p, FilePlan)], settings, resolver, known_f0)
    groups = {speaker: e.group for speaker, e in estimates.items() if e.group}
    context = ChunkContext(settings, resolver, geo, groups, known_f0)
    for plan in plans:
        result = plan if isinstance(plan, FileResult) else measure_file(plan, context)
        for offset, row in enumerate(result.rows):
            row.update(spec_shard=index, spec_row=len(specs) + offset)
        rows.extend(result.rows)
        specs.extend(result.specs)
        tracks.extend(result.tracks)
        problems.extend(p.as_row() for p in result.problems)
    stack = np.stack(specs) if specs else np.zeros((0, len(geo.freqs_hz), len(geo.times_s)), settings.spectrogram.dtype)
    write_shard(run.path(rundir.SPECTROGRAMS), index, stack)
    chunk_dir = run.path(CHUNK_DIR)
    write_csv(chunk_dir / f"tokens-{index:05d}.csv", rows, token_columns(settings, resolver))
    write_chunk_tracks(chunk_dir, index, tracks, settings)
    write_csv(chunk_dir / f"problems-{index:05d}.csv", problems, PROBLEM_COLUMNS)
    write_csv(chunk_dir / f"speakers-{index:05d}.csv", [vars(e) for e in estimates.values()], SPEAKER_COLUMNS)
    rundir.atomic_write_text(
        _marker_path(run, index), json.dumps({"signature": signature, "files": len(chunk), "tokens": len(rows)})
    )
    return index


def _remove_stale(run: RunDir, n_chunks: int) -> None:
    """Delete shards and chunk files beyond the current chunk count (the corpus shrank)."""
    for path in run.path(rundir.SPECTROGRAMS).glob("shard-*.npy"):
        if int(path.stem.split("-")[1]) >= n_chunks:
            path.unlink()
    for path in run.path(CHUNK_DIR).glob("*-*.*"):
        if int(path.stem.split("-")[1]) >= n_chunks:
            path.unlink()


def _speaker_rows(rows: Iterable[dict], chunk_dir: Path, n_chunks: int) -> list[dict]:
    """One row per speaker: group and its source (given by pattern/map/folder, or estimated with its evidence)."""
    estimated: dict[str, dict] = {}
    for i in range(n_chunks):
        path = chunk_dir / f"speakers-{i:05d}.csv"
        for est in read_csv(path) if path.exists() else []:
            estimated.setdefault(est["speaker"], est)
    out: dict[str, dict] = {}
    for row in rows:
        speaker = row["speaker"]
        if speaker in out:
            continue
        est = estimated.get(speaker)
        if est is not None:
            out[speaker] = est
        else:
            out[speaker] = {"speaker": speaker, "group": row["group"], "source": "given" if row["group"] else "unknown"}
    return list(out.values())


def _merge(run: RunDir, n_chunks: int, discovery_problems: list[dict], settings: Settings, columns: list[str]) -> None:
    """Concatenate chunk outputs into tokens.csv (plus per-speaker normalised formants), tracks.csv, problems.csv
    and speakers.csv, streaming (memory flat)."""
    chunk_dir = run.path(CHUNK_DIR)
    tokens = lambda: (row for i in range(n_chunks) for row in iter_csv(chunk_dir / f"tokens-{i:05d}.csv"))  # noqa: E731
    write_csv(run.path(rundir.TOKENS), normalised_tokens(tokens), columns)
    merge_outputs(run.root, chunk_dir, n_chunks, settings)
    problems = (row for i in range(n_chunks) for row in iter_csv(chunk_dir / f"problems-{i:05d}.csv"))
    write_csv(run.path(rundir.PROBLEMS), chain(discovery_problems, problems), PROBLEM_COLUMNS)
    speakers = _speaker_rows(iter_csv(run.path(rundir.TOKENS)), chunk_dir, n_chunks)
    write_csv(run.path(SPEAKERS), speakers, SPEAKER_COLUMNS)


def _summarise(rows: Iterable[dict], problems: Iterable[dict], summary: ExtractSummary) -> None:
    """Fill the summary's counts from the merged token and problem rows (streamed)."""
    speakers: set[str] = set()
    for row in rows:
        summary.n_tokens += 1
        speakers.add(row["speaker"])
        summary.tokens_by_class[row["phone"] if row["kind"] == "vowel" else f"{row['phone']} (unvoiced)"] += 1
    summary.speakers = len(speakers)
    summary.problems_by_reason.update(p["reason"] for p in problems)
