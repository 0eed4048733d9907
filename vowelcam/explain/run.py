"""The explain stage over a run directory: CAMs, band metrics, agreement, confusions and faithfulness tests."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import rundir
from ..acoustics.store import SpectrogramStore
from ..config import CamSettings
from ..corpus.published_formants import ReferenceTable, load_reference
from ..errors import ConfigError, RunDirError
from ..learn.dataset import describe_input_scaling as describe_norm
from ..learn.device import eval_batch_size, resolve_device
from ..learn.distributed import Dist, barrier, from_env, gather_to_main, process_group, shard_bounds
from ..progress import ProgressCallback, report
from ..tokens import read_tokens
from .agreement import AGREEMENT_COLUMNS, CONFUSION_COLUMNS, agreement_table, confusion_table
from .bands import BAND_METRIC_COLUMNS, BandSpec, frequency_profile, reference_for, token_band_row
from .cam import RELU_METHODS, check_method, compute_cams_with_contrast, layer_grid
from .contrastive import contrast_row
from .controls import (
    CONTROL_COLUMNS,
    PEAK_FORMANT_COLUMNS,
    Controls,
    baseline_maps,
    baseline_profiles,
    control_row,
    envelope_matrix,
    null_partners,
    peak_formant_flags,
)
from .errors import UnknownLayerError
from .faith_stage import causal_subset, check_settings, write_causal, write_faithfulness
from .grid import CamGrid
from .resolution import PointSpread, time_resolution_statement
from .run_methods import band_spec, measure_resolution, ms_per_column, write_method_tables
from .store import INDEX_COLUMNS, CamWriter

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


def _require(run: rundir.RunDir, name: str, stage: str) -> Path:
    path = run.path(name)
    if not path.exists():
        raise RunDirError(f"{path}: missing; run `vowelcam {stage}` first")
    return path


def select_tokens(run: rundir.RunDir, which: str) -> tuple[list[dict[str, str]], dict[str, dict[str, Any]]]:
    """Prediction rows to explain (``test`` split or ``all``) and the token rows by id."""
    if which not in ("test", "all"):
        raise ConfigError(f"cam.tokens must be 'test' or 'all', not {which!r}")
    preds = rundir.read_csv(_require(run, rundir.PREDICTIONS, "train"))
    chosen = [p for p in preds if which == "all" or p.get("split") == "test"]
    if not chosen:
        raise RunDirError(f"{run.path(rundir.PREDICTIONS)}: no {which} tokens to explain")
    tokens = {t["token_id"]: t for t in read_tokens(_require(run, rundir.TOKENS, "extract"))}
    missing = [p["token_id"] for p in chosen if p["token_id"] not in tokens]
    if missing:
        raise RunDirError(
            f"{run.path(rundir.PREDICTIONS)}: token {missing[0]!r} (and {len(missing) - 1} more) not in tokens.csv"
        )
    chosen.sort(key=_fold)  # stable: fold by fold, so each batch is scored by one fold's model
    return chosen, tokens


def _fold(pred: dict[str, str]) -> int:
    return int(float(pred.get("fold") or 0))


@dataclass
class _Context:
    model: torch.nn.Module  # model/model.pt (fold 0 when there are folds)
    info: Any  # vowelcam.learn.models.ModelInfo
    layers: dict[str, torch.nn.Module]
    store: SpectrogramStore
    freqs: np.ndarray
    grid: CamGrid
    method: str
    device: str
    fold_models: dict[int, torch.nn.Module] = field(default_factory=dict)  # model/fold-<k>.pt with k-fold runs
    controls: Controls | None = None  # baselines and null (see vowelcam.explain.controls)
    resolution: dict[str, PointSpread] = field(default_factory=dict)  # measured point spread per layer

    @property
    def layer(self) -> torch.nn.Module:
        return self.layers[self.grid.layer]

    def model_for(self, fold: int) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The network that scored ``fold``'s test tokens, and its CAM layer."""
        if fold not in self.fold_models:
            return self.model, self.layer
        model = self.fold_models[fold]
        return model, getattr(model, self.grid.layer)


@dataclass
class _CamPass:
    band_rows: dict[str, list[dict[str, Any]]]
    profiles: dict[str, np.ndarray]
    faith_specs: np.ndarray
    norm_scale: float


def _load(run: rundir.RunDir, settings: CamSettings, method: str, device: str, folds: list[int]) -> _Context:
    from ..learn.models import check_compatible, feature_layers, load_model

    model_path = _require(run, rundir.MODEL, "train")
    model, info = load_model(model_path, device)
    layers = feature_layers(model)
    name = settings.layer or info.cam_layer
    if name not in layers:
        raise UnknownLayerError(f"unknown CAM layer {name!r}; {model_path} offers {', '.join(layers)}")
    store = SpectrogramStore(_require(run, rundir.SPECTROGRAMS, "extract"))
    check_compatible(info, store.settings, str(model_path))
    freqs = store.freqs[: store.n_rows(info.max_freq)]
    pool = tuple(getattr(info, "input_pool", None) or (1, 1))
    grid = layer_grid(model, layers[name], name, freqs, len(store.times), info.hz_per_row.get(name), pool)
    ctx = _Context(model, info, layers, store, freqs, grid, method, device)
    if len(folds) > 1:  # k-fold: each token's maps from the model that held it out
        for fold in folds:
            path = run.path(rundir.MODEL_DIR) / f"fold-{fold}.pt"
            if not path.exists():
                raise RunDirError(f"{path}: missing; predictions.csv has {len(folds)} folds (re-run `vowelcam train`)")
            ctx.fold_models[fold] = load_model(path, device)[0]
    return ctx


def explain_run(
    run_dir: str | Path,
    settings: CamSettings | None = None,
    device: str = "auto",
    progress: ProgressCallback | None = None,
) -> CamSummary:
    """Compute CAMs for the run's test (or all) tokens; write cams/, bands.csv, bands_pred.csv, agreement.csv,
    confusions.csv and faithfulness.csv. Bad input raises RunDirError, ModelError or ConfigError subclasses."""
    settings = settings or CamSettings()
    method = check_method(settings.method)
    reference = load_reference(settings.reference)
    check_settings(settings)
    run = rundir.RunDir(run_dir)
    chosen, tokens = select_tokens(run, settings.tokens)
    folds = sorted({_fold(p) for p in chosen})
    device = str(from_env().device(resolve_device(device)))  # auto: CUDA when there; under torchrun: this rank's GPU
    settings = replace(settings, batch_size=eval_batch_size(settings.batch_size, CPU_BATCH, torch.device(device)))
    ctx = _load(run, settings, method, device, folds)
    ctx.controls = Controls(
        torch.from_numpy(envelope_matrix(len(ctx.freqs), ctx.grid.input_hz_per_row)),
        null_partners([tokens[p["token_id"]] for p in chosen], list(tokens.values()), settings.seed),
    )
    ctx.resolution = measure_resolution(ctx, chosen, tokens)
    log.info("%s at %s: %.4g Hz per CAM row, %d tokens", method, ctx.grid.layer, ctx.grid.hz_per_row, len(chosen))
    if method == "scorecam":
        log.warning("Score-CAM runs one forward pass per channel of %s per token: slow on a CPU", ctx.grid.layer)
    faith_idx = _faith_subset(chosen, folds, settings)
    with process_group(torch.device(ctx.device)) as place:
        result = _cam_pass(run, ctx, chosen, tokens, reference, settings, faith_idx, progress, place)
        if not place.is_main:  # under torchrun: rank 0 writes the tables and runs the faithfulness tests
            barrier(place)
            return CamSummary(method, ctx.grid.layer, ctx.grid.hz_per_row, len(chosen), float("nan"), 0, 0, 1.0, [])
        summary = _finish(run, ctx, chosen, tokens, faith_idx, result, settings, method, progress)
        barrier(place)
    return summary


def _finish(
    run: rundir.RunDir,
    ctx: _Context,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    faith_idx: np.ndarray,
    result: _CamPass,
    settings: CamSettings,
    method: str,
    progress: ProgressCallback | None,
) -> CamSummary:
    """Rank 0's part: tables, faithfulness tests and the summary."""
    outputs, agreement = _write_tables(run, result, ctx, settings)
    outputs += write_method_tables(run, ctx, chosen, tokens, result.band_rows.get("contrast", []), settings)
    faith = _faithfulness(run, ctx, chosen, tokens, faith_idx, result.faith_specs, settings, progress)
    if faith:
        outputs.append(run.path(rundir.FAITHFULNESS))
    if settings.causal:
        outputs += _causal(run, ctx, chosen, tokens, settings, progress)
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


@dataclass
class _BatchMaps:
    """One batch's maps and per-token results (what a rank sends to rank 0 under torchrun)."""

    start: int
    maps: np.ndarray  # [n, 2, F, T]: true-class and predicted-class maps
    rows: dict[str, list[dict[str, Any]]]
    profiles: dict[str, list[np.ndarray]]
    specs: np.ndarray  # the batch's input spectrograms [n, F, T] (for the faithfulness subset)
    contrast: np.ndarray | None = None  # [n, F, T] predicted minus true raw map (zero for correct tokens)


def _cam_pass(
    run: rundir.RunDir,
    ctx: _Context,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    reference: ReferenceTable,
    settings: CamSettings,
    faith_idx: np.ndarray,
    progress: ProgressCallback | None,
    place: Dist = Dist(),
) -> _CamPass | None:
    """Maps for every chosen token in batches, streamed into cams/; band metrics and profiles kept.

    Memory holds one batch per rank, whatever the number of tokens: each batch's maps go into the memory-mapped
    arrays as soon as they exist. Under torchrun each rank computes a contiguous run of whole batches; in every
    round rank 0 receives one batch from each rank and writes it (the other ranks return None)."""
    batches = _batches(chosen, settings.batch_size)
    first, last = shard_bounds(len(batches), place)
    rounds = -(-len(batches) // place.world_size)  # the longest shard: every rank takes part in every round
    collected = _Collected(faith_idx, len(ctx.freqs), len(ctx.store.times))
    writer = CamWriter(run.path(rundir.CAMS), len(chosen), len(ctx.freqs), len(ctx.store.times))
    done = 0
    with writer if place.is_main else nullcontext():
        for k in range(rounds):
            mine = batches[first + k] if first + k < last else None
            part = _batch_maps(ctx, chosen[mine[0] : mine[1]], mine[0], tokens, reference, settings) if mine else None
            for received in gather_to_main(part, place):
                if received is not None:
                    writer.write(received.start, received.maps[:, 0], received.maps[:, 1], received.contrast)
                    collected.add(received)
                    done += len(received.maps)
                    report(progress, "cam", done, len(chosen), ctx.method)
        if not place.is_main:
            return None
        scale = writer.finish(_meta(ctx, band_spec(settings, ctx), settings, len(chosen)))
    return collected.result(scale)


class _Collected:
    """Rank 0's per-token results, put back in token order whatever order the batches arrive in."""

    def __init__(self, faith_idx: np.ndarray, n_rows: int, n_frames: int) -> None:
        self.faith_idx = faith_idx
        self.faith_specs = np.empty((len(faith_idx), n_rows, n_frames), np.float32)
        self.parts: dict[int, tuple[dict, dict]] = {}  # batch start -> (rows, profiles) by class

    def add(self, part: _BatchMaps) -> None:
        """Keep the batch's rows, profiles and faithfulness spectrograms, never a view of its maps or specs (a view
        would keep the whole batch alive)."""
        inside = (self.faith_idx >= part.start) & (self.faith_idx < part.start + len(part.maps))
        self.faith_specs[inside] = part.specs[self.faith_idx[inside] - part.start]
        self.parts[part.start] = (part.rows, part.profiles)

    def result(self, scale: float) -> _CamPass:
        """The pass's rows and profiles in token order."""
        ordered = [self.parts[start] for start in sorted(self.parts)]
        rows = {which: [r for p in ordered for r in p[0].get(which, [])] for which in ("true", "pred", "contrast")}
        names = ordered[0][1].keys() if ordered else ("true", "pred")
        profiles = {which: np.array([x for p in ordered for x in p[1][which]]) for which in names}
        return _CamPass(rows, profiles, self.faith_specs, scale)


def _batch_maps(
    ctx: _Context,
    part: list[dict[str, str]],
    start: int,
    tokens: dict[str, dict[str, Any]],
    reference: ReferenceTable,
    settings: CamSettings,
) -> _BatchMaps:
    """CAMs of one batch for the true and the predicted class, with each token's band metrics and profile."""
    spec = band_spec(settings, ctx)
    labels = list(ctx.info.labels)
    model, layer = ctx.model_for(_fold(part[0]))
    toks = [tokens[p["token_id"]] for p in part]
    specs = ctx.store.get_many([(t["spec_shard"], t["spec_row"]) for t in toks], max_freq=ctx.info.max_freq)
    targets = torch.tensor([[_label_index(labels, p["true"]), _label_index(labels, p["predicted"])] for p in part])
    x = ctx.info.prepare(specs).to(ctx.device)
    maps, _, contrast = compute_cams_with_contrast(model, layer, x, targets, ctx.method, ctx.grid)
    maps, contrast = maps.detach().cpu().numpy(), contrast.detach().cpu().numpy()
    baselines = baseline_maps(x, ctx.controls.envelope) if ctx.controls is not None else {}
    rows: dict[str, list[dict[str, Any]]] = {"true": [], "pred": [], "contrast": []}
    profiles: dict[str, list[np.ndarray]] = {"true": [], "pred": [], **{name: [] for name in baselines}}
    for k, which in enumerate(("true", "pred")):
        for i, (p, t, cam) in enumerate(zip(part, toks, maps[:, k])):
            ref = reference_for(reference, str(t.get("phone", "")), str(t.get("group", "")))
            row = {**_token_info(p, t, ctx.method, ctx.grid), **token_band_row(cam, ctx.freqs, t, spec, ref)}
            row.update(peak_formant_flags(row))
            if which == "true" and ctx.controls is not None:  # controls beside the true-class reading
                partner = ctx.controls.partners.get(str(p["token_id"]))
                row.update(control_row(cam, {n: m[i] for n, m in baselines.items()}, ctx.freqs, t, partner, spec))
                for name, prof in baseline_profiles(baselines, t, i).items():
                    profiles[name].append(prof)
            rows[which].append(row)
            profiles[which].append(frequency_profile(cam, int(t["frame_start"]), int(t["frame_end"]))[0])
    rows["contrast"] = [
        contrast_row(c, ctx.freqs, r, ctx.grid.stride_rows)
        for c, r in zip(contrast, rows["true"])
        if not int(r["correct"])
    ]
    return _BatchMaps(start, maps, rows, profiles, specs, contrast)


def _faithfulness(
    run: rundir.RunDir,
    ctx: _Context,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    faith_idx: np.ndarray,
    specs: np.ndarray,
    settings: CamSettings,
    progress: ProgressCallback | None,
) -> list[dict[str, Any]]:
    """Run the faithfulness tests on the chosen subset and write faithfulness.csv."""
    if not len(faith_idx):
        return []
    labels = list(ctx.info.labels)
    picked = [tokens[chosen[i]["token_id"]] for i in faith_idx]
    true_idx = np.array([_label_index(labels, chosen[i]["true"]) for i in faith_idx])
    return write_faithfulness(
        run,
        ctx.model,
        ctx.layer,
        ctx.grid,
        ctx.info,
        ctx.store,
        picked,
        true_idx,
        specs,
        settings,
        ctx.method,
        ctx.device,
        _fold(chosen[faith_idx[0]]),
        progress,
    )


def _causal(
    run: rundir.RunDir,
    ctx: _Context,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    settings: CamSettings,
    progress: ProgressCallback | None,
) -> list[Path]:
    """The causal formant test (resynthesis) on a subset of the explained vowels; causal.csv, causal_summary.csv."""
    idx = causal_subset(chosen, tokens, _fold, settings)
    if not len(idx):
        return []
    picked = [tokens[chosen[i]["token_id"]] for i in idx]
    specs = ctx.store.get_many([(t["spec_shard"], t["spec_row"]) for t in picked], max_freq=ctx.info.max_freq)
    true_idx = np.array([_label_index(list(ctx.info.labels), chosen[i]["true"]) for i in idx])
    model, layer = ctx.model_for(_fold(chosen[idx[0]]))
    return write_causal(
        run, model, layer, ctx.grid, ctx.info, picked, true_idx, specs, settings, ctx.method, ctx.device, progress
    )


def _batches(chosen: list[dict[str, str]], size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` ranges of at most ``size`` tokens, never mixing folds (``chosen`` is sorted by fold)."""
    out, start = [], 0
    while start < len(chosen):
        stop = start + 1
        while stop < len(chosen) and stop - start < size and _fold(chosen[stop]) == _fold(chosen[start]):
            stop += 1
        out.append((start, stop))
        start = stop
    return out


def _faith_subset(chosen: list[dict[str, str]], folds: list[int], settings: CamSettings) -> np.ndarray:
    """Indices of the tokens for the faithfulness tests: those scored by model.pt (the first fold), at most
    ``faithfulness_max_tokens`` of them drawn at random."""
    if not settings.faithfulness:
        return np.array([], int)
    # held-out tokens only: with --tokens all, training tokens never enter the faithfulness tests
    pool = np.array([i for i, p in enumerate(chosen) if _fold(p) == folds[0] and _held_out(p)], int)
    n = min(len(pool), settings.faithfulness_max_tokens)
    return np.sort(np.random.default_rng(settings.seed).choice(pool, n, replace=False))


def _held_out(pred: dict[str, str]) -> bool:
    """A token the model did not train or choose its epoch on (``split`` test, or no split recorded)."""
    return pred.get("split", "test") in ("test", "")


def _label_index(labels: list[str], label: str) -> int:
    try:
        return labels.index(label)
    except ValueError:
        raise RunDirError(f"label {label!r} in predictions.csv is not one of the model's labels") from None


def _token_info(pred: dict[str, str], token: dict[str, Any], method: str, grid: CamGrid) -> dict[str, Any]:
    return {
        "token_id": pred["token_id"],
        "file": token.get("file", ""),
        "speaker": token.get("speaker", ""),
        "group": token.get("group", ""),
        "vowel": pred["true"],
        "predicted": pred["predicted"],
        "correct": int(pred["true"] == pred["predicted"]),
        "split": pred.get("split", ""),
        "method": method,
        "layer": grid.layer,
        "hz_per_row": grid.hz_per_row,
        "frame_start": token["frame_start"],
        "frame_end": token["frame_end"],
    }


def _meta(ctx: _Context, spec: BandSpec, settings: CamSettings, n: int) -> dict[str, Any]:
    method, grid = ctx.method, ctx.grid
    return {
        "method": method,
        "layer": grid.layer,
        "hz_per_row": grid.hz_per_row,
        "n_tokens": n,
        "freqs": [float(f) for f in ctx.freqs],
        "times": [float(t) for t in ctx.store.times],
        "n_frames": len(ctx.store.times),
        "grid": grid.describe(),
        "tokens": settings.tokens,
        "band_halfwidth": spec.describe(),
        "reference": settings.reference,
        "profile_clip": (
            "negative map values clipped to 0 before band metrics; the ReLU of the method's definition"
            if method in RELU_METHODS
            else "negative map values clipped to 0 before band metrics (not in the original CAM's "
            "definition: mass = positive evidence; neg_share in bands.csv reports what was clipped)"
        ),
        "analysis_frames": "each token's own interval [frame_start, frame_end) from tokens.csv",
        "controls": ctx.controls.describe() if ctx.controls is not None else {},
        "input_normalisation": describe_norm(ctx.info.norm),
        "resolution": {
            name: {**ps.describe(), "hz_per_row": ctx.info.hz_per_row.get(name)} for name, ps in ctx.resolution.items()
        },
        "point_spread_hz": spec.point_spread_hz,
        "point_spread_ms": spec.point_spread_ms,
        "ms_per_column": ms_per_column(ctx),
        "time_resolution": time_resolution_statement(
            grid.layer, ms_per_column(ctx), ctx.resolution.get(grid.layer), n_columns=grid.layer_cols
        ),
        "contrast": "contrast.npy: predicted-class minus true-class map before the method's ReLU, upsampled "
        "(zero for correct tokens); per-token readings in contrastive.csv",
    }


def _write_tables(
    run: rundir.RunDir, result: _CamPass, ctx: _Context, settings: CamSettings
) -> tuple[list[Path], list[dict[str, Any]]]:
    """cams/index.csv, bands.csv, bands_pred.csv, agreement.csv, confusions.csv."""
    true_rows = result.band_rows["true"]
    index = [{**r, "row": i, "true": r["vowel"]} for i, r in enumerate(true_rows)]
    rundir.write_csv(run.path(rundir.CAMS) / "index.csv", index, INDEX_COLUMNS)
    rundir.write_csv(run.path(rundir.BANDS), true_rows, BANDS_TRUE_COLUMNS)
    rundir.write_csv(run.path(BANDS_PRED), result.band_rows["pred"], BANDS_COLUMNS)
    _write_control_profiles(run, result)
    hz = {"hz_per_row": ctx.grid.hz_per_row}
    agreement = agreement_table(true_rows, settings.bootstrap, settings.seed)
    rundir.write_csv(run.path(rundir.AGREEMENT), [{**r, **hz} for r in agreement], AGREEMENT_COLUMNS + ["hz_per_row"])
    confusions = confusion_table(
        true_rows, result.band_rows["pred"], result.profiles["true"], result.profiles["pred"], ctx.freqs
    )
    rundir.write_csv(run.path(CONFUSIONS), [{**r, **hz} for r in confusions], CONFUSION_COLUMNS + ["hz_per_row"])
    return [run.path(n) for n in (rundir.BANDS, BANDS_PRED, rundir.AGREEMENT, CONFUSIONS)], agreement


def _write_control_profiles(run: rundir.RunDir, result: _CamPass) -> None:
    """cams/controls.npz: the energy and envelope profiles of every token (rows as in cams/index.csv), for the
    report's profile figure."""
    arrays = {
        name: result.profiles[name].astype(np.float32) for name in ("energy", "envelope") if name in result.profiles
    }
    if arrays:
        with rundir.atomic_path(run.path(rundir.CAMS) / CONTROL_PROFILES, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
