"""The verdict pass of the explain stage: every instrument read the same way on the run's held-out tokens, each
verdict gated by the instrument's calibration (``readings.csv``, ``verdicts.csv``, ``calibration_row.json``).

For each instrument (:mod:`vowelcam.explain.maps.instruments`): evidence profiles of the held-out tokens, each
from the model (fold) that held it out; contrast-region readings with their controls; one verdict per vowel x
formant cell, Holm-corrected over the instrument's table. An instrument whose calibration row
(:mod:`vowelcam.explain.readings.calibration`) shows a false cue, or that has no row, keeps its readings but its
verdicts are withheld (``verdict`` = ``withheld``, the reason in ``note``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import rundir
from ..progress import ProgressCallback, report
from .context import fold_of
from .maps.instruments import INSTRUMENTS, instrument_list, parse_instrument
from .readings import instrument_pass as passes
from .readings.calibration import CALIBRATED, gate_verdicts, load_calibration
from .readings.verdicts import VERDICT_COLUMNS

log = logging.getLogger(__name__)

READINGS_FILE = "readings.csv"
VERDICTS_FILE = "verdicts.csv"
VERDICT_FILE_COLUMNS = ["instrument", *VERDICT_COLUMNS, "calibration", "note"]


@dataclass
class VerdictResult:
    """What the verdict pass found, per instrument."""

    readings: dict[str, list[dict[str, Any]]]
    verdicts: dict[str, list[dict[str, Any]]]


def run_verdicts(
    run_dir: str | Path,
    instruments: Sequence[str],
    device: str = "cpu",
    seed: int = 0,
    write: bool = True,
    progress: ProgressCallback | None = None,
) -> VerdictResult:
    """Read the run's held-out tokens with every instrument and write ``readings.csv`` and ``verdicts.csv``."""
    from ..acoustics.store import SpectrogramStore
    from ..learn.models import feature_layers, load_model
    from .maps.resolution import measure_layers

    run = rundir.RunDir(run_dir)
    tokens = {t["token_id"]: t for t in rundir.read_csv(run.path(rundir.TOKENS))}
    preds = [p for p in rundir.read_csv(run.path(rundir.PREDICTIONS)) if p.get("split") == "test"]
    model, info = load_model(run.path(rundir.MODEL), device)
    models = _fold_models(run, preds, model, device)
    store = SpectrogramStore(run.path(rundir.SPECTROGRAMS))
    freqs = store.freqs[: store.n_rows(info.max_freq)]
    rows = [tokens[p["token_id"]] for p in preds]
    specs = store.get_many([(t["spec_shard"], t["spec_row"]) for t in rows], max_freq=info.max_freq)
    x = info.prepare(specs)
    hz = float(freqs[1] - freqs[0])
    folds = [fold_of(p) for p in preds]
    data = passes.held_out_inputs(preds, tokens, info.labels, specs, x, freqs, hz, folds)
    data = passes.model_decisions(data, lambda f: models[f])
    spread = measure_layers(
        model, feature_layers(model), x[:24].to(device), hz, float(store.settings.get("hop_ms", 10.0))
    )
    point_spread = {name: s.point_spread_hz for name, s in spread.items()}
    grid_for = _grids(freqs, specs.shape[-1], info)
    calibration = load_calibration()
    result = VerdictResult({}, {})
    for i, name in enumerate(instruments):
        inst = parse_instrument(name)
        profiles, mass = passes.evidence(inst, data, lambda f: models[f], grid_for)
        readings = passes.read_instrument(
            inst, data, profiles, mass, passes.halfwidth_for(inst, point_spread), list(tokens.values())
        )
        verdicts = gate_verdicts(inst.name, passes.instrument_verdicts(inst, readings, seed), calibration)
        result.readings[inst.name], result.verdicts[inst.name] = readings, verdicts
        report(progress, "verdicts", i + 1, len(instruments), inst.name)
    if write:
        _write(run, result)
    return result


def _fold_models(
    run: rundir.RunDir, preds: Sequence[Mapping[str, Any]], model, device: str
) -> dict[int, torch.nn.Module]:
    from ..learn.models import load_model

    folds = sorted({fold_of(p) for p in preds})
    if len(folds) <= 1:
        return {f: model for f in folds}
    return {f: load_model(run.path(rundir.MODEL_DIR) / f"fold-{f}.pt", device)[0] for f in folds}


def _grids(freqs: np.ndarray, n_frames: int, info: Any):
    from .maps.cam import layer_grid

    cache: dict[tuple[int, str], Any] = {}
    pool = tuple(getattr(info, "input_pool", None) or (1, 1))

    def grid_for(model: torch.nn.Module, layer: str):
        key = (id(model), layer)
        if key not in cache:
            cache[key] = layer_grid(
                model, getattr(model, layer), layer, freqs, n_frames, info.hz_per_row.get(layer), pool
            )
        return cache[key]

    return grid_for


def _write(run: rundir.RunDir, result: VerdictResult) -> None:
    readings = [row for rows in result.readings.values() for row in rows]
    verdicts = [row for rows in result.verdicts.values() for row in rows]
    rundir.write_csv(run.path(READINGS_FILE), readings, passes.readings_header())
    rundir.write_csv(run.path(VERDICTS_FILE), verdicts, VERDICT_FILE_COLUMNS)


def auto_instruments(settings: Any) -> list[str]:
    """What ``cam.instruments = "auto"`` reads: every instrument the shipped calibration calls calibrated and that
    found at least one cue there, and the run's own CAM method at its layer beside them (the maps the report draws),
    so page 1 can say whether they agree."""
    records = load_calibration()
    calibrated = [
        name for name in INSTRUMENTS if name in records and records[name].status == CALIBRATED and records[name].hits
    ]
    own = f"{settings.method}@{settings.layer or 'layer4'}"
    return list(dict.fromkeys([*calibrated, own]))


def write_verdicts(run: rundir.RunDir, settings: Any, device: str, progress: ProgressCallback | None) -> list[Path]:
    """The explain stage's verdict pass (``cam.verdicts``): readings.csv and verdicts.csv of the held-out tokens, or
    nothing (with a log line) when the run has no held-out tokens."""
    if not any(p.get("split") == "test" for p in rundir.iter_csv(run.path(rundir.PREDICTIONS))):
        log.info("verdicts: no held-out tokens in predictions.csv, nothing to read")
        return []
    run_verdicts(
        run.root,
        instrument_list(settings.instruments, auto_instruments(settings)),
        device,
        settings.seed,
        True,
        progress,
    )
    return [run.path(READINGS_FILE), run.path(VERDICTS_FILE)]
