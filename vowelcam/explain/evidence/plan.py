"""What the ``cam`` stage runs beyond the maps, decided before it starts and recorded in ``RUN/evidence_plan.json``.

Two tests are costly or need more than the run directory, and both speak only where a verdict can: behind every
verdict stand at least :data:`~vowelcam.explain.readings.speaker_tests.MIN_SPEAKERS` speakers (recordings in a
one-speaker corpus), so with fewer held-out ones ``auto`` runs neither and says why.

- the **causal formant test** needs the corpus audio. ``cam.causal = "auto"`` (the default) runs it whenever the
  audio is reachable: the ``cam.causal_corpus`` folder, else the corpus ``extract`` recorded in ``sources.json``
  (so ``analyze`` always has it). ``"on"`` insists (a missing folder is a :class:`ConfigError`), ``"off"`` skips.
- **replicates** retrain the network. ``cam.replicate_seeds = "auto"`` (the default) trains two more seeds when
  that is cheap: when twice the run's recorded training time is at most ``cam.replicate_max_seconds``. A comma
  list of seeds always runs; ``""`` never does.

Whatever is not run is said with its reason and the command that runs it (``RUN`` standing for the run directory,
so that the file does not depend on where the run lies); the report prints that sentence. A test
not run this time leaves no file of an earlier pass behind (:func:`remove_stale`), so the report never mixes them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ... import rundir
from ...config import CamSettings
from ...errors import ConfigError
from ...intervals import resampling_clusters
from ..readings.speaker_tests import MIN_SPEAKERS

log = logging.getLogger(__name__)

PLAN_FILE = "evidence_plan.json"
CAUSAL_FILES = ("causal.csv", "causal_summary.csv", "causal_verdicts.csv")
RECURRENCE_FILES = ("recurrence.csv",)
AUTO_REPLICATES = 2  # extra training seeds of cam.replicate_seeds = "auto"


@dataclass(frozen=True)
class EvidencePlan:
    """Whether the causal test and the replicates run, and why not where they do not."""

    causal: bool
    corpus: str = ""
    causal_reason: str = ""  # why the causal test is not run ("" when it runs)
    replicate_seeds: list[int] = field(default_factory=list)
    replicate_reason: str = ""  # why there are no replicates ("" when there are)

    def as_dict(self) -> dict[str, Any]:
        """The plan as written to ``evidence_plan.json``."""
        return asdict(self)


def plan_evidence(settings: CamSettings, run_dir: str | Path, held_out: Sequence[Mapping[str, Any]]) -> EvidencePlan:
    """The causal test's corpus (or why it is skipped) and the replicate seeds (or why there are none);
    ``held_out`` are the token rows the stage explains (their speakers, or recordings, are the verdicts' units)."""
    run = Path(run_dir)
    clusters, unit = resampling_clusters(
        [str(t.get("speaker") or "") for t in held_out], [str(t.get("file") or "") for t in held_out]
    )
    few = len(set(clusters)) < MIN_SPEAKERS
    few_reason = (
        f"the held-out tokens come from {len(set(clusters))} {unit}s and a verdict needs at least {MIN_SPEAKERS}"
    )
    corpus, causal_reason = _causal_corpus(settings, run, held_out)
    if corpus is not None and few and settings.causal == "auto":
        corpus, causal_reason = None, f"Causal formant test not run: {few_reason} (--causal runs it anyway)."
    seeds, replicate_reason = _replicate_seeds(settings, run)
    if seeds and few and settings.replicate_seeds.strip() == "auto":
        seeds, replicate_reason = [], f"Trained once: {few_reason}, so replicates could not count a recurring verdict."
    return EvidencePlan(corpus is not None, str(corpus or ""), causal_reason, seeds, replicate_reason)


def write_plan(run_dir: str | Path, plan: EvidencePlan) -> Path:
    """Record ``plan`` in ``RUN/evidence_plan.json`` and remove the outputs of tests it does not run."""
    path = Path(run_dir) / PLAN_FILE
    rundir.atomic_write_text(path, json.dumps(plan.as_dict(), indent=1))
    if not plan.causal:
        remove_stale(run_dir, CAUSAL_FILES)
    if not plan.replicate_seeds:
        remove_stale(run_dir, RECURRENCE_FILES)
    for reason in (plan.causal_reason, plan.replicate_reason):
        if reason:
            log.warning("%s", reason)
    return path


def read_plan(run_dir: str | Path) -> dict[str, Any] | None:
    """``evidence_plan.json`` of a run, or None when the run has none (a run explained by an older vowelcam)."""
    path = Path(run_dir) / PLAN_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def remove_stale(run_dir: str | Path, names: tuple[str, ...]) -> None:
    """Delete ``names`` in the run directory: the outputs of an earlier pass of a test this pass does not run."""
    for name in names:
        path = Path(run_dir) / name
        if path.exists():
            log.info("%s: removed (from an earlier cam pass that ran a test this one does not)", path)
            path.unlink()


def _causal_corpus(settings: CamSettings, run: Path, held_out: Sequence[Mapping[str, Any]]) -> tuple[Path | None, str]:
    switch = str(settings.causal)
    if switch == "off":
        return None, 'Causal formant test not run: cam.causal = "off".'
    given = settings.causal_corpus or _recorded_corpus(run)
    folder = Path(given).expanduser() if given else None
    if folder is not None and folder.is_dir() and _holds_audio(folder, held_out):
        return folder, ""
    if switch == "on":
        raise ConfigError(
            f"cam.causal_corpus: {given!r} is not a folder holding the run's recordings; the causal test needs "
            "the corpus audio that tokens.csv's file paths are relative to (--causal-corpus)"
        )
    where = f"at {given}" if given else "(the run records no corpus)"
    return None, (
        f"Causal formant test not run: the corpus audio is not reachable {where}; "
        "run: vowelcam cam RUN --causal --causal-corpus DIR."
    )


def _recorded_corpus(run: Path) -> str:
    recorded = rundir.read_sources(run)
    return recorded[0] if recorded else ""


def _holds_audio(folder: Path, held_out: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the first held-out token's recording is under ``folder`` (a cheap check of the right corpus, on the
    rows the stage has already read)."""
    first = str(held_out[0].get("file") or "") if held_out else ""
    return not first or (folder / first).exists()


def _replicate_seeds(settings: CamSettings, run: Path) -> tuple[list[int], str]:
    from ..replication import replicate_seed_list

    text = str(settings.replicate_seeds).strip()
    if text != "auto":
        seeds = replicate_seed_list(text) if text else []
        return seeds, "" if seeds else "Trained once: cam.replicate_seeds is empty, so no replicates."
    seconds, seed = _training_cost(run)
    command = f"vowelcam cam RUN --replicate-seeds {seed + 1},{seed + 2}"
    if seconds is None:
        return (
            [],
            f"Trained once: the run records no training time, so replicates were not judged cheap; run: {command}.",
        )
    cost = AUTO_REPLICATES * seconds
    if cost > settings.replicate_max_seconds:
        return [], (
            f"Trained once: {AUTO_REPLICATES} replicates would take about {cost / 60:.0f} min "
            f"(over cam.replicate_max_seconds = {settings.replicate_max_seconds:g}); run: {command}."
        )
    return [seed + k for k in range(1, AUTO_REPLICATES + 1)], ""


def _training_cost(run: Path) -> tuple[float | None, int]:
    """The run's recorded training time in seconds (None when unknown) and its training seed."""
    from ...learn.train import SUMMARY

    try:
        summary = json.loads((run / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, 0
    seconds = summary.get("seconds")
    seed = int((summary.get("settings") or {}).get("seed", 0) or 0)
    return (float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None), seed
