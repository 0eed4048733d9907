"""Replication over training seeds: does a verdict recur when the network is trained again?

Attributions of speech classifiers vary with the training seed (Shen et al., Interspeech 2025), so one run's
support is one draw. ``vowelcam replicate RUN --seeds 1,2`` trains the run's network again with each seed (the
same tokens, spectrograms and training settings; the seed re-draws the speaker-grouped split and the
initialisation, so a recurring verdict holds across both), each in ``RUN/replicates/seed-<N>/`` beside the run,
and reads each with the same instruments (:mod:`vowelcam.explain.verdict_stage`). ``recurrence.csv`` counts, per
instrument x vowel x formant, the runs (the run itself and its replicates) with support:

    instrument, vowel, formant, verdict (the run's own), n_runs, n_support, recurs (n_support > n_runs / 2)

A support counts as replicated only when it recurs in most runs; page 1 of the report says which do not.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import rundir
from ..progress import ProgressCallback, report

log = logging.getLogger(__name__)

RECURRENCE_FILE = "recurrence.csv"
REPLICATES_DIR = "replicates"
RECURRENCE_COLUMNS = ["instrument", "vowel", "formant", "verdict", "n_runs", "n_support", "recurs"]
SHARED_INPUTS = (rundir.TOKENS, rundir.SPECTROGRAMS, "speakers.csv", "tracks.csv", rundir.PROBLEMS, rundir.SOURCES)
COPIED_INPUTS = (rundir.STAMP, rundir.CONFIG)
SUPPORT = "support"


def replicate_dir(run_dir: str | Path, seed: int) -> Path:
    """Where the replicate of ``run_dir`` trained with ``seed`` lives."""
    return Path(run_dir) / REPLICATES_DIR / f"seed-{seed}"


def prepare_replicate(run_dir: str | Path, seed: int) -> Path:
    """A run directory for one replicate: the run's extracted inputs linked (never copied: they are read only),
    its marker and settings copied. Idempotent."""
    run, out = Path(run_dir), replicate_dir(run_dir, seed)
    out.mkdir(parents=True, exist_ok=True)
    for name in SHARED_INPUTS:
        source, target = run / name, out / name
        if source.exists() and not target.exists():
            target.symlink_to(Path("..") / ".." / name, target_is_directory=source.is_dir())
    for name in COPIED_INPUTS:
        if (run / name).exists():
            shutil.copy2(run / name, out / name)
    return out


def trained_settings(run_dir: str | Path) -> Any:
    """The training settings the run's model was trained with (``model/summary.json``; the run's config.toml
    when that is missing)."""
    import dataclasses
    import json

    from ..config import TrainSettings, load_settings
    from ..learn.train import SUMMARY

    path = Path(run_dir) / SUMMARY
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8")).get("settings", {})
        known = {f.name for f in dataclasses.fields(TrainSettings)}
        return TrainSettings(**{k: v for k, v in saved.items() if k in known})
    return load_settings(Path(run_dir) / rundir.CONFIG).train


def replicate(
    run_dir: str | Path,
    seeds: Sequence[int],
    instruments: Sequence[str],
    device: str = "cpu",
    progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """Train and read one replicate per seed (reusing a replicate whose verdicts.csv exists), then write and
    return ``recurrence.csv`` of the run and its replicates."""
    from ..learn.train import train
    from .verdict_stage import VERDICTS_FILE, run_verdicts

    run = Path(run_dir)
    settings = trained_settings(run)
    if not (run / VERDICTS_FILE).exists():
        run_verdicts(run, instruments, device, progress=progress)
    for i, seed in enumerate(seeds):
        out = prepare_replicate(run, seed)
        if not (out / VERDICTS_FILE).exists():
            report(progress, "replicate", i, len(seeds), f"seed {seed}: training")
            train(out, replace(settings, seed=seed), device)
            run_verdicts(out, instruments, device, progress=progress)
        report(progress, "replicate", i + 1, len(seeds), f"seed {seed}")
    tables = [rundir.read_csv(p / VERDICTS_FILE) for p in [run, *(replicate_dir(run, s) for s in seeds)]]
    rows = recurrence(tables)
    rundir.write_csv(run / RECURRENCE_FILE, rows, RECURRENCE_COLUMNS)
    return rows


def recurrence(tables: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """``recurrence.csv`` rows from the verdicts.csv rows of the run (first) and its replicates."""
    keys = [(str(r["instrument"]), str(r["vowel"]), str(r["formant"])) for r in tables[0]] if tables else []
    found = [{(str(r["instrument"]), str(r["vowel"]), str(r["formant"])): r["verdict"] for r in t} for t in tables]
    rows = []
    for key in keys:
        verdicts = [f.get(key, "") for f in found]
        n_support = sum(v == SUPPORT for v in verdicts)
        rows.append(
            {
                "instrument": key[0],
                "vowel": key[1],
                "formant": key[2],
                "verdict": verdicts[0],
                "n_runs": len(verdicts),
                "n_support": n_support,
                "recurs": int(n_support > len(verdicts) / 2),
            }
        )
    return rows


def replicate_seed_list(text: str) -> list[int]:
    """The seeds of ``cam.replicate_seeds`` (a comma list); ConfigError naming the setting otherwise."""
    from ..errors import ConfigError

    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"cam.replicate_seeds: {text!r} is not a comma list of integers (e.g. 1,2)") from None


def write_recurrence(
    run_dir: Path, settings: Any, seeds: Sequence[int], device: str, progress: ProgressCallback | None = None
) -> list[Path]:
    """The explain stage's replication: the replicates of ``seeds`` (``cam.replicate_seeds`` as planned by
    :func:`vowelcam.explain.evidence.plan.plan_evidence`) and ``recurrence.csv``."""
    from .maps.instruments import instrument_list
    from .verdict_stage import auto_instruments

    instruments = instrument_list(settings.instruments, auto_instruments(settings))
    replicate(run_dir, seeds, instruments, device, progress)
    return [Path(run_dir) / RECURRENCE_FILE]
