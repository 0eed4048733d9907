"""The faithfulness part of the ``cam`` stage over a run directory: settings -> inputs -> ``faithfulness.csv``.

Kept apart from :mod:`vowelcam.explain.run` (which computes the maps and the band tables) so the tests' inputs
(speakers for the cluster bootstrap, the randomisation cascade, training tokens for label permutation) are
assembled in one place.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch

from .. import rundir
from ..acoustics.store import SpectrogramStore
from ..config import CamSettings
from ..errors import ConfigError
from ..progress import ProgressCallback
from .faithfulness import FAITHFULNESS_COLUMNS, FaithInputs, FaithSpec, run_faithfulness
from .grid import CamGrid
from .randomisation import resnet_cascade

log = logging.getLogger(__name__)


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


def training_tokens(run: rundir.RunDir, store: SpectrogramStore, max_freq: float, labels: list[str],
                    fold: int, limit: int, seed: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Spectrograms and class indices of the run's training tokens (``split = train`` in predictions.csv, the
    first fold), at most ``limit`` drawn at random; ``(None, None)`` when the run lists none (k-fold runs keep
    only test predictions)."""
    tokens = {t["token_id"]: t for t in rundir.read_csv(run.path(rundir.TOKENS))}
    rows = [p for p in rundir.read_csv(run.path(rundir.PREDICTIONS))
            if p.get("split") == "train" and int(float(p.get("fold") or 0)) == fold
            and p["token_id"] in tokens and p["true"] in labels]
    if not rows:
        log.warning("label permutation skipped: predictions.csv lists no training tokens")
        return None, None
    keep = np.sort(np.random.default_rng(seed).permutation(len(rows))[:limit])
    picked = [rows[i] for i in keep]
    places = [(tokens[p["token_id"]]["spec_shard"], tokens[p["token_id"]]["spec_row"]) for p in picked]
    return store.get_many(places, max_freq=max_freq), np.array([labels.index(p["true"]) for p in picked])


def write_faithfulness(run: rundir.RunDir, model: torch.nn.Module, layer: torch.nn.Module, grid: CamGrid,
                       info: Any, store: SpectrogramStore, picked: Sequence[dict[str, Any]], true_idx: np.ndarray,
                       specs: np.ndarray, settings: CamSettings, method: str, device: str, fold: int,
                       progress: ProgressCallback | None = None) -> list[dict[str, Any]]:
    """Run the tests on the ``picked`` token rows (tokens.csv rows; ``specs`` their spectrograms) and write
    ``faithfulness.csv``; returns the rows."""
    spec = spec_from_settings(settings)
    train_specs, train_idx = (training_tokens(run, store, info.max_freq, list(info.labels), fold,
                                              settings.faithfulness_max_tokens, settings.seed)
                              if spec.label_permutation else (None, None))
    inp = FaithInputs(model, layer, resnet_cascade(model), grid, info.prepare, specs, np.asarray(true_idx),
                      np.array([[int(t["frame_start"]), int(t["frame_end"])] for t in picked]), method,
                      torch.device(device), speakers=[str(t.get("speaker", "") or "") for t in picked],
                      recordings=[str(t.get("file", "") or "") for t in picked], train_specs=train_specs,
                      train_idx=train_idx)
    faith = run_faithfulness(inp, spec, progress)
    rows = [{**r, "hz_per_row": grid.hz_per_row} for r in faith]
    rundir.write_csv(run.path(rundir.FAITHFULNESS), rows, FAITHFULNESS_COLUMNS + ["hz_per_row"])
    return faith
