"""``scorecam``: Score-CAM (Wang et al. 2020, as their released code computes it).

Channel weight ``w_k`` = the softmax *probability* of the target class for the input masked by channel ``k``'s
upsampled, min-max scaled activation ``M_k`` (constant channels get weight 0); map ``relu(sum_k w_k A_k)``.
Masking here is toward the token's floor in dB, not toward 0: ``x_k = floor + M_k * (x - floor)`` with ``floor``
the token's :data:`SCORECAM_FLOOR_PERCENTILE` th percentile, so a masked-out cell becomes as quiet as the token's
quiet cells (multiplying a corpus-mean z-score by 0 made quiet cells *louder*). The paper's baseline term
``f(X_b)`` is left out, as in the authors' code. Forward passes only, C per token (slow).

torch is imported inside the functions, so that the registry's names stay torch-free (see :mod:`.base`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import CamError
from .base import LayerPass, MapMethod, register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..grid import CamGrid

SCORECAM_FLOOR_PERCENTILE = 5.0  # the token's floor that Score-CAM masks toward (percentile of its input values)


@register
class ScoreCam(MapMethod):
    name = "scorecam"
    title = "Wang et al. 2020, Score-CAM: score-weighted visual explanations for convolutional neural networks"
    needs_grid = True
    relu = True
    cheap = False
    cost_note = "Score-CAM runs one forward pass per channel of %s per token: slow on a CPU"

    def maps(self, p: LayerPass) -> torch.Tensor:
        """Raw Score-CAM maps ``[N, K, h, w]``: activations weighted by :func:`scorecam_weights`."""
        import torch

        if p.grid is None:
            raise CamError("Score-CAM needs the layer grid to upsample its masks")
        weights = scorecam_weights(p.model, p.x, p.activation, p.targets, p.grid, p.chunk)
        return torch.einsum("nck,nchw->nkhw", weights, p.activation)


def token_floor(x: torch.Tensor, percentile: float = SCORECAM_FLOOR_PERCENTILE) -> torch.Tensor:
    """Each token's floor ``[N, 1, 1, 1]``: the ``percentile`` th percentile of its input values."""
    import torch

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
    import torch

    from ..capture import eval_mode

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
