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
- ``scorecam`` (Wang et al. 2020, as their released code computes it): channel weight ``w_k`` = the softmax
  *probability* of the target class for the input masked by channel ``k``'s upsampled, min-max scaled activation
  ``M_k`` (constant channels get weight 0). Masking here is toward the token's floor in dB, not toward 0:
  ``x_k = floor + M_k * (x - floor)`` with ``floor`` the token's :data:`SCORECAM_FLOOR_PERCENTILE` th percentile,
  so a masked-out cell becomes as quiet as the token's quiet cells (multiplying a corpus-mean z-score by 0 made
  quiet cells *louder*). The paper's baseline term ``f(X_b)`` is left out, as in the authors' code. Forward
  passes only, C per token (slow).

``CamBatch.layer_maps`` are each method's maps as its paper defines them on the layer grid: the ReLU that ends
Grad-CAM, Grad-CAM++, HiResCAM, LayerCAM and Score-CAM (:data:`RELU_METHODS`) is applied on the layer grid,
*before* upsampling, as the papers do (clipping after upsampling lets interpolation smear negative cells into
their positive neighbours). The original CAM has no ReLU and stays signed. ``CamBatch.raw_maps`` are the maps
before that ReLU (for contrastive maps: a difference of two classes' raw maps is the map of the logit difference
for the linear methods). No per-token rescaling anywhere (the ``grad-cam`` package min-max scales every map to
0..1, which makes tokens incomparable). Each map comes from its own token's activations and gradients: the
gradient of the summed target logits of a batch with respect to the batch's activations is, token by token, the
gradient of that token's logit, because eval-mode tokens do not interact.

The model is switched to eval mode for the call and put back in its previous mode afterwards; hooks live inside
a ``with`` block and are removed even when the call fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import CamError, UnknownMethodError
from .grid import CamGrid, make_grid

GRADIENT_METHODS = ("gradcam", "gradcam++", "hirescam", "layercam")
CAM_METHODS = ("cam", *GRADIENT_METHODS, "scorecam")
# Methods whose published definition ends in a ReLU of the summed map.
RELU_METHODS = frozenset({"gradcam", "gradcam++", "hirescam", "layercam", "scorecam"})
SCORECAM_FLOOR_PERCENTILE = 5.0  # the token's floor that Score-CAM masks toward (percentile of its input values)


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

    def __enter__(self) -> ActivationCapture:
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
    return maps.clamp(min=0) if method in RELU_METHODS else maps


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
    at ``layer``. ``grid`` is needed by ``scorecam`` (its masks are upsampled the way the maps are).
    """
    method = check_method(method)
    targets = targets.to(x.device).long().reshape(len(x), -1)
    with eval_mode(model), ActivationCapture(layer) as capture:
        if method in GRADIENT_METHODS:
            raw, logits = _gradient_cams(model, capture, x, targets, [method])
            return CamBatch(rectify(method, raw[method]), logits, raw[method])
        with torch.no_grad():
            logits, activation = capture.run(model, x)
        if method == "cam":
            maps = _fc_cams(model, activation, targets)
            return CamBatch(maps, logits, maps)
    if grid is None:
        raise CamError("Score-CAM needs the layer grid to upsample its masks")
    raw = _score_cams(model, x, activation, targets, grid, scorecam_batch)
    return CamBatch(rectify(method, raw), logits, raw)


def compute_method_maps(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, targets: torch.Tensor, methods: list[str]
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Layer-grid maps ``[N, K, h, w]`` of several gradient methods (and ``cam``) from one forward and one backward
    pass per target column: they share activations and gradients. Returns ``(maps by method, logits)``, maps as
    each method defines them (ReLU included)."""
    methods = [check_method(m) for m in methods]
    targets = targets.to(x.device).long().reshape(len(x), -1)
    grads = [m for m in methods if m in GRADIENT_METHODS]
    with eval_mode(model), ActivationCapture(layer) as capture:
        raw, logits = _gradient_cams(model, capture, x, targets, grads, keep_activation="cam" in methods)
    if "cam" in methods:
        raw["cam"] = _fc_cams(model, raw.pop("_activation"), targets)
    return {m: rectify(m, raw[m]) for m in methods if m in raw}, logits


def _gradient_cams(
    model: nn.Module,
    capture: ActivationCapture,
    x: torch.Tensor,
    targets: torch.Tensor,
    methods: list[str],
    keep_activation: bool = False,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Raw (pre-ReLU) maps ``[N, K, h, w]`` of each gradient method in ``methods``, and the logits."""
    with torch.enable_grad():
        logits, activation = capture.run(model, x)
        maps: dict[str, list[torch.Tensor]] = {m: [] for m in methods}
        for k in range(targets.shape[1] if methods else 0):
            score = logits.gather(1, targets[:, k : k + 1]).sum()
            (grad,) = torch.autograd.grad(score, activation, retain_graph=k < targets.shape[1] - 1)
            for method in methods:
                maps[method].append(combine(method, activation.detach(), grad))
    out = {m: torch.stack(v, dim=1) for m, v in maps.items()}
    if keep_activation:
        out["_activation"] = activation.detach()
    return out, logits.detach()


def _fc_cams(model: nn.Module, activation: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    fc = getattr(model, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise CamError("the original CAM needs a model whose classifier is a linear layer named 'fc'")
    if fc.in_features != activation.shape[1]:
        raise CamError(
            f"the original CAM needs the layer feeding 'fc' ({fc.in_features} channels); "
            f"this layer has {activation.shape[1]}"
        )
    weights = fc.weight.detach()[targets]  # [N, K, C]
    return torch.einsum("nkc,nchw->nkhw", weights, activation)


def token_floor(x: torch.Tensor, percentile: float = SCORECAM_FLOOR_PERCENTILE) -> torch.Tensor:
    """Each token's floor ``[N, 1, 1, 1]``: the ``percentile`` th percentile of its input values."""
    return torch.quantile(x.reshape(len(x), -1).float(), percentile / 100, dim=1).to(x.dtype).reshape(-1, 1, 1, 1)


def mask_toward_floor(x: torch.Tensor, masks: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """``floor + masks * (x - floor)``: mask 1 keeps a cell, mask 0 sets it to the token's floor (in dB terms,
    whatever the normalisation, since it is affine)."""
    return floor + masks * (x - floor)


def scorecam_weights(
    model: nn.Module, x: torch.Tensor, activation: torch.Tensor, targets: torch.Tensor, grid: CamGrid, chunk: int = 64
) -> torch.Tensor:
    """Score-CAM channel weights ``[N, C, K]``: the softmax probability of each target class for the input masked
    toward the token's floor by each channel's upsampled, min-max scaled activation (0 for constant channels)."""
    n, channels = activation.shape[:2]
    probs = torch.zeros(n, channels, targets.shape[1], device=x.device)
    flat = activation.reshape(n * channels, 1, *activation.shape[2:])
    floor = token_floor(x)
    with eval_mode(model), torch.no_grad():
        for start in range(0, n * channels, chunk):
            idx = torch.arange(start, min(start + chunk, n * channels), device=x.device)
            masks = grid.upsample(flat[idx])  # [B, 1, F, T]
            lo = masks.amin(dim=(2, 3), keepdim=True)
            span = masks.amax(dim=(2, 3), keepdim=True) - lo
            live = span.reshape(-1) > 0  # a constant channel masks nothing: weight 0, as in the authors' code
            masks = (masks - lo) / torch.where(span > 0, span, torch.ones_like(span))
            tokens = idx // channels
            p = torch.softmax(model(mask_toward_floor(x[tokens], masks, floor[tokens])), dim=1)
            probs.view(-1, targets.shape[1])[idx] = p.gather(1, targets[tokens]) * live[:, None]
    return probs


def _score_cams(
    model: nn.Module, x: torch.Tensor, activation: torch.Tensor, targets: torch.Tensor, grid: CamGrid, chunk: int
) -> torch.Tensor:
    """Raw Score-CAM maps ``[N, K, h, w]``: activations weighted by :func:`scorecam_weights`."""
    return torch.einsum("nck,nchw->nkhw", scorecam_weights(model, x, activation, targets, grid, chunk), activation)


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
    (see :func:`vowelcam.explain.grid.make_grid`).
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
