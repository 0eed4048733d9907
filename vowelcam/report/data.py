"""Everything the report needs from a run directory, loaded and checked in one place.

Only ``vowelcam-run.json`` (the version stamp) and ``tokens.csv`` are required. Every later stage's output is
optional: a part that is absent is ``None`` and named in :attr:`ReportData.missing` with the command that makes it,
so the report can say "not computed" instead of failing. A part that is present but malformed (missing columns,
unreadable) is an error naming the file: a report must not silently drop what a run did compute.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .. import rundir
from ..acoustics.store import SpectrogramStore
from ..checks.checksums import verify
from ..config import Settings, load_settings, tomllib
from ..errors import ConfigError, RunDirError
from ..explain.evidence.plan import read_plan
from ..explain.maps.store import REMEDY, check_map_array
from ..rundir import RunDir, read_csv
from ..tokens import read_tokens

log = logging.getLogger(__name__)

TOKEN_REQUIRED = ["token_id", "file", "speaker", "phone", "kind", "start", "end"]
PREDICTION_REQUIRED = ["token_id", "true", "predicted", "prob_true", "prob_predicted", "split", "correct"]
AGREEMENT_REQUIRED = ["vowel", "n", "n_correct", "accuracy"]
FAITHFULNESS_REQUIRED = ["test", "condition", "metric", "value", "ci_lo", "ci_hi", "n"]
METRICS_REQUIRED = ["epoch", "fold", "val_acc"]
CAM_INDEX_REQUIRED = ["token_id", "row", "true", "predicted"]
MODEL_FORMAT = "vowelcam-model"


@dataclass
class CamData:
    """``cams/``: per-token maps on the spectrogram grid, memory-mapped (never loaded whole)."""

    meta: dict[str, Any]
    freqs: np.ndarray  # [F] Hz of each map row
    index: list[dict[str, str]]
    true_maps: np.ndarray  # [N, F, T] float32 (memory map)
    pred_maps: Optional[np.ndarray]
    row_of: dict[str, int] = field(default_factory=dict)
    controls: dict[str, np.ndarray] = field(default_factory=dict)  # cams/controls.npz: baseline profiles [N, F]

    @property
    def hz_per_row(self) -> float:
        """The CAM layer's resolution in Hz per row (from meta.json; the grid step when absent)."""
        value = self.meta.get("hz_per_row")
        if isinstance(value, (int, float)):
            return float(value)
        return float(self.freqs[1] - self.freqs[0]) if len(self.freqs) > 1 else float("nan")


@dataclass
class ReportData:
    """A run directory's contents as the report sees them (optional parts may be None)."""

    run: RunDir
    settings: Settings
    config: dict[str, Any]  # config.toml as written (provenance block included)
    tokens: list[dict[str, Any]]
    problems: Optional[list[dict[str, str]]] = None
    predictions: Optional[list[dict[str, str]]] = None
    metrics: Optional[list[dict[str, str]]] = None
    model: Optional[dict[str, Any]] = None  # model.pt metadata, weights left out
    cams: Optional[CamData] = None
    bands: Optional[list[dict[str, str]]] = None
    agreement: Optional[list[dict[str, str]]] = None
    faithfulness: Optional[list[dict[str, str]]] = None
    verdicts: Optional[list[dict[str, str]]] = None  # verdicts.csv (calibrated verdicts per instrument)
    causal_summary: Optional[list[dict[str, str]]] = None
    causal_verdicts: Optional[list[dict[str, str]]] = None  # causal_verdicts.csv (moves against the F4 sham)
    recurrence: Optional[list[dict[str, str]]] = None  # recurrence.csv (verdicts over training seeds)
    evidence_plan: Optional[dict[str, Any]] = None  # evidence_plan.json: what cam ran beyond the maps, why not
    store: Optional[SpectrogramStore] = None
    missing: dict[str, str] = field(default_factory=dict)  # part -> why it is absent and what makes it
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {t["token_id"]: t for t in self.tokens}


def load_report_data(run_dir: str | Path) -> ReportData:
    """Load and validate everything the report reads from ``run_dir``.

    Raises :class:`RunDirError` for a folder that is not a vowelcam run directory of this format version, or
    whose files are malformed.
    """
    run = RunDir(run_dir)
    check_run_dir(run)
    settings, config = _read_config(run)
    data = ReportData(run=run, settings=settings, config=config, tokens=_read_tokens(run))
    data.problems = _optional_csv(data, rundir.PROBLEMS, ["path", "reason"], "`vowelcam extract`")
    data.predictions = _optional_csv(data, rundir.PREDICTIONS, PREDICTION_REQUIRED, "`vowelcam train`")
    data.metrics = _optional_csv(data, rundir.METRICS, METRICS_REQUIRED, "`vowelcam train`")
    data.bands = _optional_csv(data, rundir.BANDS, ["token_id"], "`vowelcam cam`")
    data.agreement = _optional_csv(data, rundir.AGREEMENT, AGREEMENT_REQUIRED, "`vowelcam cam`")
    data.faithfulness = _optional_csv(data, rundir.FAITHFULNESS, FAITHFULNESS_REQUIRED, "`vowelcam cam`")
    data.verdicts = _optional_csv(data, "verdicts.csv", ["instrument", "vowel", "formant", "verdict"], "`vowelcam cam`")
    data.causal_summary = _optional_csv(data, "causal_summary.csv", ["test", "condition", "metric"], "`cam --causal`")
    data.causal_verdicts = _optional_csv(data, "causal_verdicts.csv", ["vowel", "formant", "verdict"], "`cam --causal`")
    data.recurrence = _optional_csv(
        data, "recurrence.csv", ["instrument", "vowel", "formant", "n_runs", "n_support"], "`cam --replicate-seeds`"
    )
    data.evidence_plan = read_plan(run.root)
    data.model = _read_model_meta(data)
    data.cams = _read_cams(data)
    data.store = _read_store(data)
    return data


def check_run_dir(run: RunDir) -> None:
    """Refuse a folder that is not a run directory, or one written by another format version."""
    if not run.root.is_dir():
        raise RunDirError(f"{run.root}: no such run directory")
    version = run.format_version()
    if version is None:
        raise RunDirError(
            f"{run.root}: not a vowelcam run directory (no readable {rundir.STAMP}); "
            "make one with `vowelcam analyze` or `vowelcam extract`"
        )
    if version != rundir.FORMAT_VERSION:
        raise RunDirError(
            f"{run.path(rundir.STAMP)}: run directory format version {version}, but this vowelcam reads version "
            f"{rundir.FORMAT_VERSION}; re-run `vowelcam analyze` with this version (or use the vowelcam that made it)"
        )


def _read_config(run: RunDir) -> tuple[Settings, dict[str, Any]]:
    path = run.path(rundir.CONFIG)
    if not path.exists():
        log.warning("%s: no config.toml; the methods appendix shows default settings", path)
        return Settings(), {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read the run's settings ({exc})") from None
    try:
        return load_settings(path), raw
    except ConfigError as exc:  # e.g. a setting this version does not know: show the file, use defaults
        log.warning("%s: %s; the report uses default report/cam settings and shows the file as written", path, exc)
        return Settings(), raw


def _read_tokens(run: RunDir) -> list[dict[str, Any]]:
    path = run.path(rundir.TOKENS)
    if not path.exists():
        raise RunDirError(f"{path}: not found; the report needs at least the tokens (run `vowelcam extract`)")
    _check_columns(path, TOKEN_REQUIRED)
    return read_tokens(path)


def _optional_csv(data: ReportData, name: str, required: Iterable[str], maker: str) -> Optional[list[dict[str, str]]]:
    path = data.run.path(name)
    if not path.exists():
        data.missing[name] = f"{name} absent; made by {maker}"
        return None
    _check_columns(path, required)
    return read_csv(path)


def _check_columns(path: Path, required: Iterable[str]) -> None:
    try:
        with open(path, encoding="utf-8") as fh:
            header = fh.readline().strip().split(",")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read ({exc})") from None
    lacking = [c for c in required if c not in header]
    if lacking:
        raise RunDirError(f"{path}: missing column(s) {', '.join(lacking)}; written by another vowelcam version?")


def _read_model_meta(data: ReportData) -> Optional[dict[str, Any]]:
    path = data.run.path(rundir.MODEL)
    if not path.exists():
        data.missing[rundir.MODEL] = "no model/model.pt; made by `vowelcam train`"
        return None
    import torch  # deferred: only a report with a model pays for it

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a foreign pickle
        raise RunDirError(f"{path}: not a loadable vowelcam model ({type(exc).__name__}: {exc})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != MODEL_FORMAT:
        raise RunDirError(f"{path}: not a vowelcam model (no format = {MODEL_FORMAT!r})")
    return {k: v for k, v in checkpoint.items() if k != "state_dict" and not isinstance(v, torch.Tensor)}


def _read_cams(data: ReportData) -> Optional[CamData]:
    folder = data.run.path(rundir.CAMS)
    meta_path, index_path, true_path = folder / "meta.json", folder / "index.csv", folder / "true.npy"
    if not (meta_path.exists() and index_path.exists() and true_path.exists()):
        data.missing[rundir.CAMS] = "no cams/; made by `vowelcam cam`"
        return None
    _check_columns(index_path, CAM_INDEX_REQUIRED)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        true_maps = np.load(true_path, mmap_mode="r")
        pred_path = folder / "pred.npy"
        pred_maps = np.load(pred_path, mmap_mode="r") if pred_path.exists() else None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{folder}: cannot read the CAMs ({exc})") from None
    check_map_array(true_path, true_maps)
    if pred_maps is not None:
        check_map_array(pred_path, pred_maps)
    index = read_csv(index_path)
    freqs = np.asarray(meta.get("freqs", []), dtype=float)
    if true_maps.ndim != 3 or len(freqs) != true_maps.shape[1]:
        raise RunDirError(
            f"{true_path}: maps of shape {true_maps.shape} do not match {len(freqs)} frequencies in meta.json"
        )
    if len(index) != true_maps.shape[0]:
        raise RunDirError(f"{index_path}: {len(index)} rows but {true_maps.shape[0]} maps in true.npy")
    row_of = {r["token_id"]: int(r["row"]) for r in index}
    return CamData(
        meta=meta,
        freqs=freqs,
        index=index,
        true_maps=true_maps,
        pred_maps=pred_maps,
        row_of=row_of,
        controls=_read_controls(folder / "controls.npz", len(index), len(freqs)),
    )


def _read_controls(path: Path, n: int, n_freqs: int) -> dict[str, np.ndarray]:
    """The baseline profiles the cam stage wrote (empty when absent; an error when they do not fit the maps)."""
    if not path.exists():
        return {}
    verify(path, REMEDY)
    try:
        with np.load(path) as npz:
            arrays = {name: np.asarray(npz[name], dtype=np.float64) for name in npz.files}
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: cannot read the baseline profiles ({exc})") from None
    for name, arr in arrays.items():
        if arr.shape != (n, n_freqs):
            raise RunDirError(f"{path}: {name} profiles of shape {arr.shape}, but the maps are {n} x {n_freqs}")
    return arrays


def _read_store(data: ReportData) -> Optional[SpectrogramStore]:
    folder = data.run.path(rundir.SPECTROGRAMS)
    if not (folder / "meta.json").exists():
        data.missing[rundir.SPECTROGRAMS] = (
            "no spectrograms/ (cards drawn without spectrograms); made by `vowelcam extract`"
        )
        return None
    return SpectrogramStore(folder)
