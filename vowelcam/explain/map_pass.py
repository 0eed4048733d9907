"""The explain stage's pass over the tokens: each batch's true- and predicted-class maps streamed into ``cams/``,
with every token's band metrics, controls, profiles and contrastive reading kept for the tables.

Under torchrun every rank computes a contiguous run of whole batches and rank 0 writes them (see
:func:`map_pass`). :func:`_faith_subset` picks the tokens whose spectrograms the pass keeps for the evidence tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import rundir
from ..checks.finite import listed, nonfinite_rows
from ..config import CamSettings
from ..corpus.published_formants import ReferenceTable
from ..learn.dataset import describe_input_scaling as describe_norm
from ..learn.distributed import Dist, gather_to_main, shard_bounds
from ..progress import ProgressCallback, report
from .context import ExplainContext, fold_of
from .errors import CamError
from .maps.cam import compute_cams_with_contrast
from .maps.grid import CamGrid
from .maps.methods import RELU_METHODS
from .maps.resolution import time_resolution_statement
from .maps.store import CamWriter
from .readings.bands import BandSpec, frequency_profile, reference_for, token_band_row
from .readings.contrastive import contrast_row
from .readings.controls import baseline_maps, baseline_profiles, control_row, peak_formant_flags


@dataclass
class CamPass:
    """What rank 0 keeps of the pass: band rows and profiles by class (true, pred, contrast; energy, envelope), the
    evidence subset (indices into the chosen tokens) with its spectrograms, and the run-wide map scale."""

    band_rows: dict[str, list[dict[str, Any]]]
    profiles: dict[str, np.ndarray]
    faith_specs: np.ndarray
    norm_scale: float
    faith_idx: np.ndarray


@dataclass
class BatchMaps:
    """One batch's maps and per-token results (what a rank sends to rank 0 under torchrun, or a worker to the
    client)."""

    start: int
    maps: np.ndarray  # [n, 2, F, T]: true-class and predicted-class maps
    rows: dict[str, list[dict[str, Any]]]
    profiles: dict[str, list[np.ndarray]]
    specs: np.ndarray  # the batch's input spectrograms [n, F, T] (for the faithfulness subset)
    contrast: np.ndarray | None = None  # [n, F, T] predicted minus true raw map (zero for correct tokens)


def map_pass(
    run: rundir.RunDir,
    ctx: ExplainContext,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    reference: ReferenceTable,
    settings: CamSettings,
    folds: list[int],
    progress: ProgressCallback | None,
    place: Dist = Dist(),
    elsewhere: Callable[[list[tuple[int, int]]], Iterable[BatchMaps]] | None = None,
) -> CamPass | None:
    """Maps for every chosen token in batches, streamed into cams/; band metrics and profiles kept.

    Memory holds one batch per rank, whatever the number of tokens: each batch's maps go into the memory-mapped
    arrays as soon as they exist. Under torchrun each rank computes a contiguous run of whole batches; in every
    round rank 0 receives one batch from each rank and writes it (the other ranks return None). With ``elsewhere``
    (one process), the batches' ``(start, stop)`` ranges are handed to it and the results it yields, computed
    elsewhere in any order (:func:`.map_tasks.shipped_batches`: on a Dask cluster), are written here. The
    spectrograms of the evidence subset (:func:`_faith_subset` of ``folds``) are kept on the way."""
    faith_idx = _faith_subset(chosen, folds, settings)
    batches = batches_of(chosen, settings.batch_size)
    collected = _Collected(faith_idx, len(ctx.freqs), len(ctx.store.times))
    writer = CamWriter(run.path(rundir.CAMS), len(chosen), len(ctx.freqs), len(ctx.store.times))
    if elsewhere is not None and not place.enabled:
        parts: Iterable[BatchMaps] = elsewhere(batches)
    else:
        parts = _ranked_batches(ctx, chosen, tokens, reference, settings, batches, place)
    done = 0
    with writer if place.is_main else nullcontext():
        for received in parts:
            writer.write(received.start, received.maps[:, 0], received.maps[:, 1], received.contrast)
            collected.add(received)
            done += len(received.maps)
            report(progress, "cam", done, len(chosen), ctx.method)
        if not place.is_main:
            return None
        scale = writer.finish(_meta(ctx, ctx.band_spec(settings), settings, len(chosen)))
    return collected.result(scale)


def _ranked_batches(
    ctx: ExplainContext,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    reference: ReferenceTable,
    settings: CamSettings,
    batches: list[tuple[int, int]],
    place: Dist,
) -> Iterator[BatchMaps]:
    """This process's batches, and under torchrun on rank 0 every rank's, one round at a time (every rank takes
    part in every round; ranks other than 0 yield nothing)."""
    first, last = shard_bounds(len(batches), place)
    rounds = -(-len(batches) // place.world_size)  # the longest shard
    for k in range(rounds):
        mine = batches[first + k] if first + k < last else None
        part = batch_maps(ctx, chosen[mine[0] : mine[1]], mine[0], tokens, reference, settings) if mine else None
        yield from (received for received in gather_to_main(part, place) if received is not None)


def _check_finite_maps(maps: np.ndarray, contrast: np.ndarray, toks: list[dict[str, Any]], method: str) -> None:
    """A map with NaN or infinity is an error naming its tokens and their shard rows, never a NaN in cams/."""
    bad = sorted(set(nonfinite_rows(maps).tolist()) | set(nonfinite_rows(contrast).tolist()))
    if bad:
        where = [toks[i] for i in bad]
        names = [f"{t['token_id']} (shard {t.get('spec_shard')}, row {t.get('spec_row')})" for t in where]
        raise CamError(
            f"{method} maps are NaN or infinite for tokens {listed(names)}: the model's gradients or activations "
            "are not finite for them; check model/model.pt (retrain) and the spectrograms (re-extract)"
        )


class _Collected:
    """Rank 0's per-token results, put back in token order whatever order the batches arrive in."""

    def __init__(self, faith_idx: np.ndarray, n_rows: int, n_frames: int) -> None:
        self.faith_idx = faith_idx
        self.faith_specs = np.empty((len(faith_idx), n_rows, n_frames), np.float32)
        self.parts: dict[int, tuple[dict, dict]] = {}  # batch start -> (rows, profiles) by class

    def add(self, part: BatchMaps) -> None:
        """Keep the batch's rows, profiles and faithfulness spectrograms, never a view of its maps or specs (a view
        would keep the whole batch alive)."""
        inside = (self.faith_idx >= part.start) & (self.faith_idx < part.start + len(part.maps))
        self.faith_specs[inside] = part.specs[self.faith_idx[inside] - part.start]
        self.parts[part.start] = (part.rows, part.profiles)

    def result(self, scale: float) -> CamPass:
        """The pass's rows and profiles in token order."""
        ordered = [self.parts[start] for start in sorted(self.parts)]
        rows = {which: [r for p in ordered for r in p[0].get(which, [])] for which in ("true", "pred", "contrast")}
        names = ordered[0][1].keys() if ordered else ("true", "pred")
        profiles = {which: np.array([x for p in ordered for x in p[1][which]]) for which in names}
        return CamPass(rows, profiles, self.faith_specs, scale, self.faith_idx)


def batch_maps(
    ctx: ExplainContext,
    part: list[dict[str, str]],
    start: int,
    tokens: dict[str, dict[str, Any]],
    reference: ReferenceTable,
    settings: CamSettings,
) -> BatchMaps:
    """CAMs of one batch (``part``, the chosen tokens from index ``start``) for the true and the predicted class,
    with each token's band metrics and profile."""
    spec = ctx.band_spec(settings)
    model, layer = ctx.model_for(fold_of(part[0]))
    toks = [tokens[p["token_id"]] for p in part]
    specs = ctx.token_specs(toks)
    targets = torch.tensor([[ctx.label_index(p["true"]), ctx.label_index(p["predicted"])] for p in part])
    x = ctx.info.prepare(specs).to(ctx.device)
    maps, _, contrast = compute_cams_with_contrast(model, layer, x, targets, ctx.method, ctx.grid)
    maps, contrast = maps.detach().cpu().numpy(), contrast.detach().cpu().numpy()
    _check_finite_maps(maps, contrast, toks, ctx.method)
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
    return BatchMaps(start, maps, rows, profiles, specs, contrast)


def batches_of(chosen: list[dict[str, str]], size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` ranges of at most ``size`` tokens, never mixing folds (``chosen`` is sorted by fold)."""
    out, start = [], 0
    while start < len(chosen):
        stop = start + 1
        while stop < len(chosen) and stop - start < size and fold_of(chosen[stop]) == fold_of(chosen[start]):
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
    pool = np.array([i for i, p in enumerate(chosen) if fold_of(p) == folds[0] and _held_out(p)], int)
    n = min(len(pool), settings.faithfulness_max_tokens)
    return np.sort(np.random.default_rng(settings.seed).choice(pool, n, replace=False))


def _held_out(pred: dict[str, str]) -> bool:
    """A token the model did not train or choose its epoch on (``split`` test, or no split recorded)."""
    return pred.get("split", "test") in ("test", "")


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


def _meta(ctx: ExplainContext, spec: BandSpec, settings: CamSettings, n: int) -> dict[str, Any]:
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
        "ms_per_column": ctx.ms_per_column(),
        "time_resolution": time_resolution_statement(
            grid.layer, ctx.ms_per_column(), ctx.resolution.get(grid.layer), n_columns=grid.layer_cols
        ),
        "contrast": "contrast.npy: predicted-class minus true-class map before the method's ReLU, upsampled "
        "(zero for correct tokens); per-token readings in contrastive.csv",
    }
