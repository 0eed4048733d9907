"""``RUN/stages.json``: what each stage read and wrote, so that "up to date" means up to date.

For each stage (``train``, ``cam``, ``report``) the record holds its key and the state (size, mtime, SHA-256) of
every file it wrote. The key is a hash of the stage's resolved settings, the code version and the content of
its inputs (for ``train`` the tokens and spectrograms, with ``--model`` the model's bytes; for ``cam`` also the
model and predictions; for ``report`` every file of the run outside ``report/``). A stage is up to date when
its key is the one recorded, every file it promises exists, and every file it recorded is unchanged:
a deleted ``report.pdf``, a replaced model or maps written by ``vowelcam cam`` with other settings all make it
stale. Recording a stage drops the records of the stages after it, which must then be redone.

Records are written by whoever runs a stage: ``analyze``, the stage commands (``vowelcam cam RUN``) and the
API (:func:`run_stage`). A ``stages.json`` of an older version holds no records: its stages are redone once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import rundir
from .._version import __version__
from .files import ALWAYS_HASHED, FileState, file_state, sha256_file, states, walk
from .lock import LOCK_NAME, run_lock

STAGES_FILE = "stages.json"
ORDER = ("train", "cam", "report")
CAM_OUTPUTS = (
    rundir.CAMS,
    rundir.BANDS,
    "bands_pred.csv",
    rundir.AGREEMENT,
    "confusions.csv",
    rundir.FAITHFULNESS,
    "discrimination.csv",
    "contrastive.csv",
    "readings.csv",
    "verdicts.csv",
    "causal.csv",
    "causal_summary.csv",
)
OUTPUTS = {"train": (rundir.MODEL_DIR, rundir.PREDICTIONS), "cam": CAM_OUTPUTS, "report": (rundir.REPORT_DIR,)}
REQUIRED = {
    "train": (rundir.MODEL, rundir.PREDICTIONS),
    "cam": (f"{rundir.CAMS}/meta.json", rundir.BANDS, rundir.AGREEMENT),
    "report": (f"{rundir.REPORT_DIR}/report.html",),
}
INPUTS = {
    "train": (rundir.TOKENS, rundir.SPECTROGRAMS),
    "cam": (rundir.TOKENS, rundir.SPECTROGRAMS, rundir.MODEL_DIR, rundir.PREDICTIONS),
}
NOT_INPUTS = (rundir.REPORT_DIR, "show", "textgrids", STAGES_FILE, LOCK_NAME)  # the report reads all else

T = TypeVar("T")


@dataclass
class StageCheck:
    """A stage's key over its settings and the inputs as they are now, and whether its outputs are current."""

    name: str
    key: str
    config: dict[str, Any]
    inputs: dict[str, FileState] = field(default_factory=dict)
    up_to_date: bool = False
    reason: str = ""


def train_config(train: Mapping[str, Any]) -> dict[str, Any]:
    """The train stage's settings (a ``[train]`` section as a dict) with the content of a ``weights`` file."""
    config: dict[str, Any] = {"train": dict(train)}
    if train.get("weights"):
        config["weights_sha256"] = _sha_or_missing(Path(train["weights"]))
    return config


def predict_config(model: str | Path) -> dict[str, Any]:
    """The train stage's settings when a given model scores the run (``analyze --model``): the model's bytes."""
    return {"model_sha256": _sha_or_missing(Path(model))}


def _sha_or_missing(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return "missing"


def read_records(root: str | Path) -> dict[str, dict[str, Any]]:
    """The stage records of ``stages.json`` (none when absent, unreadable or of an older format)."""
    try:
        data = json.loads((Path(root) / STAGES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {name: rec for name, rec in data.items() if isinstance(rec, dict) and "key" in rec}


def _known(records: Mapping[str, dict[str, Any]]) -> dict[str, FileState]:
    """Every file state the records hold (their hashes are reused for unchanged files)."""
    known: dict[str, FileState] = {}
    for rec in records.values():
        for part in ("inputs", "outputs"):
            for rel, value in rec.get(part, {}).items():
                state = FileState.from_list(value)
                if state is not None:
                    known[rel] = state
    return known


def _input_names(root: Path, name: str) -> list[str]:
    if name in INPUTS:
        return list(walk(root, INPUTS[name]))
    return list(walk(root, sorted(p.name for p in root.iterdir()) if root.is_dir() else [], skip=NOT_INPUTS))


def check_stage(root: str | Path, name: str, config: Mapping[str, Any]) -> StageCheck:
    """The key of stage ``name`` with ``config`` over its inputs now, and whether its recorded outputs are current
    (``reason`` says why not)."""
    root = Path(root)
    records = read_records(root)
    inputs = states(root, _input_names(root, name), _known(records))
    blob = {
        "stage": name,
        "config": config,
        "code": __version__,
        "inputs": {rel: s.sha256 for rel, s in inputs.items()},
    }
    key = hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:32]
    check = StageCheck(name, key, dict(config), inputs)
    check.reason = _stale_reason(root, name, key, records.get(name))
    check.up_to_date = not check.reason
    return check


def _stale_reason(root: Path, name: str, key: str, record: dict[str, Any] | None) -> str:
    """Why the stage must run again ('' when up to date)."""
    if record is None:
        return "not run yet"
    if record.get("key") != key:
        return "its settings or inputs changed"
    for rel in REQUIRED[name]:
        if not (root / rel).is_file():
            return f"{rel} is missing"
    for rel, value in record.get("outputs", {}).items():
        recorded = FileState.from_list(value)
        now = file_state(root / rel, None if rel.endswith(ALWAYS_HASHED) else recorded)
        if now is None:
            return f"{rel} is missing"
        if recorded is None or now.sha256 != recorded.sha256:
            return f"{rel} changed since the stage wrote it"
    return ""


def record_stage(root: str | Path, check: StageCheck) -> None:
    """Record that ``check``'s stage ran on the inputs it was checked with, with the outputs it has now; the
    records of the stages after it are dropped (they are stale)."""
    root = Path(root)
    records = read_records(root)
    known = _known(records)
    outputs = states(root, walk(root, OUTPUTS[check.name]), known)
    records[check.name] = {
        "key": check.key,
        "code": __version__,
        "config": check.config,
        "inputs": {rel: s.as_list() for rel, s in check.inputs.items()},
        "outputs": {rel: s.as_list() for rel, s in outputs.items()},
    }
    for later in ORDER[ORDER.index(check.name) + 1 :]:
        records.pop(later, None)
    write_records(root, records)


def write_records(root: str | Path, records: Mapping[str, dict[str, Any]]) -> None:
    """Write ``stages.json`` atomically."""
    rundir.atomic_write_text(Path(root) / STAGES_FILE, json.dumps(records, indent=1, sort_keys=True, default=str))


def forget_stages(root: str | Path, first: str) -> None:
    """Drop the records of stage ``first`` and every stage after it."""
    records = read_records(root)
    if any(n in records for n in ORDER[ORDER.index(first) :]):
        write_records(root, {n: r for n, r in records.items() if n not in ORDER[ORDER.index(first) :]})


def run_stage(
    root: str | Path,
    name: str,
    config: Mapping[str, Any],
    action: Callable[[], T],
    *,
    record: bool = True,
    wait: bool = False,
    on_wait: Callable[[dict], None] | None = None,
) -> T:
    """Run one stage alone (``vowelcam cam RUN``, ``vowelcam.train(RUN)``) holding the run's lock, and record it.

    Under ``torchrun`` only rank 0 records; ``record=False`` runs without a record (a report written elsewhere).
    """
    if int(os.environ.get("RANK", "0")) != 0:
        return action()
    with run_lock(root, name, wait=wait, on_wait=on_wait):
        check = check_stage(root, name, config)
        result = action()
        if record:
            record_stage(root, check)
    return result
