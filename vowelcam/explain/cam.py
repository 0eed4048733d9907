"""Class activation maps, batched: one forward and one backward per batch and target, no per-token loops.

Methods (``CAM_METHODS``), ``A`` = the target layer's activations ``[C, H, W]`` of one token, ``y`` = the target
class logit, ``g = dy/dA``:

- ``cam`` (Zhou et al. 2016, the study's): ``sum_k w_ck A_k`` with ``w`` the ``fc`` weights; needs the layer that
  feeds global average pooling and ``fc``. At that layer Grad-CAM and HiResCAM equal it divided by ``H * W``.
- ``gradcam`` (Selvaraju et al. 2017): ``sum_k mean_hw(g_k) A_k``.
- ``gradcam++`` (Chattopadhay et al. 2018): channel weights ``sum_hw relu(g) * a`` with
  ``a = g^2 / (2 g^2 + sum_hw(A) g^3)`` (eq. 19 of the paper, computed as ``1 / (2 + sum_hw(A) g)``).
- ``hirescam`` (Draelos & Carin 2020): ``sum_k g_k * A_k`` (element-wise, no averaging).
- ``layercam`` (Jiang et al. 2021): ``sum_k relu(g_k) * A_k``.
- ``scorecam`` (Wang et al. 2020): channel weights = softmax over channels of the target logit when the input
  is multiplied by each channel's upsampled, min-max scaled activation. Forward passes only, C per token (slow).

Maps are returned **raw**: no ReLU, no per-token rescaling (the ``grad-cam`` package min-max scales every map to
0..1, which makes tokens incomparable). Where a method's definition ends in a ReLU (all but ``cam``), band
analysis clips negatives itself (see :mod:`vowelcam.explain.bands`). Each map comes from its own token's
activations and gradients: the gradient of the summed target logits of a batch with respect to the batch's
activations is, token by token, the gradient of that token's logit, because eval-mode tokens do not interact.

The model is switched to eval mode for the call and put back in its previous mode afterwards; hooks live inside
a ``with`` block and are removed even when the call fails.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .errors import CamError, UnknownMethodError
from .grid import CamGrid, make_grid

GRADIENT_METHODS = ("gradcam", "gradcam++", "hirescam", "layercam")
CAM_METHODS = ("cam", *GRADIENT_METHODS, "scorecam")
# Methods whose published definition ends in a ReLU of the summed map.
RELU_METHODS = frozenset({"gradcam", "gradcam++", "hirescam", "layercam", "scorecam"})


def check_method(method: str) -> str:
    """The canonical method name; :class:`UnknownMethodError` for anything else."""
    name = method.strip().lower().replace("_", "").replace("-", "")
    aliases = {"gradcampp": "gradcam++", "gradcamplusplus": "gradcam++"}
    name = aliases.get(name, name)
    if name not in CAM_METHODS:
        raise UnknownMethodError(f"unknown CAM method {method!r}; choose one of {', '.join(CAM_METHODS)}")
    return name


class ActivationCapture:
    """Context manager capturing one layer's output in a forward pass as a leaf tensor that gradients stop at.

    The hook replaces the layer's output by a detached copy that requires grad, so a backward pass from the logits
    ends at this layer (no gradients for earlier layers or any parameter) and works with frozen weights too.
    """

    def __init__(self, layer: nn.Module):
        self.layer = layer
        self.activation: torch.Tensor | None = None
        self._handle: torch.utils.hooks.RemovableHandle | None = None

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if self.activation is not None:
            raise CamError("the CAM layer ran twice in one forward pass; choose a layer used once")
        leaf = output.detach().requires_grad_(torch.is_grad_enabled())
        self.activation = leaf
        return leaf.clone() if leaf.requires_grad else leaf  # a clone keeps in-place ops downstream legal

    def __enter__(self) -> "ActivationCapture":
        self._handle = self.layer.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self.activation = None

    def run(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward ``x``; return ``(logits, activation)``."""
        self.activation = None
        logits = model(x)
        if self.activation is None:
            raise CamError("the CAM layer did not run in the model's forward pass")
        return logits, self.activation


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the block, the caller's mode restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@dataclass
class CamBatch:
    """Raw CAMs of one batch: ``layer_maps`` ``[N, K, h, w]`` on the layer grid, ``logits`` ``[N, classes]``."""

    layer_maps: torch.Tensor
    logits: torch.Tensor


def combine(method: str, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """One gradient method's map ``[N, h, w]`` from activations and gradients ``[N, C, h, w]``."""
    if method == "gradcam":
        return (grad.mean(dim=(2, 3), keepdim=True) * activation).sum(1)
    if method == "hirescam":
        return (grad * activation).sum(1)
    if method == "layercam":
        return (grad.clamp(min=0) * activation).sum(1)
    if method == "gradcam++":
        # g^2 / (2 g^2 + sum(A) g^3) = 1 / (2 + sum(A) g) for g != 0: exact, without the package's eps (1e-6),
        # which is not small against g^2 when gradients are ~1e-3
        denom = 2 + activation.sum(dim=(2, 3), keepdim=True) * grad
        usable = (grad != 0) & (denom.abs() > 1e-12)
        alpha = torch.where(usable, 1 / torch.where(usable, denom, torch.ones_like(denom)), torch.zeros_like(denom))
        weights = (grad.clamp(min=0) * alpha).sum(dim=(2, 3), keepdim=True)
        return (weights * activation).sum(1)
    raise UnknownMethodError(f"{method!r} is not a gradient CAM method")


def compute_layer_cams(model: nn.Module, layer: nn.Module, x: torch.Tensor, targets: torch.Tensor, method: str,
                       grid: CamGrid | None = None, scorecam_batch: int = 64) -> CamBatch:
    """Raw CAMs of ``x`` ``[N, 1, F, T]`` for ``targets`` ``[N, K]`` (class indices, e.g. true and predicted).

    One forward pass per batch; gradient methods add one backward pass per target column (``K``), each stopping
    at ``layer``. ``grid`` is needed by ``scorecam`` (its masks are upsampled the way the maps are).
    """
    method = check_method(method)
    targets = targets.to(x.device).long().reshape(len(x), -1)
    with eval_mode(model), ActivationCapture(layer) as capture:
        if method in GRADIENT_METHODS:
            return _gradient_cams(model, capture, x, targets, method)
        with torch.no_grad():
            logits, activation = capture.run(model, x)
        if method == "cam":
            return CamBatch(_fc_cams(model, activation, targets), logits)
    if grid is None:
        raise CamError("Score-CAM needs the layer grid to upsample its masks")
    return CamBatch(_score_cams(model, x, activation, targets, grid, scorecam_batch), logits)


def _gradient_cams(model: nn.Module, capture: ActivationCapture, x: torch.Tensor, targets: torch.Tensor,
                   method: str) -> CamBatch:
    with torch.enable_grad():
        logits, activation = capture.run(model, x)
        maps = []
        for k in range(targets.shape[1]):
            score = logits.gather(1, targets[:, k : k + 1]).sum()
            (grad,) = torch.autograd.grad(score, activation, retain_graph=k < targets.shape[1] - 1)
            maps.append(combine(method, activation.detach(), grad))
    return CamBatch(torch.stack(maps, dim=1), logits.detach())


def _fc_cams(model: nn.Module, activation: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    fc = getattr(model, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise CamError("the original CAM needs a model whose classifier is a linear layer named 'fc'")
    if fc.in_features != activation.shape[1]:
        raise CamError(f"the original CAM needs the layer feeding 'fc' ({fc.in_features} channels); "
                       f"this layer has {activation.shape[1]}")
    weights = fc.weight.detach()[targets]  # [N, K, C]
    return torch.einsum("nkc,nchw->nkhw", weights, activation)


def _score_cams(model: nn.Module, x: torch.Tensor, activation: torch.Tensor, targets: torch.Tensor,
                grid: CamGrid, chunk: int) -> torch.Tensor:
    n, channels = activation.shape[:2]
    scores = torch.empty(n, channels, targets.shape[1], device=x.device)
    flat = activation.reshape(n * channels, 1, *activation.shape[2:])
    with eval_mode(model), torch.no_grad():
        for start in range(0, n * channels, chunk):
            idx = torch.arange(start, min(start + chunk, n * channels), device=x.device)
            masks = grid.upsample(flat[idx])  # [B, 1, F, T]
            lo = masks.amin(dim=(2, 3), keepdim=True)
            hi = masks.amax(dim=(2, 3), keepdim=True)
            masks = (masks - lo) / (hi - lo + 1e-8)
            tokens = idx // channels
            logits = model(x[tokens] * masks)
            scores.view(-1, targets.shape[1])[idx] = logits.gather(1, targets[tokens])
    weights = torch.softmax(scores, dim=1)  # over channels, per token and target
    return torch.einsum("nck,nchw->nkhw", weights, activation)


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


def layer_grid(model: nn.Module, layer: nn.Module, layer_name: str, input_freqs: np.ndarray, n_frames: int,
               hz_per_row: float | None = None, input_pool: tuple[int, int] = (1, 1)) -> CamGrid:
    """The :class:`CamGrid` of ``layer`` for inputs of ``len(input_freqs)`` rows x ``n_frames``.

    Strides are measured with two probe passes on longer inputs (sizes alone can be ambiguous: 2 cells from 96
    frames fit strides 33 to 95); ``hz_per_row`` and ``input_pool`` as the checkpoint records them
    (see :func:`vowelcam.explain.grid.make_grid`).
    """
    rows = len(input_freqs)
    shape = _layer_shape(model, layer, rows, n_frames)
    strides = (_measured_stride(model, layer, rows, n_frames, 0), _measured_stride(model, layer, rows, n_frames, 1))
    return make_grid(layer_name, shape, input_freqs, n_frames, hz_per_row, input_pool, strides)


def compute_cams(model: nn.Module, layer: nn.Module, x: torch.Tensor, targets: torch.Tensor, method: str,
                 grid: CamGrid) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw CAMs upsampled to the input grid, ``[N, K, F, T]``, and the logits ``[N, classes]``."""
    batch = compute_layer_cams(model, layer, x, targets, method, grid)
    return grid.upsample(batch.layer_maps), batch.logits
