"""Model-randomisation checks (Adebayo et al. 2018, "Sanity checks for saliency maps").

- **Cascading randomisation.** Layers are re-initialised one after another from the top (``fc``, then ``layer4``,
  ``layer3``, ... down to the stem), each step keeping the earlier ones random; after each step the true-class
  maps of the copy are compared with the trained model's maps as the Spearman rank correlation of each token's
  layer-grid map (condition ``fc``, ``fc+layer4``, ...). Repeated for ``randomisation_seeds`` seeds; a token's
  value is its mean over seeds (metric ``spearman``; ``spearman_seed_sd`` is the mean spread between seeds).
  Maps that survive randomisation say nothing about what the model learnt. Run on at most
  ``randomisation_max_tokens`` tokens (a seeded random subset) to bound the cost.
- **Label permutation** (opt-in, ``label_permutation``). Adebayo et al. retrain the whole network on permuted
  labels. The cheaper variant used here keeps the trained stem and lower blocks fixed, re-initialises the top
  block and ``fc`` and trains only them on the run's *training* tokens with their labels permuted (the lower
  features are computed once and cached, so an epoch costs the top block only). A top block that memorises
  random labels (``permuted_train_accuracy``, on those permuted labels) has the same input features as the real
  one but no vowel knowledge; maps that still match the trained maps (``label_permutation``/``spearman``) follow
  the input, not the learnt decision. It tests the CAM layer and above only, which is where CAM maps are read.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ...checks.finite import mean_of_finite, sd_of_finite
from ..maps.capture import eval_mode
from .common import FaithInputs, FaithSpec, layer_maps, stat_row

log = logging.getLogger(__name__)

RESNET_CASCADE = (
    ("fc", ("fc",)),
    ("layer4", ("layer4",)),
    ("layer3", ("layer3",)),
    ("layer2", ("layer2",)),
    ("layer1", ("layer1",)),
    ("conv1", ("conv1", "bn1")),
)


def resnet_cascade(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The cascade of a (Spectrogram)ResNet, top first: the steps whose modules the model has."""
    steps = []
    for name, parts in RESNET_CASCADE:
        modules = [getattr(model, p) for p in parts if isinstance(getattr(model, p, None), nn.Module)]
        if modules:
            steps.append((name, modules))
    return steps


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of flattened maps ``a[i]``, ``b[i]`` (NaN for constant maps)."""
    from scipy.stats import rankdata

    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    return np.divide((ra * rb).sum(1), denom, out=np.full(len(a), np.nan), where=denom > 0)


def reinitialise(modules: Sequence[nn.Module], seed: int) -> None:
    """``reset_parameters`` on every submodule that has it (batch norms: statistics too), seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in modules:
            for sub in module.modules():
                if hasattr(sub, "reset_parameters"):
                    sub.reset_parameters()
                if hasattr(sub, "reset_running_stats"):
                    sub.reset_running_stats()


def _names(model: nn.Module) -> dict[int, str]:
    return {id(m): n for n, m in model.named_modules()}


def randomisation(inp: FaithInputs, base_maps: np.ndarray, spec: FaithSpec) -> list[dict[str, Any]]:
    """Cascade rows (and label-permutation rows when asked) on a subset of at most
    ``randomisation_max_tokens`` tokens."""
    n = len(inp.specs)
    keep = np.sort(np.random.default_rng(spec.seed).permutation(n)[: max(1, spec.randomisation_max_tokens)])
    sub, maps = inp.subset(keep), base_maps[keep]
    rows = _cascade_rows(sub, maps, spec)
    if spec.label_permutation:
        rows += _permutation_rows(sub, maps, spec)
    return rows


def _cascade_rows(inp: FaithInputs, base_maps: np.ndarray, spec: FaithSpec) -> list[dict[str, Any]]:
    names = _names(inp.model)
    steps = [(label, [names[id(m)] for m in modules]) for label, modules in inp.cascade]
    rho = np.full((len(steps), max(1, spec.randomisation_seeds), len(base_maps)), np.nan)
    for s in range(rho.shape[1]):
        twin = copy.deepcopy(inp.model)
        modules = dict(twin.named_modules())
        for depth, (_, parts) in enumerate(steps):
            reinitialise([modules[p] for p in parts], spec.seed + 1000 * s + depth)
            twin_maps = layer_maps(inp, inp.specs, spec, twin, modules[names[id(inp.layer)]])
            rho[depth, s] = spearman_rows(base_maps, twin_maps)
    rows, label = [], ""
    for depth, (name, _) in enumerate(steps):
        label = f"{label}+{name}" if label else name
        rows.append(
            stat_row("randomisation", label, "spearman", mean_of_finite(rho[depth]), inp.clusters, inp.unit, spec)
        )
        if rho.shape[1] > 1:
            rows.append(
                stat_row(
                    "randomisation",
                    label,
                    "spearman_seed_sd",
                    sd_of_finite(rho[depth]),
                    inp.clusters,
                    inp.unit,
                    spec,
                )
            )
    return rows


def _permutation_rows(inp: FaithInputs, base_maps: np.ndarray, spec: FaithSpec) -> list[dict[str, Any]]:
    trained = permuted_label_copy(inp, spec)
    if trained is None:
        return []
    twin, accuracy, n_train = trained
    twin_layer = dict(twin.named_modules())[_names(inp.model)[id(inp.layer)]]
    rho = spearman_rows(base_maps, layer_maps(inp, inp.specs, spec, twin, twin_layer))
    return [
        stat_row("randomisation", "label_permutation", "spearman", rho, inp.clusters, inp.unit, spec),
        {
            "test": "randomisation",
            "condition": "label_permutation",
            "metric": "permuted_train_accuracy",
            "value": accuracy,
            "ci_lo": None,
            "ci_hi": None,
            "n": n_train,
            "n_clusters": None,
            "unit": "token",
            "width_hz": None,
        },
    ]


def permuted_label_copy(inp: FaithInputs, spec: FaithSpec) -> tuple[nn.Module, float, int] | None:
    """A copy of a ResNet whose ``layer4`` and ``fc`` were re-initialised and trained on permuted labels of the
    training tokens; with its accuracy on those permuted labels. None (logged) when the model or data do not
    allow it."""
    if inp.train_specs is None or inp.train_idx is None or len(inp.train_specs) < 2:
        log.warning("label permutation skipped: no training tokens given")
        return None
    if not all(isinstance(getattr(inp.model, a, None), nn.Module) for a in ("layer3", "layer4", "avgpool", "fc")):
        log.warning("label permutation skipped: needs a ResNet (layer3, layer4, avgpool, fc)")
        return None
    twin = copy.deepcopy(inp.model)
    reinitialise([twin.layer4, twin.fc], spec.seed + 7)
    features = _lower_features(twin, inp, spec)
    labels = torch.from_numpy(np.random.default_rng(spec.seed).permutation(inp.train_idx)).long().to(inp.device)
    accuracy = _train_top(twin, features, labels, spec)
    twin.eval()
    return twin, accuracy, len(labels)


def _recalibrate_batch_norm(block: nn.Module, features: torch.Tensor, batch_size: int) -> None:
    """Exact running statistics of ``block``'s batch norms over all ``features`` (a cumulative average, not the
    lagging momentum estimate of the last steps), then eval mode."""
    norms = [m for m in block.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    block.train()
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            block(features[start : start + batch_size])
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    block.eval()


def _lower_features(model: nn.Module, inp: FaithInputs, spec: FaithSpec) -> torch.Tensor:
    """Inputs of ``layer4`` for every training token (frozen lower network, eval mode), on the device."""
    captured: list[torch.Tensor] = []
    handle = model.layer4.register_forward_pre_hook(lambda m, args: captured.append(args[0].detach()))
    try:
        with eval_mode(model), torch.no_grad():
            for start in range(0, len(inp.train_specs), spec.batch_size):
                model(inp.prepare(inp.train_specs[start : start + spec.batch_size]).to(inp.device))
    finally:
        handle.remove()
    return torch.cat(captured)


def _train_top(model: nn.Module, features: torch.Tensor, labels: torch.Tensor, spec: FaithSpec) -> float:
    """Adam on ``layer4`` + ``fc`` over cached features; returns the final accuracy on ``labels``."""
    params = [*model.layer4.parameters(), *model.fc.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    gen = torch.Generator().manual_seed(spec.seed)

    def head(x: torch.Tensor) -> torch.Tensor:
        return model.fc(torch.flatten(model.avgpool(model.layer4(x)), 1))

    with torch.enable_grad():
        model.layer4.train()
        for _ in range(max(1, spec.permutation_epochs)):
            for idx in torch.randperm(len(labels), generator=gen).split(spec.batch_size):
                idx = idx.to(labels.device)
                loss = nn.functional.cross_entropy(head(features[idx]), labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    _recalibrate_batch_norm(model.layer4, features, spec.batch_size)
    with torch.no_grad():
        hits = sum(
            int((head(features[i : i + spec.batch_size]).argmax(1) == labels[i : i + spec.batch_size]).sum())
            for i in range(0, len(labels), spec.batch_size)
        )
    return hits / len(labels)
