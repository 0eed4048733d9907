"""The explain stage over a run directory (``vowelcam cam RUN_DIR``): CAMs, band metrics, agreement, confusions,
the method tables and the evidence tests.

:func:`explain_run` loads the :class:`~vowelcam.explain.context.ExplainContext` (re-exported here), measures each
layer's resolution, streams the maps through :mod:`.map_pass`, then (rank 0) writes the tables here, the method
tables (:mod:`.method_tables`) and the evidence (:mod:`.evidence_stage`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import rundir
from ..checks.checksums import write_checksum
from ..config import CamSettings
from ..corpus.published_formants import load_reference
from ..learn.device import eval_batch_size, resolve_device
from ..learn.distributed import barrier, from_env, process_group
from ..parallel import Runner
from ..progress import ProgressCallback
from .context import ExplainContext, fold_of, load_context, select_tokens
from .evidence.plan import EvidencePlan, plan_evidence, write_plan
from .evidence_stage import check_settings, write_causal, write_faithfulness
from .map_pass import CamPass, map_pass
from .map_tasks import shipped_batches
from .maps.methods import get_method
from .maps.store import INDEX_COLUMNS
from .method_tables import measure_resolution, write_method_tables
from .readings.agreement import AGREEMENT_COLUMNS, CONFUSION_COLUMNS, agreement_table, confusion_table
from .readings.agreement_tidy import TIDY_COLUMNS, TIDY_FILE, tidy_rows
from .readings.bands import BAND_METRIC_COLUMNS
from .readings.controls import CONTROL_COLUMNS, PEAK_FORMANT_COLUMNS, Controls, envelope_matrix, null_partners
from .replication import write_recurrence
from .verdict_stage import write_verdicts

__all__ = ["CamSummary", "ExplainContext", "explain_run", "select_tokens"]

log = logging.getLogger(__name__)

CONFUSIONS = "confusions.csv"
BANDS_PRED = "bands_pred.csv"
CPU_BATCH = 32  # CAM batch on a CPU when the settings leave it at 0 (CUDA: accel.CUDA_EVAL_BATCH)
CONTROL_PROFILES = "controls.npz"  # in cams/: energy and envelope profiles [N, F], rows as in index.csv
TOKEN_INFO_COLUMNS = [
    "token_id",
    "file",
    "speaker",
    "group",
    "vowel",
    "predicted",
    "correct",
    "split",
    "method",
    "layer",
    "hz_per_row",
    "frame_start",
    "frame_end",
]
BANDS_COLUMNS = TOKEN_INFO_COLUMNS + BAND_METRIC_COLUMNS + PEAK_FORMANT_COLUMNS
BANDS_TRUE_COLUMNS = BANDS_COLUMNS + CONTROL_COLUMNS  # bands.csv: the true-class maps beside their controls


@dataclass
class CamSummary:
    """What ``explain_run`` did, for the CLI and the pipeline."""

    method: str
    layer: str
    hz_per_row: float
    n_tokens: int
    accuracy: float
    n_no_formants: int
    n_no_reference: int
    norm_scale: float
    agreement: list[dict[str, Any]]
    faithfulness: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


def explain_run(
    run_dir: str | Path,
    settings: CamSettings | None = None,
    device: str = "auto",
    progress: ProgressCallback | None = None,
    runner: Runner | None = None,
) -> CamSummary:
    """Compute CAMs for the run's test (or all) tokens; write cams/, bands.csv, bands_pred.csv, agreement.csv,
    confusions.csv and faithfulness.csv. Bad input raises RunDirError, ModelError or ConfigError subclasses.

    ``runner`` (a Dask cluster whose workers see the run directory at the same path): the map pass's batches run
    on its workers, on their CPUs (:mod:`.map_tasks`); everything after it (method tables, evidence tests,
    verdicts, replicates) runs here, as without it."""
    settings = settings or CamSettings()
    method = get_method(settings.method).name
    reference = load_reference(settings.reference)
    check_settings(settings)
    run = rundir.RunDir(run_dir)
    chosen, tokens = select_tokens(run, settings.tokens)
    plan = plan_evidence(settings, run.root, [tokens[p["token_id"]] for p in chosen])
    folds = sorted({fold_of(p) for p in chosen})
    device = str(from_env().device(resolve_device(device)))  # auto: CUDA when there; under torchrun: this rank's GPU
    batch_device = torch.device("cpu" if runner is not None else device)  # where the map pass's batches run
    settings = replace(settings, batch_size=eval_batch_size(settings.batch_size, CPU_BATCH, batch_device))
    ctx = load_context(run, settings, method, device, folds)
    ctx.controls = Controls(
        torch.from_numpy(envelope_matrix(len(ctx.freqs), ctx.grid.input_hz_per_row)),
        null_partners([tokens[p["token_id"]] for p in chosen], list(tokens.values()), settings.seed),
    )
    ctx.resolution = measure_resolution(ctx, chosen, tokens)
    log.info("%s at %s: %.4g Hz per CAM row, %d tokens", method, ctx.grid.layer, ctx.grid.hz_per_row, len(chosen))
    if get_method(method).cost_note:
        log.warning(get_method(method).cost_note, ctx.grid.layer)
    with process_group(torch.device(ctx.device)) as place:
        shipped = None
        if runner is not None:
            shipped = partial(shipped_batches, runner, run, ctx, chosen, tokens, reference, settings, folds)
        result = map_pass(run, ctx, chosen, tokens, reference, settings, folds, progress, place, shipped)
        if not place.is_main:  # under torchrun: rank 0 writes the tables and runs the faithfulness tests
            barrier(place)
            return CamSummary(method, ctx.grid.layer, ctx.grid.hz_per_row, len(chosen), float("nan"), 0, 0, 1.0, [])
        summary = _finish(run, ctx, chosen, tokens, result, settings, plan, method, progress)
        barrier(place)
    return summary


def _finish(
    run: rundir.RunDir,
    ctx: ExplainContext,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    result: CamPass,
    settings: CamSettings,
    plan: EvidencePlan,
    method: str,
    progress: ProgressCallback | None,
) -> CamSummary:
    """Rank 0's part: tables, faithfulness, causal and replication tests as planned, and the summary."""
    outputs, agreement = _write_tables(run, result, ctx, settings)
    outputs.append(write_plan(run.root, plan))
    outputs += write_method_tables(run, ctx, chosen, tokens, result.band_rows.get("contrast", []), settings)
    faith = write_faithfulness(run, ctx, chosen, tokens, result.faith_idx, result.faith_specs, settings, progress)
    if faith:
        outputs.append(run.path(rundir.FAITHFULNESS))
    if plan.causal:
        outputs += write_causal(run, ctx, chosen, tokens, settings, Path(plan.corpus), progress)
    if settings.verdicts:
        outputs += write_verdicts(run, settings, ctx.device, progress)
    if settings.verdicts and plan.replicate_seeds:
        outputs += write_recurrence(run.root, settings, plan.replicate_seeds, ctx.device, progress)
    true_rows = result.band_rows["true"]
    return CamSummary(
        method,
        ctx.grid.layer,
        ctx.grid.hz_per_row,
        len(chosen),
        float(np.mean([r["correct"] for r in true_rows])),
        sum(int(r["n_formants_measured"]) == 0 for r in true_rows),
        sum(int(r["has_reference"]) == 0 for r in true_rows),
        result.norm_scale,
        [r for r in agreement if r["subset"] == "all"],
        faith,
        [run.path(rundir.CAMS), *outputs],
    )


def _write_tables(
    run: rundir.RunDir, result: CamPass, ctx: ExplainContext, settings: CamSettings
) -> tuple[list[Path], list[dict[str, Any]]]:
    """cams/index.csv, bands.csv, bands_pred.csv, agreement.csv (and its tidy form), confusions.csv."""
    true_rows = result.band_rows["true"]
    index = [{**r, "row": i, "true": r["vowel"]} for i, r in enumerate(true_rows)]
    rundir.write_csv(run.path(rundir.CAMS) / "index.csv", index, INDEX_COLUMNS)
    rundir.write_csv(run.path(rundir.BANDS), true_rows, BANDS_TRUE_COLUMNS)
    rundir.write_csv(run.path(BANDS_PRED), result.band_rows["pred"], BANDS_COLUMNS)
    _write_control_profiles(run, result)
    hz = {"hz_per_row": ctx.grid.hz_per_row}
    agreement = agreement_table(true_rows, settings.bootstrap, settings.seed)
    rundir.write_csv(run.path(rundir.AGREEMENT), [{**r, **hz} for r in agreement], AGREEMENT_COLUMNS + ["hz_per_row"])
    tidy = tidy_rows(agreement, f"{ctx.method}@{ctx.grid.layer}")
    rundir.write_csv(run.path(TIDY_FILE), [{**r, **hz} for r in tidy], TIDY_COLUMNS + ["hz_per_row"])
    confusions = confusion_table(
        true_rows, result.band_rows["pred"], result.profiles["true"], result.profiles["pred"], ctx.freqs
    )
    rundir.write_csv(run.path(CONFUSIONS), [{**r, **hz} for r in confusions], CONFUSION_COLUMNS + ["hz_per_row"])
    return [run.path(n) for n in (rundir.BANDS, BANDS_PRED, rundir.AGREEMENT, TIDY_FILE, CONFUSIONS)], agreement


def _write_control_profiles(run: rundir.RunDir, result: CamPass) -> None:
    """cams/controls.npz: the energy and envelope profiles of every token (rows as in cams/index.csv), for the
    report's profile figure."""
    arrays = {
        name: result.profiles[name].astype(np.float32) for name in ("energy", "envelope") if name in result.profiles
    }
    if arrays:
        target = run.path(rundir.CAMS) / CONTROL_PROFILES
        with rundir.atomic_path(target, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
            write_checksum(tmp, target)
