"""Do a run's CAM methods tell classes apart? Class-discriminativeness measured per run, collapsed methods flagged.

A map that explains *this class* must change when the class changes, and must change when the classifier does.
For a subset of the run's tokens and the methods asked for (the stage asks for the registry's
``discrimination`` methods, ``cam``, ``gradcam``, ``gradcam++``, ``hirescam``, ``layercam``, and the run's own;
a slow method such as ``scorecam`` on a smaller subset), on the layer grid, as each method defines its maps (ReLU
included):

- ``rho_other``: Spearman rank correlation, per token, between the true-class map and the map of another class
  (one drawn at random per token, seeded; never the true one). 1 = the method draws the same map whatever the class.
- ``rho_reinit``: rank correlation between the true-class map of the trained model and that of the same model with
  its classifier (``fc``) re-initialised (Adebayo et al. 2018's cascading test, first step). 1 = the map does not
  depend on what the classifier learned.
- ``rho_method``: per-token rank correlation between two methods' true-class maps (their positive parts, which is
  what band analysis reads); methods whose maps are the same (mean >= :data:`SAME_MAP_RHO`) are one method in this
  run, whatever their names.

Every mean has a cluster-bootstrap interval over speakers (recordings with one speaker; the unit is written beside
it, see :mod:`vowelcam.intervals`). Flags, with the reason written out: ``class_agnostic`` when ``rho_other`` >=
:data:`AGNOSTIC_RHO`; ``model_insensitive`` when ``rho_reinit`` >= :data:`AGNOSTIC_RHO`; ``same_as`` the methods
with the same map (at the layer feeding global average pooling the gradient is constant over the grid, so Grad-CAM
= HiResCAM = CAM / (h x w)). ``collapsed`` = any of these.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from ...intervals import cluster_bootstrap_mean, resampling_clusters
from ..errors import CamError
from ..maps.cam import compute_layer_cams, compute_method_maps
from ..maps.grid import CamGrid
from ..maps.methods import CHEAP_METHODS, REGISTRY, check_method

log = logging.getLogger(__name__)

AGNOSTIC_RHO = 0.8  # a method whose maps rank cells alike at least this much across classes / classifiers is flagged
SAME_MAP_RHO = 0.99
DISCRIMINATION_COLUMNS = [
    "method",
    "layer",
    "n",
    "n_clusters",
    "unit",
    "rho_other",
    "rho_other_lo",
    "rho_other_hi",
    "rho_reinit",
    "rho_reinit_lo",
    "rho_reinit_hi",
    "same_as",
    "class_agnostic",
    "model_insensitive",
    "collapsed",
    "reason",
]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation per token between maps ``a`` and ``b`` ``[N, ...]`` (ties get average ranks);
    NaN where a map is constant."""
    ra = rankdata(np.asarray(a, np.float64).reshape(len(a), -1), axis=1)
    rb = rankdata(np.asarray(b, np.float64).reshape(len(b), -1), axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(1) / np.where(denom > 0, denom, 1), np.nan)


def other_classes(true_idx: np.ndarray, n_classes: int, seed: int = 0) -> np.ndarray:
    """One class per token drawn uniformly among the classes other than its true one."""
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, n_classes - 1, len(true_idx))
    return draw + (draw >= np.asarray(true_idx))


def reinitialised_fc(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose ``fc`` is re-initialised (PyTorch's default init, seeded)."""
    fc = getattr(model, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise CamError("the classifier re-initialisation test needs a linear classifier named 'fc'")
    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clone.fc.reset_parameters()
    return clone


def method_maps(
    model: nn.Module,
    layer_name: str,
    x: torch.Tensor,
    true_idx: np.ndarray,
    other_idx: np.ndarray,
    methods: Sequence[str],
    grid: CamGrid | None = None,
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """``{method: {"true", "other", "reinit"}}`` layer-grid maps ``[N, h, w]`` for the trained model (true and
    other class) and the fc-re-initialised one (true class). The cheap methods share one pass; methods that need
    ``fc`` (``cam``) are left out where the layer does not feed it; slow ones (``scorecam``) need ``grid``."""
    reinit = reinitialised_fc(model, seed)
    modules, modules_r = dict(model.named_modules()), dict(reinit.named_modules())
    targets = torch.from_numpy(np.stack([true_idx, other_idx], 1))
    methods = [check_method(m) for m in methods]
    cheap = [m for m in methods if m in CHEAP_METHODS]
    slow = [m for m in methods if m not in CHEAP_METHODS]
    out: dict[str, dict[str, np.ndarray]] = {}
    for which, net, mods, tgt in (("trained", model, modules, targets), ("reinit", reinit, modules_r, targets[:, :1])):
        found = _cheap_maps(net, mods[layer_name], x, tgt, cheap, layer_name)
        for method in slow:
            found[method] = compute_layer_cams(net, mods[layer_name], x, tgt, method, grid).layer_maps
        for method, maps in found.items():
            maps = maps.detach().cpu().numpy()
            slot = out.setdefault(method, {})
            if which == "trained":
                slot["true"], slot["other"] = maps[:, 0], maps[:, 1]
            else:
                slot["reinit"] = maps[:, 0]
    return {m: v for m, v in out.items() if len(v) == 3}


def _cheap_maps(
    net: nn.Module, layer: nn.Module, x: torch.Tensor, targets: torch.Tensor, methods: list[str], layer_name: str
) -> dict[str, torch.Tensor]:
    """All cheap methods from one forward and backward pass per target; those that need ``fc`` (``cam``) dropped
    where the layer does not feed it."""
    if not methods:
        return {}
    try:
        return compute_method_maps(net, layer, x, targets, methods)[0]
    except CamError as exc:
        fc = [m for m in methods if REGISTRY[m].needs_fc]
        if not fc:
            raise
        log.info("discrimination: %s left out at %s (%s)", ", ".join(fc), layer_name, exc)
        return compute_method_maps(net, layer, x, targets, [m for m in methods if m not in fc])[0]


def discrimination_table(
    maps: Mapping[str, Mapping[str, np.ndarray]],
    layer: str,
    speakers: Sequence[str],
    recordings: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per method (columns :data:`DISCRIMINATION_COLUMNS`) from ``{method: {"true", "other", "reinit"}}``
    maps ``[N, ...]`` of the same ``N`` tokens."""
    clusters, unit = resampling_clusters(list(speakers), list(recordings))
    same = _same_maps(maps)
    rows = []
    for method, m in maps.items():
        other = cluster_bootstrap_mean(rank_correlation(m["true"], m["other"]), clusters, n_boot, seed)
        reinit = cluster_bootstrap_mean(rank_correlation(m["true"], m["reinit"]), clusters, n_boot, seed)
        agnostic, insensitive = other[0] >= AGNOSTIC_RHO, reinit[0] >= AGNOSTIC_RHO
        rows.append(
            {
                "method": method,
                "layer": layer,
                "n": other[3],
                "n_clusters": other[4],
                "unit": unit,
                "rho_other": other[0],
                "rho_other_lo": other[1],
                "rho_other_hi": other[2],
                "rho_reinit": reinit[0],
                "rho_reinit_lo": reinit[1],
                "rho_reinit_hi": reinit[2],
                "same_as": " ".join(same.get(method, [])),
                "class_agnostic": int(agnostic),
                "model_insensitive": int(insensitive),
                "collapsed": int(agnostic or insensitive or bool(same.get(method))),
                "reason": _reason(method, other[0], reinit[0], same.get(method, []), layer),
            }
        )
    return rows


def _same_maps(maps: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, list[str]]:
    names = list(maps)
    same: dict[str, list[str]] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            # positive parts: what band analysis reads (CAM's own negatives are clipped there too)
            rho = rank_correlation(np.clip(maps[a]["true"], 0, None), np.clip(maps[b]["true"], 0, None))
            if np.isfinite(rho).any() and np.nanmean(rho) >= SAME_MAP_RHO:
                same.setdefault(a, []).append(b)
                same.setdefault(b, []).append(a)
    return same


def _reason(method: str, rho_other: float, rho_reinit: float, same: list[str], layer: str) -> str:
    parts = []
    if rho_other >= AGNOSTIC_RHO:
        parts.append(
            f"class-agnostic: its maps for another class rank cells like the true class's "
            f"(rho {rho_other:.2f} >= {AGNOSTIC_RHO})"
        )
    if rho_reinit >= AGNOSTIC_RHO:
        parts.append(
            f"insensitive to the classifier: a re-initialised fc gives nearly the same map "
            f"(rho {rho_reinit:.2f} >= {AGNOSTIC_RHO})"
        )
    if same:
        linear = {"gradcam", "hirescam", "cam"}
        why = (
            " (the gradient is constant over the grid of the layer feeding global average pooling, so Grad-CAM "
            "= HiResCAM = CAM / (h x w))"
            if method in linear and linear & set(same)
            else ""
        )
        parts.append(f"same map as {', '.join(same)} at {layer}{why}")
    return "; ".join(parts)


def meta_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The table in short, for ``cams/meta.json``."""
    return {
        r["method"]: {
            k: r[k]
            for k in (
                "rho_other",
                "rho_other_lo",
                "rho_other_hi",
                "rho_reinit",
                "rho_reinit_lo",
                "rho_reinit_hi",
                "n",
                "n_clusters",
                "unit",
                "collapsed",
                "reason",
            )
        }
        for r in rows
    }
