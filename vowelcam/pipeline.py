"""``vowelcam analyze``: the stages in a row — extract -> train (or a given model) -> CAMs and bands -> report.

A stage is skipped when it is up to date (see :mod:`vowelcam.runstate.stages`: its settings, the content of its
inputs and every file it wrote are as ``stages.json`` recorded them); ``force`` redoes everything. Extraction
resumes per chunk and training per epoch, so an interrupted run picks up where it stopped. Every run writes its
resolved settings to ``config.toml``. The run's lock is held throughout (:mod:`vowelcam.runstate.lock`).

Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank runs ``analyze`` in one process group: the ranks share the
extraction chunks, train with DistributedDataParallel and shard the CAMs; rank 0 merges, writes the report and
the stage stamps while the others wait. The run directory must be on a file system all ranks see.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import rundir
from .config import Settings, save_settings
from .extract import ChunkShare, ExtractSummary, extract
from .parallel import Runner
from .progress import ProgressCallback, report
from .rundir import RunDir
from .runstate.lock import run_lock
from .runstate.replace import prepare_for_model
from .runstate.stages import check_stage, predict_config, record_stage, train_config

log = logging.getLogger(__name__)


@dataclass
class AnalyzeSummary:
    """What each stage did (ran or skipped) and where the report is."""

    run_dir: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    extract: ExtractSummary | None = None
    train: Any = None
    cam: Any = None
    report: Any = None

    @property
    def pdf(self) -> Path | None:
        """The PDF report, when WeasyPrint could write it."""
        return getattr(self.report, "pdf", None)


def analyze(
    corpus: str | Path,
    out: str | Path,
    textgrids: str | Path | None = None,
    settings: Settings | None = None,
    model: str | Path | None = None,
    device: str = "auto",
    force: bool = False,
    progress: ProgressCallback | None = None,
    runner: Runner | None = None,
    wait: bool = False,
) -> AnalyzeSummary:
    """Run every stage from a corpus to the PDF report in the run directory ``out``; extraction's chunks are
    measured on ``runner`` (default: ``settings.extract.jobs`` local processes; see :mod:`vowelcam.parallel`),
    and with a runner the cam stage's map pass runs on it too (training and the rest of the cam stage run here).

    Holds the run's lock throughout (another writer raises :class:`~vowelcam.runstate.lock.RunLockedError`, or
    is waited for with ``wait``). ``model`` on a run with a model trained there raises
    :class:`~vowelcam.runstate.replace.ModelReplaceError` unless ``force``."""
    settings = settings or Settings()
    run = RunDir(out)  # a folder made for the lock is removed again if extraction finds no pairs
    summary = AnalyzeSummary(run.root)
    with run_lock(run.root, "analyze", wait=wait), _ranks(device) as share:
        progress = progress if share.is_main else None
        if model is not None and share.is_main:
            prepare_for_model(run.root, model, force, settings.to_dict()["spectrogram"])
        share.wait()
        summary.extract = extract(
            corpus, out, textgrids, settings, progress=progress, force=force, share=share, runner=runner
        )
        for name, config, action, every_rank in _steps(run, settings, model, device, progress, runner):
            check = check_stage(run.root, name, config)
            if not force and check.up_to_date:
                summary.skipped.append(name)
                report(progress, name, 1, 1, "up to date")
                continue
            if not force and check.reason != "not run yet":
                log.info("%s: %s is redone: %s", run.root, name, check.reason)
            if every_rank or share.is_main:
                setattr(summary, name, action())
            share.wait()
            summary.ran.append(name)
            if share.is_main:
                record_stage(run.root, check)
            share.wait()  # every rank checks the next stage against the same records
        if share.is_main:
            save_settings(settings, run.path(rundir.CONFIG))
    return summary


Step = tuple[str, dict[str, Any], Callable[[], Any], bool]


def _steps(
    run: RunDir,
    settings: Settings,
    model: str | Path | None,
    device: str,
    progress: ProgressCallback | None,
    runner: Runner | None = None,
) -> list[Step]:
    """(name, settings fingerprinted, action, whether every rank runs it) for the stages after extract."""
    sections = settings.to_dict()
    return [
        (
            "train",
            predict_config(model) if model is not None else train_config(sections["train"]),
            lambda: _train_or_predict(run, settings, model, device, progress),
            True,
        ),
        ("cam", {"cam": sections["cam"]}, lambda: _cam(run, settings, device, progress, runner), True),
        ("report", {}, lambda: _report(run, progress), False),  # its settings: config.toml, one of its inputs
    ]


@contextmanager
def _ranks(device: str) -> Iterator[ChunkShare]:
    """Under torchrun: join one process group for the whole analysis; otherwise a single process's share."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield ChunkShare()
        return
    from .learn.device import resolve_device
    from .learn.distributed import barrier, process_group

    with process_group(resolve_device(device)) as place:
        yield ChunkShare(place.rank, place.world_size, lambda: barrier(place))


def _train_or_predict(
    run: RunDir, settings: Settings, model: str | Path | None, device: str, progress: ProgressCallback | None
) -> Any:
    if model is not None:
        from .learn.predict import predict_run

        return predict_run(run.root, model, device=device, progress=progress)
    from .learn.train import train

    return train(run.root, settings.train, device=device, progress=progress)


def _cam(run: RunDir, settings: Settings, device: str, progress: ProgressCallback | None, runner: Runner | None) -> Any:
    from .explain.stage import explain_run

    return explain_run(run.root, settings.cam, device=device, progress=progress, runner=runner)


def _report(run: RunDir, progress: ProgressCallback | None) -> Any:
    from .report.render import build_report

    return build_report(run.root, progress=progress)
