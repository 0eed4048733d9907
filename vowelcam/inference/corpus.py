"""Classify every vowel token of a corpus with a trained model: one CSV of predictions and one of problems.

The corpus is discovered and its tokens chosen exactly as ``extract`` does (pairing, label convention, vowel set,
stress, speakers); chunks of recordings are classified on a :class:`~vowelcam.parallel.Runner` (one process,
local processes, or a Dask cluster whose workers see the corpus and the model file at the same paths), and this
process writes both files in chunk order, so every runner leaves the same bytes. Memory holds the chunks in
flight and the rows of chunks that finished before an earlier one: no spectrogram reaches the client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..corpus.discover import Pair, discover
from ..corpus.speakers import SpeakerResolver
from ..errors import ConfigError, DataProblem
from ..parallel import Runner, TaskLost, local_runner, run_tasks
from ..progress import ProgressCallback, report
from ..rundir import PROBLEM_COLUMNS, write_csv
from .chunk import ChunkPredictions, ClassifyJob, classify_chunk, prediction_columns

log = logging.getLogger(__name__)
LOST = "worker lost"  # as extraction's problems.csv names a recording whose worker died on every try


@dataclass
class CorpusPredictions:
    """What :func:`classify_corpus` wrote."""

    predictions: Path
    problems: Path
    n_recordings: int
    n_tokens: int
    n_problems: int


def problems_path(out: Path) -> Path:
    """Where the problems go by default: beside ``out``, named ``<out's stem>-problems.csv``."""
    return out.with_name(f"{out.stem}-problems.csv")


def classify_corpus(
    corpus: str | Path,
    out: str | Path,
    textgrids: str | Path | None = None,
    model: str | Path | None = None,
    settings: Settings | None = None,
    top: int = 3,
    runner: Runner | None = None,
    progress: ProgressCallback | None = None,
    problems: str | Path | None = None,
) -> CorpusPredictions:
    """Classify every token of ``corpus`` that ``extract`` would take; write ``out`` (one row per token) and
    ``problems`` (default :func:`problems_path`). Chunks of ``settings.extract.chunk_files`` recordings run on
    ``runner`` (default: ``settings.extract.jobs`` local processes). Progress counts recordings."""
    from ..learn.model_file import resolve_model_path
    from .chunk import cached_model

    settings = settings or Settings()
    out = Path(out)
    problems = Path(problems) if problems is not None else problems_path(out)
    model_path = resolve_model_path(model)  # a missing or foreign model fails before anything runs
    resolver = SpeakerResolver.from_settings(
        settings.corpus.speaker_from, settings.corpus.speaker_pattern, settings.corpus.speaker_groups
    )
    job = ClassifyJob.for_model(model_path, settings, resolver, top)
    _, info = cached_model(job.model_path, job.model_stamp)
    found = discover(corpus, textgrids, settings.corpus.audio_extensions)
    if not found.pairs:
        where = f"{corpus}" + (f" and {textgrids}" if textgrids else "")
        raise ConfigError(f"no audio/label pairs in {where} ({found.n_audio} audio, {found.n_labels} label files)")
    chunks = _chunks(found.pairs, settings.extract.chunk_files)
    problem_rows = [p.as_row() for p in found.problems]
    counter = _Progress(progress, len(found.pairs))
    runner_context = nullcontext(runner) if runner is not None else local_runner(settings.extract.jobs)
    with runner_context as chosen:
        outputs = _in_order(run_tasks(chosen, classify_chunk, [(c, job) for c in chunks]), chunks, counter)
        rows = (row for output in _collect_problems(outputs, problem_rows) for row in output.rows)
        n_tokens = write_csv(out, rows, prediction_columns(len(info.labels), top))
    write_csv(problems, problem_rows, PROBLEM_COLUMNS)
    return CorpusPredictions(out, problems, len(found.pairs), n_tokens, len(problem_rows))


def _chunks(pairs: list[Pair], size: int) -> list[list[Pair]]:
    size = max(1, size)
    return [pairs[i : i + size] for i in range(0, len(pairs), size)]


class _Progress:
    """Recordings done across the runner's workers, reported as chunks arrive."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0
        report(callback, "classify", 0, total, "recordings")

    def add(self, n: int) -> None:
        self.done += n
        report(self.callback, "classify", self.done, self.total, "recordings")


def _in_order(
    results: Iterable[tuple[int, Any]], chunks: list[list[Pair]], counter: _Progress
) -> Iterator[ChunkPredictions]:
    """Chunk outputs in chunk order whatever order they finish in (early ones wait, rows only); a chunk whose
    worker died on every try becomes one problem per recording."""
    waiting: dict[int, ChunkPredictions] = {}
    following = 0
    for i, output in results:
        counter.add(len(chunks[i]))
        if isinstance(output, TaskLost):
            log.warning("chunk %d given up after %d tries (%s)", i, output.tries, output.error)
            output = _lost(chunks[i], i, output)
        waiting[i] = output
        while following in waiting:
            yield waiting.pop(following)
            following += 1


def _collect_problems(outputs: Iterable[ChunkPredictions], into: list[dict]) -> Iterator[ChunkPredictions]:
    """Pass the outputs on, appending each one's problems to ``into`` (the problems file follows the rows)."""
    for output in outputs:
        into.extend(output.problems)
        yield output


def _lost(pairs: list[Pair], index: int, lost: TaskLost) -> ChunkPredictions:
    detail = f"chunk {index}: its worker died on each of {lost.tries} tries ({lost.error}); run classify again"
    return ChunkPredictions(problems=[DataProblem(pair.audio, LOST, detail).as_row() for pair in pairs])
