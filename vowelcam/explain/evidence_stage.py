"""The evidence part of the ``cam`` stage over a run directory: settings -> inputs -> ``faithfulness.csv``, and
the causal test -> ``causal.csv``, ``causal_summary.csv``, ``causal_verdicts.csv``.

Kept apart from :mod:`vowelcam.explain.map_pass` (which computes the maps and the band tables) so the tests'
inputs (speakers for the cluster bootstrap, the randomisation cascade, training tokens for label permutation, the
corpus audio) are assembled in one place, from the stage's :class:`~vowelcam.explain.context.ExplainContext`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from .. import rundir
from ..config import CamSettings
from ..errors import ConfigError
from ..intervals import resampling_clusters
from ..progress import ProgressCallback
from .context import ExplainContext, fold_of
from .errors import CamError
from .evidence.common import FAITHFULNESS_COLUMNS, FaithInputs, FaithSpec
from .evidence.faithfulness import run_faithfulness
from .evidence.randomisation import resnet_cascade

log = logging.getLogger(__name__)

PERMUTATION_MAX_TOKENS = 512  # training tokens the label-permutation copy learns from (a seeded random subset)


def parse_floats(text: str, name: str) -> tuple[float, ...]:
    """A comma list of positive numbers (``""`` = none); ConfigError naming the setting otherwise."""
    try:
        values = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"cam.{name}: {text!r} is not a comma list of numbers") from None
    if any(v <= 0 for v in values):
        raise ConfigError(f"cam.{name}: every value must be positive, not {text!r}")
    return values


def spec_from_settings(settings: CamSettings) -> FaithSpec:
    """The tests' settings from the stage's (config errors raised before any work)."""
    return FaithSpec(
        width_hz=settings.deletion_width_hz,
        widths_hz=parse_floats(settings.deletion_widths_hz, "deletion_widths_hz"),
        random_draws=settings.deletion_random_draws,
        energy_tolerance_db=settings.deletion_energy_tolerance_db,
        warp_factors=parse_floats(settings.warp_factors, "warp_factors"),
        randomisation_seeds=settings.randomisation_seeds,
        randomisation_max_tokens=settings.randomisation_max_tokens,
        label_permutation=settings.label_permutation,
        permutation_epochs=settings.permutation_epochs,
        noise_percentile=settings.noise_percentile,
        batch_size=settings.batch_size or 32,
        n_boot=settings.bootstrap,
        seed=settings.seed,
    )


def training_tokens(
    run: rundir.RunDir, ctx: ExplainContext, fold: int, limit: int, seed: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Spectrograms and class indices of the run's training tokens (``split = train`` in predictions.csv, the
    first fold), at most ``limit`` drawn at random; ``(None, None)`` when the run lists none (k-fold runs keep
    only test predictions)."""
    labels = list(ctx.info.labels)
    tokens = {t["token_id"]: t for t in rundir.read_csv(run.path(rundir.TOKENS))}
    rows = [
        p
        for p in rundir.read_csv(run.path(rundir.PREDICTIONS))
        if p.get("split") == "train" and fold_of(p) == fold and p["token_id"] in tokens and p["true"] in labels
    ]
    if not rows:
        log.warning("label permutation skipped: predictions.csv lists no training tokens")
        return None, None
    keep = np.sort(np.random.default_rng(seed).permutation(len(rows))[:limit])
    picked = [rows[i] for i in keep]
    specs = ctx.token_specs([tokens[p["token_id"]] for p in picked])
    return specs, np.array([labels.index(p["true"]) for p in picked])


def _inputs(
    ctx: ExplainContext,
    model: torch.nn.Module,
    layer: torch.nn.Module,
    cascade: Sequence[Any],
    picked: Sequence[dict[str, Any]],
    true_idx: np.ndarray,
    specs: np.ndarray,
    **train: Any,
) -> FaithInputs:
    """The tests' inputs for the ``picked`` tokens.csv rows (``specs`` their spectrograms)."""
    return FaithInputs(
        model,
        layer,
        cascade,
        ctx.grid,
        ctx.info.prepare,
        specs,
        np.asarray(true_idx),
        np.array([[int(t["frame_start"]), int(t["frame_end"])] for t in picked]),
        ctx.method,
        torch.device(ctx.device),
        speakers=[str(t.get("speaker", "") or "") for t in picked],
        recordings=[str(t.get("file", "") or "") for t in picked],
        **train,
    )


def write_faithfulness(
    run: rundir.RunDir,
    ctx: ExplainContext,
    chosen: Sequence[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    faith_idx: np.ndarray,
    specs: np.ndarray,
    settings: CamSettings,
    progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """Run the tests on the chosen tokens ``faith_idx`` (``specs`` their spectrograms, all scored by model.pt)
    and write ``faithfulness.csv``; returns the rows (none when the subset is empty)."""
    if not len(faith_idx):
        return []
    picked = [tokens[chosen[i]["token_id"]] for i in faith_idx]
    true_idx = np.array([ctx.label_index(chosen[i]["true"]) for i in faith_idx])
    spec = spec_from_settings(settings)
    fold = fold_of(chosen[faith_idx[0]])
    train_specs, train_idx = (
        training_tokens(run, ctx, fold, PERMUTATION_MAX_TOKENS, settings.seed)
        if spec.label_permutation
        else (None, None)
    )
    cascade = resnet_cascade(ctx.model)
    inp = _inputs(
        ctx, ctx.model, ctx.layer, cascade, picked, true_idx, specs, train_specs=train_specs, train_idx=train_idx
    )
    faith = run_faithfulness(inp, spec, progress)
    rows = [{**r, "hz_per_row": ctx.grid.hz_per_row} for r in faith]
    rundir.write_csv(run.path(rundir.FAITHFULNESS), rows, FAITHFULNESS_COLUMNS + ["hz_per_row"])
    return faith


def check_settings(settings: CamSettings) -> None:
    """Config errors of the faithfulness and causal settings, raised before any map is computed (whether the
    causal test and the replicates run is :func:`vowelcam.explain.evidence.plan.plan_evidence`'s decision)."""
    if settings.faithfulness:
        spec_from_settings(settings)
    if settings.causal != "off":
        causal_manipulations(settings)
    if settings.replicate_seeds.strip() not in ("", "auto"):
        from .replication import replicate_seed_list

        replicate_seed_list(settings.replicate_seeds)
    if settings.verdicts:
        from .maps.instruments import instrument_list

        try:
            instrument_list(settings.instruments)
        except CamError as exc:
            raise ConfigError(f"cam.instruments: {exc}") from None


def causal_manipulations(settings: CamSettings) -> list[Any]:
    """The parsed ``cam.causal_manipulations``; ConfigError when they are unusable."""
    from ..acoustics.resynthesis import parse_manipulations

    try:
        manipulations = parse_manipulations(settings.causal_manipulations)
    except ValueError as exc:
        raise ConfigError(f"cam.causal_manipulations: {exc}") from None
    if not manipulations:
        raise ConfigError("cam.causal_manipulations: no manipulation given")
    return manipulations


def causal_subset(
    chosen: Sequence[dict[str, str]], tokens: dict[str, dict[str, Any]], settings: CamSettings
) -> np.ndarray:
    """Indices into ``chosen`` of the causal test's tokens: vowels (of every fold, each scored by its fold's model),
    at most ``causal_max_tokens`` drawn at random (seeded)."""
    pool = np.array(
        [i for i, p in enumerate(chosen) if str(tokens[p["token_id"]].get("kind") or "vowel") == "vowel"], int
    )
    return np.sort(np.random.default_rng(settings.seed).permutation(pool)[: max(0, settings.causal_max_tokens)])


def _run_measure_settings(run: rundir.RunDir) -> Any:
    """The Praat measurement settings the run was extracted with (its config.toml's [measure]; defaults when the
    run has none). Only that section is read, so a config written by another version still serves."""
    from ..config import Settings, tomllib  # tomllib, or tomli on Python 3.10

    path = run.path(rundir.CONFIG)
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("measure", {}) if path.exists() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the run's settings ({exc})") from None
    return Settings().with_overrides({"measure": section}).measure


def write_causal(
    run: rundir.RunDir,
    ctx: ExplainContext,
    chosen: Sequence[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    settings: CamSettings,
    corpus: Path,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """The causal formant test on a subset of the explained vowels (:func:`causal_subset`), resynthesised from the
    recordings under ``corpus``; writes ``causal.csv``,
    ``causal_summary.csv`` and ``causal_verdicts.csv`` and returns their paths (none when no vowel qualifies)."""
    from .evidence.causal import CAUSAL, CAUSAL_COLUMNS, CAUSAL_SUMMARY, SUMMARY_COLUMNS, summarise
    from .evidence.causal_verdicts import CAUSAL_VERDICTS, causal_verdicts
    from .evidence.causal_verdicts import COLUMNS as VERDICT_COLUMNS

    idx = causal_subset(chosen, tokens, settings)
    if not len(idx):
        return []
    spec = spec_from_settings(settings)
    fixed = _causal_setup(run, ctx, corpus, settings)
    rows = []
    for fold in sorted({fold_of(chosen[i]) for i in idx}):  # each token through the model that did not train on it
        part = [chosen[i] for i in idx if fold_of(chosen[i]) == fold]
        rows += _causal_rows(ctx, part, tokens, fold, fixed, spec, progress)
    clusters, unit = resampling_clusters(
        [str(tokens[r["token_id"]].get("speaker") or "") for r in rows],
        [str(tokens[r["token_id"]].get("file") or "") for r in rows],
    )
    summary = summarise(rows, clusters, unit, spec)
    labels = list(ctx.info.labels)
    for r in rows:
        for key in ("predicted", "runner_up"):
            r[key] = labels[r[key]] if isinstance(r[key], (int, np.integer)) else ""
    rundir.write_csv(run.path(CAUSAL), rows, CAUSAL_COLUMNS)
    truth = {str(chosen[i]["token_id"]): str(chosen[i]["true"]) for i in idx}
    verdicts = causal_verdicts(rows, truth, list(tokens.values()), labels, settings.seed)
    rundir.write_csv(run.path(CAUSAL_VERDICTS), verdicts, VERDICT_COLUMNS)
    rundir.write_csv(
        run.path(CAUSAL_SUMMARY),
        [{**r, "hz_per_row": ctx.grid.hz_per_row} for r in summary],
        SUMMARY_COLUMNS + ["hz_per_row"],
    )
    return [run.path(CAUSAL), run.path(CAUSAL_SUMMARY), run.path(CAUSAL_VERDICTS)]


class _CausalSetup(NamedTuple):
    """What every fold's causal test shares: the corpus, the run's spectrogram and measurement settings, the
    manipulations."""

    corpus: Path
    spectrogram: Any
    measure: Any
    manipulations: Sequence[Any]


def _causal_setup(run: rundir.RunDir, ctx: ExplainContext, corpus: Path, settings: CamSettings) -> _CausalSetup:
    from ..config import SpectrogramSettings

    known = set(SpectrogramSettings.__dataclass_fields__)
    spectrogram = SpectrogramSettings(**{k: v for k, v in ctx.store.settings.items() if k in known})
    return _CausalSetup(corpus, spectrogram, _run_measure_settings(run), causal_manipulations(settings))


def _causal_rows(
    ctx: ExplainContext,
    picked_preds: Sequence[dict[str, str]],
    tokens: dict[str, dict[str, Any]],
    fold: int,
    fixed: _CausalSetup,
    spec: FaithSpec,
    progress: ProgressCallback | None,
) -> list[dict[str, Any]]:
    """causal.csv rows of one fold's tokens (``picked_preds``: their predictions.csv rows) through its model."""
    from .evidence.causal import CausalTokens, causal_rows

    picked = [tokens[p["token_id"]] for p in picked_preds]
    specs = ctx.token_specs(picked)
    true_idx = np.array([ctx.label_index(p["true"]) for p in picked_preds])
    model, layer = ctx.model_for(fold)
    inp = _inputs(ctx, model, layer, [], picked, true_idx, specs)
    tokens_in = CausalTokens(picked, specs, true_idx, fixed.corpus, fixed.spectrogram, fixed.measure)
    return causal_rows(inp, tokens_in, fixed.manipulations, spec, progress)
