"""The explain stage's method checks over a run: each layer's measured point spread, the class-discriminativeness
table per method (``discrimination.csv``) and the contrastive readings of confusions (``contrastive.csv``).

Called by :mod:`vowelcam.explain.stage` with its :class:`~vowelcam.explain.context.ExplainContext`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import rundir
from ..config import CamSettings
from .context import ExplainContext, fold_of
from .maps.methods import DISCRIMINATION_METHODS, get_method
from .maps.resolution import PointSpread, measure_layers, time_resolution_statement
from .readings.contrastive import CONTRASTIVE_COLUMNS
from .readings.discrimination import (
    DISCRIMINATION_COLUMNS,
    discrimination_table,
    meta_summary,
    method_maps,
    other_classes,
)

log = logging.getLogger(__name__)

DISCRIMINATION = "discrimination.csv"
CONTRASTIVE = "contrastive.csv"
DISCRIMINATION_MAX_TOKENS = 128  # tokens for the per-method class-discriminativeness table
SCORECAM_DISCRIMINATION_TOKENS = 16  # a slow method (Score-CAM: C forward passes per token) on fewer
RESOLUTION_TOKENS = 32  # tokens for the point-spread measurement


def spread_subset(n: int, k: int) -> np.ndarray:
    """``k`` positions evenly spread over ``0..n-1`` (tokens are ordered by file, so this spreads over speakers)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


def _subset(chosen: list[dict[str, str]], n: int, seed: int) -> np.ndarray:
    """Up to ``n`` token indices scored by model.pt (the first fold), drawn at random, sorted."""
    first = fold_of(chosen[0])
    pool = np.array([i for i, p in enumerate(chosen) if fold_of(p) == first], int)
    return np.sort(np.random.default_rng(seed).choice(pool, min(n, len(pool)), replace=False))


def _inputs(
    ctx: ExplainContext, chosen: list[dict[str, str]], tokens: dict[str, dict[str, Any]], idx: np.ndarray
) -> torch.Tensor:
    return ctx.inputs([tokens[chosen[i]["token_id"]] for i in idx])


def measure_resolution(
    ctx: ExplainContext, chosen: list[dict[str, str]], tokens: dict[str, dict[str, Any]]
) -> dict[str, PointSpread]:
    """Every CAM layer's point spread on up to :data:`RESOLUTION_TOKENS` of the chosen tokens."""
    x = _inputs(ctx, chosen, tokens, _subset(chosen, RESOLUTION_TOKENS, 0))
    hop = float(ctx.store.settings.get("hop_ms", float("nan")))
    spread = measure_layers(ctx.model, ctx.layers, x, ctx.grid.input_hz_per_row, hop)
    log.info(
        "point spread at %s: %.0f Hz x %.0f ms (central 50 %% of |gradient|; %.4g Hz per row)",
        ctx.grid.layer,
        spread[ctx.grid.layer].point_spread_hz,
        spread[ctx.grid.layer].point_spread_ms,
        ctx.grid.hz_per_row,
    )
    log.info(
        time_resolution_statement(
            ctx.grid.layer, ctx.ms_per_column(), spread[ctx.grid.layer], n_columns=ctx.grid.layer_cols
        )
    )
    return spread


def write_method_tables(
    run: rundir.RunDir,
    ctx: ExplainContext,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    contrast_rows: list[dict[str, Any]],
    settings: CamSettings,
) -> list[Path]:
    """discrimination.csv (class-discriminativeness per method) and contrastive.csv; both summarised in meta.json.

    The registry's ``discrimination`` methods (and the run's method when it is cheap and not among them) on up to
    :data:`DISCRIMINATION_MAX_TOKENS` tokens; a slow run method (Score-CAM) on
    :data:`SCORECAM_DISCRIMINATION_TOKENS` of them spread over the subset."""
    idx = _subset(chosen, DISCRIMINATION_MAX_TOKENS, settings.seed)
    labels = list(ctx.info.labels)
    true_idx = np.array([ctx.label_index(chosen[i]["true"]) for i in idx])
    other_idx = other_classes(true_idx, len(labels), settings.seed)
    toks = [tokens[chosen[i]["token_id"]] for i in idx]
    speakers, files = [str(t.get("speaker", "")) for t in toks], [str(t.get("file", "")) for t in toks]
    run_method = get_method(ctx.method)
    cheap = list(DISCRIMINATION_METHODS)
    if run_method.cheap and run_method.name not in cheap:
        cheap.append(run_method.name)
    maps = _maps_in_batches(ctx, chosen, tokens, idx, true_idx, other_idx, cheap, settings)
    table = discrimination_table(maps, ctx.grid.layer, speakers, files, settings.bootstrap, settings.seed)
    if not run_method.cheap:
        k = spread_subset(len(idx), SCORECAM_DISCRIMINATION_TOKENS)
        sc = _maps_in_batches(ctx, chosen, tokens, idx[k], true_idx[k], other_idx[k], [run_method.name], settings)
        table += discrimination_table(
            sc, ctx.grid.layer, [speakers[i] for i in k], [files[i] for i in k], settings.bootstrap, settings.seed
        )
    rundir.write_csv(run.path(DISCRIMINATION), table, DISCRIMINATION_COLUMNS)
    rundir.write_csv(run.path(CONTRASTIVE), contrast_rows, CONTRASTIVE_COLUMNS)
    meta_path = run.path(rundir.CAMS) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["discrimination"] = meta_summary(table)
    rundir.atomic_write_text(meta_path, json.dumps(meta, indent=2))
    return [run.path(DISCRIMINATION), run.path(CONTRASTIVE)]


def _maps_in_batches(
    ctx: ExplainContext,
    chosen: list[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    idx: np.ndarray,
    true_idx: np.ndarray,
    other_idx: np.ndarray,
    methods: list[str],
    settings: CamSettings,
) -> dict[str, dict[str, np.ndarray]]:
    """:func:`method_maps` over ``idx`` in batches of the run's CAM batch size, concatenated."""
    parts = []
    for start in range(0, len(idx), max(1, settings.batch_size)):
        part = slice(start, start + max(1, settings.batch_size))
        x = _inputs(ctx, chosen, tokens, idx[part])
        parts.append(
            method_maps(ctx.model, ctx.grid.layer, x, true_idx[part], other_idx[part], methods, ctx.grid, settings.seed)
        )
    return {m: {k: np.concatenate([p[m][k] for p in parts]) for k in parts[0][m]} for m in parts[0]}
