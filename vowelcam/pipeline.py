"""``vowelcam analyze``: the stages in a row — extract -> train (or a given model) -> CAMs and bands -> report.

A stage is skipped when its outputs exist and the fingerprint of its inputs and settings (kept in
``stages.json``) is unchanged; ``force`` redoes everything. Extraction resumes per chunk and training per epoch,
so an interrupted run picks up where it stopped. Every run writes its resolved settings to ``config.toml``.

Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank runs ``analyze`` in one process group: the ranks share the
extraction chunks, train with DistributedDataParallel and shard the CAMs; rank 0 merges, writes the report and
the stage stamps while the others wait. The run directory must be on a file system all ranks see.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import rundir
from .config import Settings, save_settings
from .errors import RunDirError
from .extract import ChunkShare, ExtractSummary, extract
from .parallel import Runner
from .progress import ProgressCallback, report
from .rundir import RunDir

log = logging.getLogger(__name__)
STAGES_FILE = "stages.json"


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
) -> AnalyzeSummary:
    """Run every stage from a corpus to the PDF report in the run directory ``out``; extraction's chunks are
    measured on ``runner`` (default: ``settings.extract.jobs`` local processes; see :mod:`vowelcam.parallel`)."""
    settings = settings or Settings()
    run = RunDir(out)  # created by extract once the corpus is known to hold pairs
    summary = AnalyzeSummary(run.root)
    with _ranks(device) as share:
        progress = progress if share.is_main else None
        stamps = _read_stamps(run)
        summary.extract = extract(
            corpus, out, textgrids, settings, progress=progress, force=force, share=share, runner=runner
        )
        upstream = _file_digest(run.path(rundir.TOKENS))
        for name, config, outputs, action, every_rank in _steps(run, settings, model, device, progress):
            key = _fingerprint(config, upstream)
            done = all(run.path(o).exists() for o in outputs)
            if not force and done and stamps.get(name) == key:
                summary.skipped.append(name)
                report(progress, name, 1, 1, "up to date")
            else:
                if every_rank or share.is_main:
                    setattr(summary, name, action())
                share.wait()
                summary.ran.append(name)
                stamps[name] = key
                if share.is_main:
                    _write_stamps(run, stamps)
            upstream = key
        if share.is_main:
            save_settings(settings, run.path(rundir.CONFIG))
    return summary


Step = tuple[str, dict[str, Any], list[str], Callable[[], Any], bool]


def _steps(
    run: RunDir, settings: Settings, model: str | Path | None, device: str, progress: ProgressCallback | None
) -> list[Step]:
    """(name, settings fingerprinted, outputs, action, whether every rank runs it) for the stages after extract."""
    return [
        (
            "train",
            {"train": settings.to_dict()["train"], "model": str(model or "")},
            [rundir.MODEL, rundir.PREDICTIONS],
            lambda: _train_or_predict(run, settings, model, device, progress),
            True,
        ),
        (
            "cam",
            settings.to_dict()["cam"],
            [rundir.CAMS, rundir.BANDS, rundir.AGREEMENT],
            lambda: _cam(run, settings, device, progress),
            True,
        ),
        ("report", settings.to_dict()["report"], ["report/report.html"], lambda: _report(run, progress), False),
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


def _cam(run: RunDir, settings: Settings, device: str, progress: ProgressCallback | None) -> Any:
    from .explain.stage import explain_run

    return explain_run(run.root, settings.cam, device=device, progress=progress)


def _report(run: RunDir, progress: ProgressCallback | None) -> Any:
    from .report.render import build_report

    return build_report(run.root, progress=progress)


def _fingerprint(config: dict[str, Any], upstream: str) -> str:
    blob = json.dumps({"config": config, "upstream": upstream}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    if not path.exists():
        raise RunDirError(f"{path}: missing after extraction")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _read_stamps(run: RunDir) -> dict[str, str]:
    try:
        return dict(json.loads(run.path(STAGES_FILE).read_text()))
    except (OSError, ValueError):
        return {}


def _write_stamps(run: RunDir, stamps: dict[str, str]) -> None:
    rundir.atomic_write_text(run.path(STAGES_FILE), json.dumps(stamps, indent=2))
