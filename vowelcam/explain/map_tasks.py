"""The map pass on a :class:`~vowelcam.parallel.Runner` (``vowelcam cam --dask``): the pass's batches of tokens
shipped to workers that read the run directory at the same path, the client writing ``cams/`` and every table.

A worker loads the run's model(s), CAM layer and spectrogram store once per thread (a CAM hooks the model's
layer, so threads never share one; cached on the run directory, the layer and the model files' sizes and times)
and computes a batch exactly as :func:`.map_pass.batch_maps` does in a local pass: the same batches, the same
controls, the same measured resolution (both sent by the client), on the CPU. Its result comes back to the client,
which writes it into the memory-mapped maps; at most ``runner.slots`` batches are in flight, so the client's
memory does not grow with the number of tokens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from .. import rundir
from ..config import CamSettings
from ..corpus.published_formants import ReferenceTable
from ..errors import VowelcamError
from ..parallel import Runner, TaskLost, run_tasks
from .context import ExplainContext, load_context
from .map_pass import BatchMaps, batch_maps
from .maps.grid import CamGrid
from .maps.resolution import PointSpread
from .readings.controls import Controls

log = logging.getLogger(__name__)
_LOADED = threading.local()  # per worker thread: the CAM hooks a model's layer, so threads never share a model


class WorkerLostError(VowelcamError):
    """A batch of the map pass whose worker died on every try: the maps would have a gap."""


@dataclass(frozen=True)
class MapJob:
    """What every batch is computed with: the run (its path and the stamp of its inputs), the settings, the
    method, the folds, the CAM grid, the controls' envelope matrix, the measured resolution and the reference
    table (what the client measured once, no worker measures again)."""

    run_dir: str
    stamp: tuple
    settings: CamSettings
    method: str
    folds: tuple[int, ...]
    grid: CamGrid
    envelope: torch.Tensor | None
    resolution: dict[str, PointSpread]
    reference: ReferenceTable


def run_stamp(run: rundir.RunDir) -> tuple:
    """Sizes and modification times of the model files and the spectrogram folder: a worker holding a run loaded
    before a re-training or re-extraction loads it again."""
    paths = [run.path(rundir.SPECTROGRAMS), *sorted(run.path(rundir.MODEL_DIR).glob("*.pt"))]
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in paths if p.exists())


def shipped_batches(
    runner: Runner,
    run: rundir.RunDir,
    ctx: ExplainContext,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    reference: ReferenceTable,
    settings: CamSettings,
    folds: list[int],
    batches: list[tuple[int, int]],
) -> Iterator[BatchMaps]:
    """Every batch computed on ``runner``'s workers, yielded as it arrives (in any order). Each task carries its
    own prediction rows, token rows and null partners, never the whole run."""
    job = MapJob(
        str(Path(run.root).resolve()),
        run_stamp(run),
        settings,
        ctx.method,
        tuple(folds),
        ctx.grid,
        ctx.controls.envelope if ctx.controls is not None else None,
        dict(ctx.resolution),
        reference,
    )
    partners = ctx.controls.partners if ctx.controls is not None else None
    tasks = []
    for start, stop in batches:
        part = chosen[start:stop]
        ids = [p["token_id"] for p in part]
        mine = None if partners is None else {i: partners.get(i) for i in ids}
        tasks.append((job, part, start, {i: tokens[i] for i in ids}, mine))
    for i, result in run_tasks(runner, map_batch, tasks):
        if isinstance(result, TaskLost):
            raise WorkerLostError(
                f"cam: the worker computing tokens {batches[i][0]}-{batches[i][1] - 1} died on each of "
                f"{result.tries} tries ({result.error}); nothing was written, run cam again"
            )
        yield result


def map_batch(
    job: MapJob,
    part: list[dict[str, str]],
    start: int,
    tokens: dict[str, dict[str, Any]],
    partners: dict[str, Any] | None,
) -> BatchMaps:
    """A worker's task: one batch's maps and readings, as a local pass computes them."""
    loaded = _context(job)
    controls = None if job.envelope is None else Controls(job.envelope, partners or {})
    ctx = replace(loaded, controls=controls, resolution=job.resolution)
    return batch_maps(ctx, part, start, tokens, job.reference, job.settings)


def _context(job: MapJob) -> ExplainContext:
    """The run's loaded context on the CPU, once per worker thread and version of the run (the last one kept)."""
    key = (job.run_dir, job.stamp, job.settings.layer, job.method, job.folds)
    if getattr(_LOADED, "key", None) != key:
        _LOADED.context = load_context(
            rundir.RunDir(job.run_dir), job.settings, job.method, "cpu", list(job.folds), job.grid
        )
        _LOADED.key = key
    return _LOADED.context
