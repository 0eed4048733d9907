"""What the explain stage works on, loaded once: :class:`ExplainContext` (the model or fold models, the CAM layer
and its grid, the spectrogram store, the controls and the measured resolution) and the tokens it explains.

Every part of the stage (:mod:`.map_pass`, :mod:`.method_tables`, :mod:`.evidence_stage`, :mod:`.stage`) takes
the context; token spectrograms are read through :meth:`ExplainContext.token_specs`, one place for the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import rundir
from ..acoustics.store import SpectrogramStore
from ..config import CamSettings
from ..errors import ConfigError, RunDirError
from ..tokens import read_tokens
from .errors import UnknownLayerError
from .maps.cam import layer_grid
from .maps.grid import CamGrid
from .maps.resolution import PointSpread
from .readings.bands import BandSpec
from .readings.controls import Controls


@dataclass
class ExplainContext:
    """The loaded run: model, layers, store and grid, the method, the device, and what the stage measures first."""

    model: torch.nn.Module  # model/model.pt (fold 0 when there are folds)
    info: Any  # vowelcam.learn.models.ModelInfo
    layers: dict[str, torch.nn.Module]
    store: SpectrogramStore
    freqs: np.ndarray
    grid: CamGrid
    method: str
    device: str
    fold_models: dict[int, torch.nn.Module] = field(default_factory=dict)  # model/fold-<k>.pt with k-fold runs
    controls: Controls | None = None  # baselines and null (see vowelcam.explain.readings.controls)
    resolution: dict[str, PointSpread] = field(default_factory=dict)  # measured point spread per layer

    @property
    def layer(self) -> torch.nn.Module:
        """The CAM layer of ``model``."""
        return self.layers[self.grid.layer]

    def model_for(self, fold: int) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The network that scored ``fold``'s test tokens, and its CAM layer."""
        if fold not in self.fold_models:
            return self.model, self.layer
        model = self.fold_models[fold]
        return model, getattr(model, self.grid.layer)

    def token_specs(self, toks: Sequence[dict[str, Any]]) -> np.ndarray:
        """The stored spectrograms ``[N, F, T]`` (dB, the model's rows) of tokens.csv rows ``toks``."""
        return self.store.get_many([(t["spec_shard"], t["spec_row"]) for t in toks], max_freq=self.info.max_freq)

    def inputs(self, toks: Sequence[dict[str, Any]]) -> torch.Tensor:
        """The model's input batch for tokens.csv rows ``toks``, on the stage's device."""
        return self.info.prepare(self.token_specs(toks)).to(self.device)

    def label_index(self, label: str) -> int:
        """The class index of ``label``; RunDirError when the model does not know it."""
        return label_index(list(self.info.labels), label)

    def band_spec(self, settings: CamSettings) -> BandSpec:
        """The band settings with the CAM layer's measured point spread as floor and its row stride for peaks."""
        spread = self.resolution.get(self.grid.layer)
        return BandSpec(
            settings.band_halfwidth_hz,
            settings.band_min_halfwidth_hz,
            spread.point_spread_hz if spread else float("nan"),
            spread.point_spread_ms if spread else float("nan"),
            self.grid.stride_rows,
        )

    def ms_per_column(self) -> float:
        """Milliseconds per column of the CAM layer."""
        return float(self.grid.stride_cols * float(self.store.settings.get("hop_ms", float("nan"))))


def fold_of(pred: dict[str, str]) -> int:
    """The fold of a predictions.csv row (0 when it has none)."""
    return int(float(pred.get("fold") or 0))


def label_index(labels: list[str], label: str) -> int:
    """The index of ``label`` in the model's ``labels``; RunDirError otherwise."""
    try:
        return labels.index(label)
    except ValueError:
        raise RunDirError(f"label {label!r} in predictions.csv is not one of the model's labels") from None


def require(run: rundir.RunDir, name: str, stage: str) -> Path:
    """The path of ``name`` in the run; RunDirError naming the stage that makes it when it is missing."""
    path = run.path(name)
    if not path.exists():
        raise RunDirError(f"{path}: missing; run `vowelcam {stage}` first")
    return path


def open_store(run: rundir.RunDir) -> SpectrogramStore:
    """The run's spectrogram shards (``spectrograms/``); RunDirError when extract has not run."""
    return SpectrogramStore(require(run, rundir.SPECTROGRAMS, "extract"))


def select_tokens(run: rundir.RunDir, which: str) -> tuple[list[dict[str, str]], dict[str, dict[str, Any]]]:
    """Prediction rows to explain (``test`` split or ``all``) and the token rows by id."""
    if which not in ("test", "all"):
        raise ConfigError(f"cam.tokens must be 'test' or 'all', not {which!r}")
    preds = rundir.read_csv(require(run, rundir.PREDICTIONS, "train"))
    chosen = [p for p in preds if which == "all" or p.get("split") == "test"]
    if not chosen:
        raise RunDirError(f"{run.path(rundir.PREDICTIONS)}: no {which} tokens to explain")
    tokens = {t["token_id"]: t for t in read_tokens(require(run, rundir.TOKENS, "extract"))}
    missing = [p["token_id"] for p in chosen if p["token_id"] not in tokens]
    if missing:
        raise RunDirError(
            f"{run.path(rundir.PREDICTIONS)}: token {missing[0]!r} (and {len(missing) - 1} more) not in tokens.csv"
        )
    chosen.sort(key=fold_of)  # stable: fold by fold, so each batch is scored by one fold's model
    return chosen, tokens


def load_context(
    run: rundir.RunDir, settings: CamSettings, method: str, device: str, folds: list[int], grid: CamGrid | None = None
) -> ExplainContext:
    """Load the model (and each fold's with k-fold runs), the CAM layer and its grid (measured, unless ``grid``
    gives the one a client measured on the same model), and the store."""
    from ..learn.models import check_compatible, feature_layers, load_model

    model_path = require(run, rundir.MODEL, "train")
    model, info = load_model(model_path, device)
    layers = feature_layers(model)
    name = settings.layer or info.cam_layer
    if name not in layers:
        raise UnknownLayerError(f"unknown CAM layer {name!r}; {model_path} offers {', '.join(layers)}")
    store = open_store(run)
    check_compatible(info, store.settings, str(model_path))
    freqs = store.freqs[: store.n_rows(info.max_freq)]
    pool = tuple(getattr(info, "input_pool", None) or (1, 1))
    if grid is None:
        grid = layer_grid(model, layers[name], name, freqs, len(store.times), info.hz_per_row.get(name), pool)
    ctx = ExplainContext(model, info, layers, store, freqs, grid, method, device)
    if len(folds) > 1:  # k-fold: each token's maps from the model that held it out
        for fold in folds:
            path = run.path(rundir.MODEL_DIR) / f"fold-{fold}.pt"
            if not path.exists():
                raise RunDirError(f"{path}: missing; predictions.csv has {len(folds)} folds (re-run `vowelcam train`)")
            ctx.fold_models[fold] = load_model(path, device)[0]
    return ctx
