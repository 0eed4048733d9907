"""Class activation maps, batched: one forward and one backward per batch and target, no per-token loops.

The methods are the registry's (:mod:`vowelcam.explain.maps.methods`: ``cam``, ``gradcam``, ``gradcam++``,
``hirescam``, ``layercam``, ``scorecam``, ..., each a small class in its own file). This module runs them:
a forward pass with the target layer's activations captured, for gradient methods one backward pass per target
column, and each method's map from what the pass gave.

``CamBatch.layer_maps`` are each method's maps as its paper defines them on the layer grid: the ReLU that ends
most definitions (:data:`~vowelcam.explain.maps.methods.RELU_METHODS`) is applied on the layer grid, *before*
upsampling, as the papers do (clipping after upsampling lets interpolation smear negative cells into their positive
neighbours). The original CAM has no ReLU and stays signed. ``CamBatch.raw_maps`` are the maps before that ReLU
(for contrastive maps: a difference of two classes' raw maps is the map of the logit difference for the linear
methods). No per-token rescaling anywhere (the ``grad-cam`` package min-max scales every map to 0..1, which makes
tokens incomparable). Each map comes from its own token's activations and gradients: the gradient of the summed
target logits of a batch with respect to the batch's activations is, token by token, the gradient of that token's
logit, because eval-mode tokens do not interact.

The model is switched to eval mode for the call and put back in its previous mode afterwards; hooks live inside
a ``with`` block and are removed even when the call fails (:mod:`.capture`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .capture import ActivationCapture, eval_mode
from .grid import CamGrid, make_grid
from .methods import GradientMethod, LayerPass, get_method


@dataclass
class CamBatch:
    """CAMs of one batch on the layer grid: ``layer_maps`` ``[N, K, h, w]`` as each method defines them (ReLU
    included where the definition has it), ``raw_maps`` before that ReLU, ``logits`` ``[N, classes]``."""

    layer_maps: torch.Tensor
    logits: torch.Tensor
    raw_maps: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.raw_maps is None:
            self.raw_maps = self.layer_maps


def rectify(method: str, maps: torch.Tensor) -> torch.Tensor:
    """The ReLU that ends ``method``'s definition (none for the original CAM), applied on the layer grid."""
    return get_method(method).rectify(maps)


def compute_layer_cams(
    model: nn.Module,
    layer: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    method: str,
    grid: CamGrid | None = None,
    scorecam_batch: int = 64,
) -> CamBatch:
    """CAMs of ``x`` ``[N, 1, F, T]`` for ``targets`` ``[N, K]`` (class indices, e.g. true and predicted).

    One forward pass per batch; gradient methods add one backward pass per target column (``K``), each stopping
    at ``layer``. ``grid`` is needed by methods that upsample (``scorecam``'s masks are upsampled the way the maps
    are); ``scorecam_batch``: masked inputs per extra forward pass.
    """
    m = get_method(method)
    targets = targets.to(x.device).long().reshape(len(x), -1)
    with eval_mode(model), ActivationCapture(layer) as capture:
        if isinstance(m, GradientMethod):
            raw, logits = _gradient_cams(model, capture, x, targets, [m])
            return CamBatch(m.rectify(raw[m.name]), logits, raw[m.name])
        with torch.no_grad():
            logits, activation = capture.run(model, x)
    # outside the capture: a method may run the model again (Score-CAM's masked inputs)
    raw = m.maps(LayerPass(model, x, activation, targets, grid, scorecam_batch))
    return CamBatch(m.rectify(raw), logits, raw)


def compute_method_maps(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, targets: torch.Tensor, methods: list[str]
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Layer-grid maps ``[N, K, h, w]`` of several cheap methods (gradient methods and those computed from the
    activations alone, e.g. ``cam``) from one forward and one backward pass per target column: they share
    activations and gradients. Returns ``(maps by method, logits)``, maps as each method defines them (ReLU
    included)."""
    chosen = [get_method(m) for m in methods]
    targets = targets.to(x.device).long().reshape(len(x), -1)
    grads = [m for m in chosen if isinstance(m, GradientMethod)]
    others = [m for m in chosen if not isinstance(m, GradientMethod)]
    with eval_mode(model), ActivationCapture(layer) as capture:
        raw, logits = _gradient_cams(model, capture, x, targets, grads, keep_activation=bool(others))
    if others:
        activation = raw.pop("_activation")
        for m in others:
            raw[m.name] = m.maps(LayerPass(model, x, activation, targets))
    return {m.name: m.rectify(raw[m.name]) for m in chosen if m.name in raw}, logits


def _gradient_cams(
    model: nn.Module,
    capture: ActivationCapture,
    x: torch.Tensor,
    targets: torch.Tensor,
    methods: list[GradientMethod],
    keep_activation: bool = False,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Raw (pre-ReLU) maps ``[N, K, h, w]`` of each gradient method in ``methods``, and the logits."""
    with torch.enable_grad():
        logits, activation = capture.run(model, x)
        maps: dict[str, list[torch.Tensor]] = {m.name: [] for m in methods}
        for k in range(targets.shape[1] if methods else 0):
            score = logits.gather(1, targets[:, k : k + 1]).sum()
            (grad,) = torch.autograd.grad(score, activation, retain_graph=k < targets.shape[1] - 1)
            for method in methods:
                maps[method.name].append(method.combine(activation.detach(), grad))
    out = {m: torch.stack(v, dim=1) for m, v in maps.items()}
    if keep_activation:
        out["_activation"] = activation.detach()
    return out, logits.detach()


# Stride probe length: 1536 = 2^9 * 3 cells, so every stride made of stride-2 (and one stride-3) stages divides it
# and the layer has exactly 1536 / stride cells, whether its convolutions pad (round up) or not (round down).
PROBE_LENGTH = 1536


def _layer_shape(model: nn.Module, layer: nn.Module, rows: int, cols: int) -> tuple[int, int]:
    device = next(model.parameters()).device
    with eval_mode(model), ActivationCapture(layer) as capture, torch.no_grad():
        _, activation = capture.run(model, torch.zeros(1, 1, rows, cols, device=device))
    return int(activation.shape[-2]), int(activation.shape[-1])


def _measured_stride(model: nn.Module, layer: nn.Module, rows: int, cols: int, axis: int) -> int | None:
    """Stride along ``axis`` (0 rows, 1 frames) from the layer's size on a ``PROBE_LENGTH``-long input; None when
    the model refuses other input sizes."""
    size = [rows, cols]
    size[axis] = PROBE_LENGTH
    try:
        cells = _layer_shape(model, layer, *size)[axis]
    except RuntimeError:
        return None
    return max(1, int(round(PROBE_LENGTH / cells)))


def layer_grid(
    model: nn.Module,
    layer: nn.Module,
    layer_name: str,
    input_freqs: np.ndarray,
    n_frames: int,
    hz_per_row: float | None = None,
    input_pool: tuple[int, int] = (1, 1),
) -> CamGrid:
    """The :class:`CamGrid` of ``layer`` for inputs of ``len(input_freqs)`` rows x ``n_frames``.

    Strides are measured with two probe passes on longer inputs (sizes alone can be ambiguous: 2 cells from 96
    frames fit strides 33 to 95); ``hz_per_row`` and ``input_pool`` as the checkpoint records them
    (see :func:`vowelcam.explain.maps.grid.make_grid`).
    """
    rows = len(input_freqs)
    shape = _layer_shape(model, layer, rows, n_frames)
    strides = (_measured_stride(model, layer, rows, n_frames, 0), _measured_stride(model, layer, rows, n_frames, 1))
    return make_grid(layer_name, shape, input_freqs, n_frames, hz_per_row, input_pool, strides)


def compute_cams(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, targets: torch.Tensor, method: str, grid: CamGrid
) -> tuple[torch.Tensor, torch.Tensor]:
    """CAMs upsampled to the input grid, ``[N, K, F, T]`` (ReLU on the layer grid where the method has one, no
    rescaling), and the logits ``[N, classes]``."""
    batch = compute_layer_cams(model, layer, x, targets, method, grid)
    return grid.upsample(batch.layer_maps), batch.logits


def compute_cams_with_contrast(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, targets: torch.Tensor, method: str, grid: CamGrid
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """As :func:`compute_cams` for ``targets`` ``[N, 2]`` (true, predicted), plus the contrastive map ``[N, F, T]``:
    the predicted-class raw (pre-ReLU) map minus the true-class raw map, upsampled. Positive = evidence for the
    predicted class over the true one; zero for correctly classified tokens."""
    batch = compute_layer_cams(model, layer, x, targets, method, grid)
    raw = batch.raw_maps
    contrast = grid.upsample(raw[:, 1] - raw[:, 0])
    same = (targets[:, 0] == targets[:, 1]).to(contrast.device)
    contrast = torch.where(same[:, None, None], torch.zeros_like(contrast), contrast)
    return grid.upsample(batch.layer_maps), batch.logits, contrast
