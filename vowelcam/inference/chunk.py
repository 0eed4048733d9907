"""Classify one chunk of recordings on a worker: the tokens extraction would take (same pairing, label mapping,
token selection and speakers), each cut as ``classify`` cuts it, with the model loaded once per process.

:func:`classify_chunk` writes nothing and returns picklable rows, so a local pool and a Dask cluster hand the
client the same values.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..corpus.discover import Pair
from ..corpus.speakers import SpeakerResolver
from ..errors import DataProblem

PROBABILITY_DECIMALS = 6  # probabilities are written rounded: the same text from any runner


@dataclass(frozen=True)
class ClassifyJob:
    """What every chunk is classified with: the model file (and its size and mtime, so a worker reloads a
    replaced file), the settings that choose tokens, the speakers, and how many classes to list."""

    model_path: str
    model_stamp: tuple[int, int]
    settings: Settings
    resolver: SpeakerResolver
    top: int

    @classmethod
    def for_model(cls, model_path: Path, settings: Settings, resolver: SpeakerResolver, top: int) -> ClassifyJob:
        """A job for ``model_path`` as it is now on disk."""
        stat = os.stat(model_path)
        return cls(str(model_path), (stat.st_size, stat.st_mtime_ns), settings, resolver, top)


@dataclass
class ChunkPredictions:
    """One chunk's prediction rows (recording order, then tier order) and its problems."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)


@functools.lru_cache(maxsize=2)
def cached_model(path: str, stamp: tuple[int, int]) -> tuple[Any, Any]:
    """The network and its ModelInfo on the CPU, loaded once per process and model file version."""
    from ..learn.models import load_model

    return load_model(path, "cpu")


def classify_chunk(pairs: list[Pair], job: ClassifyJob) -> ChunkPredictions:
    """Predictions for every selected token of ``pairs``; data problems become rows, never exceptions."""
    net, info = cached_model(job.model_path, job.model_stamp)
    result = ChunkPredictions()
    for pair in pairs:
        rows, problems = _classify_pair(pair, job, net, info)
        result.rows.extend(rows)
        result.problems.extend(p.as_row() for p in problems)
    return result


def _classify_pair(pair: Pair, job: ClassifyJob, net: Any, info: Any) -> tuple[list[dict], list[DataProblem]]:
    """One recording: its planned tokens, their spectrograms, one forward pass."""
    from ..acoustics.audio import Recording
    from ..extract.one_file import FilePlan, plan_file

    plan = plan_file(pair, job.settings)
    if not isinstance(plan, FilePlan):
        return [], list(plan.problems)
    problems = list(plan.problems)
    wanted = [s for s in plan.specs if info.task == "voicing" or s.kind == "vowel"]
    recording = Recording(plan.info)
    kept, specs = [], []
    for spec in wanted:
        try:
            specs.append(_cut(pair, recording, spec, info))
            kept.append(spec)
        except DataProblem as problem:
            problems.append(problem)
    if not kept:
        return [], problems
    probs = _probabilities(net, info, np.stack(specs))
    rows = []
    for spec, p in zip(kept, probs):
        if not np.all(np.isfinite(p)):
            problems.append(
                DataProblem(pair.audio, "no prediction", "NaN or infinite model output", spec.tier, str(spec.interval))
            )
            continue
        speaker, _ = job.resolver.resolve(pair.rel, spec.tier_speaker)
        rows.append(_row(pair, spec, speaker, p, list(info.labels), job.top))
    return rows, problems


def _cut(pair: Pair, recording: Any, spec: Any, info: Any) -> np.ndarray:
    """The token's spectrogram with the model's settings; a DataProblem for a token past the audio's end."""
    from ..classify_recording import model_spectrogram_settings, span_spectrogram

    duration = recording.info.duration
    if spec.end > duration + 1.5 / recording.info.sample_rate + 0.002:
        where = dict(tier=spec.tier, interval=f"{spec.interval} ({spec.start:.3f}-{spec.end:.3f} s)")
        detail = f"ends at {spec.end:.3f} s, audio {pair.audio.name} is {duration:.3f} s"
        raise DataProblem(pair.labels, "interval beyond audio end", detail, **where)
    where = f"{spec.tier}:{spec.interval}"
    return span_spectrogram(recording, spec.start, spec.end, model_spectrogram_settings(info), info, where)


def _probabilities(net: Any, info: Any, specs: np.ndarray) -> np.ndarray:
    """Class probabilities ``[N, C]`` of a recording's spectrograms."""
    import torch

    with torch.no_grad():
        return torch.softmax(net(info.prepare(specs)).float(), 1).numpy()


def _row(pair: Pair, spec: Any, speaker: str, probs: np.ndarray, labels: list[str], top: int) -> dict[str, Any]:
    """One prediction row: where the token is, what its label says, and the ``top`` classes by probability."""
    order = np.argsort(-probs, kind="stable")[: max(1, top)]
    row: dict[str, Any] = {
        "file": pair.rel,
        "tier": spec.tier,
        "interval": spec.interval,
        "start": spec.start,
        "end": spec.end,
        "label": spec.label,
        "phone": spec.phone,
        "speaker": speaker,
    }
    for rank, k in enumerate(order, 1):
        suffix = "predicted" if rank == 1 else str(rank)
        row[f"class_{suffix}" if rank > 1 else "predicted"] = labels[k]
        row[f"prob_{suffix}"] = round(float(probs[k]), PROBABILITY_DECIMALS)
    return row


def prediction_columns(n_classes: int, top: int) -> list[str]:
    """The predictions CSV's columns for a model of ``n_classes`` listing ``top`` classes."""
    ranked = ["predicted", "prob_predicted"]
    for rank in range(2, min(top, n_classes) + 1):
        ranked += [f"class_{rank}", f"prob_{rank}"]
    return ["file", "tier", "interval", "start", "end", "label", "phone", "speaker", *ranked]
