"""``vowelcam extract``: corpus -> run directory (tokens.csv, problems.csv, spectrograms/, config.toml).

Files are processed in chunks (:mod:`.chunk`: a few recordings, or a window of a long one, :mod:`.layout`);
each chunk's spectrogram shard, token rows and problems are
written atomically, then a marker holding a signature of its inputs and settings. A re-run skips chunks whose
marker matches, so an interrupted extraction resumes and an unchanged corpus costs only the discovery. Chunks are
measured on a :class:`~vowelcam.parallel.Runner` (``jobs`` local processes, or a Dask cluster) and written by this
process as they arrive, a bounded number in flight: memory per process is a few chunks, whatever the corpus size.
Under ``torchrun`` (see :class:`ChunkShare`) each rank, on any machine sharing the run directory, takes every
``world``-th chunk and rank 0 merges once all are done.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from .. import rundir
from ..acoustics.features import geometry
from ..acoustics.store import shard_name, write_axes
from ..config import Settings, save_settings
from ..corpus.discover import discover
from ..corpus.speakers import SpeakerResolver
from ..errors import VowelcamError
from ..measure.extra_outputs import merge_outputs, normalised_tokens
from ..parallel import Runner, TaskLost, local_runner, run_tasks
from ..progress import ProgressCallback, report
from ..rundir import PROBLEM_COLUMNS, RunDir, iter_csv, read_csv, write_csv
from . import notes
from .chunk import CHUNK_DIR, SPEAKER_COLUMNS, lost_chunk, measure_chunk, read_marker, token_columns, write_chunk
from .chunk_plans import forget_recordings
from .layout import Chunk, layout_chunks
from .one_file import BAND_PROBLEM

log = logging.getLogger(__name__)
SPEAKERS = "speakers.csv"


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
    problem_examples: dict[str, str] = field(default_factory=dict)  # reason -> its first problem, as a line
    notes: list[str] = field(default_factory=list)  # assumptions the user should hear about (notes.py)


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
    runner: Runner | None = None,
) -> ExtractSummary:
    """Extract every token of ``corpus`` into the run directory ``out`` and return a summary.

    Chunks are measured on ``runner`` (see :mod:`vowelcam.parallel`; default: ``settings.extract.jobs`` local
    processes) and written here, so every runner leaves the same bytes. Progress counts seconds of audio (from the
    headers), chunk by chunk: a long recording's windows advance it as they are written."""
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
    chunks = layout_chunks(found.pairs, settings)
    todo = [c for c in chunks if force or read_marker(run, c.index) != c.signature or not _chunk_complete(run, c.index)]
    summary = ExtractSummary(run.root, found.n_audio, found.n_labels, len(found.pairs))
    summary.n_chunks_skipped = len(chunks) - len(todo)
    geo = geometry(settings.spectrogram)
    write_axes(run.path(rundir.SPECTROGRAMS), settings.spectrogram, geo.freqs_hz, geo.times_s)
    redo = {c.index for c in todo}
    audio = _AudioProgress(
        progress, sum(c.seconds for c in chunks), sum(c.seconds for c in chunks if c.index not in redo)
    )
    mine = [c for c in todo if c.index % share.world == share.rank]
    if share.world > 1:
        log.info("rank %d of %d extracts %d of the %d chunks to do", share.rank, share.world, len(mine), len(todo))
    runner_context = (
        nullcontext(runner) if runner is not None else local_runner(settings.extract.jobs if len(mine) > 1 else 1)
    )
    try:
        with runner_context as chosen:
            for chunk, n_tokens in _run_chunks(mine, settings, resolver, run, chosen, columns):
                audio.advance(chunk.seconds * share.world, n_tokens * share.world)
    finally:
        forget_recordings()  # the plan of a windowed recording kept in this process (jobs = 1)
    summary.n_chunks_done = len(todo)
    share.wait()  # every rank's chunks are written
    if share.is_main:
        _remove_stale(run, len(chunks))
        _merge(run, len(chunks), [p.as_row() for p in found.problems], settings, columns)
        save_settings(settings, run.path(rundir.CONFIG))
    share.wait()  # the merged tables are written
    _summarise(iter_csv(run.path(rundir.TOKENS)), iter_csv(run.path(rundir.PROBLEMS)), summary, settings)
    if summary.n_tokens == 0:
        raise NoTokensError(
            notes.no_tokens_message(
                str(corpus), str(run.path(rundir.PROBLEMS)), summary.problems_by_reason, summary.problem_examples
            )
        )
    return summary


class _AudioProgress:
    """Progress of extraction in seconds of audio (out of ``total``), with the tokens written so far."""

    def __init__(self, callback: ProgressCallback | None, total: float, done: float) -> None:
        self.callback, self.total, self.done, self.tokens = callback, total, done, 0
        self._report()

    def advance(self, seconds: float, tokens: int) -> None:
        """A chunk of ``seconds`` of audio holding ``tokens`` tokens was written."""
        self.done = min(self.done + seconds, self.total)
        self.tokens += tokens
        self._report()

    def _report(self) -> None:
        message = f"s of audio, {self.tokens} tokens" if self.tokens else "s of audio"
        report(self.callback, "extract", round(self.done), round(self.total), message)


def _chunk_complete(run: RunDir, index: int) -> bool:
    """Whether every file a chunk's marker promises is there (a deleted shard or table redoes the chunk)."""
    chunk_dir = run.path(CHUNK_DIR)
    promised = [run.path(rundir.SPECTROGRAMS) / shard_name(index)]
    promised += [chunk_dir / f"{kind}-{index:05d}.csv" for kind in ("tokens", "problems", "speakers")]
    return all(p.is_file() for p in promised)


def _run_chunks(
    chunks: list[Chunk], settings: Settings, resolver: SpeakerResolver, run: RunDir, runner: Runner, columns: list[str]
) -> Iterator[tuple[Chunk, int]]:
    """Measure the chunks on ``runner`` and write each one here as it arrives (in the order they finish); a chunk
    whose worker died on every try is written as one problem per recording. Yields each chunk once written, with
    its number of tokens."""
    tasks = [(chunk, settings, resolver) for chunk in chunks]
    for i, output in run_tasks(runner, measure_chunk, tasks):
        if isinstance(output, TaskLost):
            log.warning("chunk %d given up after %d tries (%s)", chunks[i].index, output.tries, output.error)
            output = lost_chunk(chunks[i], settings, output.tries, output.error)
        write_chunk(run, chunks[i], output, settings, columns)
        yield chunks[i], len(output.rows)


def _remove_stale(run: RunDir, n_chunks: int) -> None:
    """Delete shards and chunk files beyond the current chunk count (the corpus shrank)."""
    for path in run.path(rundir.SPECTROGRAMS).glob("shard-*.npy*"):  # shards and their .sha256 checksums
        if int(path.name.split("-")[1].split(".")[0]) >= n_chunks:
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
    write_csv(run.path(rundir.PROBLEMS), _band_once(chain(discovery_problems, problems)), PROBLEM_COLUMNS)
    speakers = _speaker_rows(iter_csv(run.path(rundir.TOKENS)), chunk_dir, n_chunks)
    write_csv(run.path(SPEAKERS), speakers, SPEAKER_COLUMNS)


def _band_once(problems: Iterable[dict]) -> Iterator[dict]:
    """The problem rows with each recording's band problem of a speaker once (every window of a long recording
    reports the speakers it measured)."""
    seen: set[tuple[str, str]] = set()
    for row in problems:
        if row["reason"] == BAND_PROBLEM:
            key = (row["path"], row["detail"])
            if key in seen:
                continue
            seen.add(key)
        yield row


def _summarise(rows: Iterable[dict], problems: Iterable[dict], summary: ExtractSummary, settings: Settings) -> None:
    """Fill the summary's counts, problem examples and notes from the merged token and problem rows (streamed)."""
    speakers: set[str] = set()
    speaker_of_file: dict[str, str] = {}
    for row in rows:
        summary.n_tokens += 1
        speakers.add(row["speaker"])
        speaker_of_file.setdefault(row["file"], row["speaker"])
        summary.tokens_by_class[row["phone"] if row["kind"] == "vowel" else f"{row['phone']} (unvoiced)"] += 1
    summary.speakers = len(speakers)
    reasons, summary.problem_examples = notes.first_examples(problems)
    summary.problems_by_reason.update(reasons)
    note = notes.speaker_per_file_note(speaker_of_file, settings.corpus)
    summary.notes = [note] if note else []
