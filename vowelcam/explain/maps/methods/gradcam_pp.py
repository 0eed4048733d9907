"""``gradcam++``: Grad-CAM++ (Chattopadhay et al. 2018).

Channel weights ``sum_hw relu(g) * a`` with ``a = g^2 / (2 g^2 + sum_hw(A) g^3)`` (eq. 19 of the paper, computed
as ``1 / (2 + sum_hw(A) g)``), map ``relu(sum_k w_k A_k)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import GradientMethod, register

if TYPE_CHECKING:
    import torch


@register
class GradCamPlusPlus(GradientMethod):
    name = "gradcam++"
    aliases = ("gradcampp", "gradcamplusplus")
    title = "Chattopadhay et al. 2018, Grad-CAM++: improved visual explanations for deep convolutional networks"
    discrimination = True

    def combine(self, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        import torch

        # g^2 / (2 g^2 + sum(A) g^3) = 1 / (2 + sum(A) g) for g != 0: exact, without the package's eps (1e-6),
        # which is not small against g^2 when gradients are ~1e-3
        denom = 2 + activation.sum(dim=(2, 3), keepdim=True) * grad
        usable = (grad != 0) & (denom.abs() > 1e-12)
        alpha = torch.where(usable, 1 / torch.where(usable, denom, torch.ones_like(denom)), torch.zeros_like(denom))
        weights = (grad.clamp(min=0) * alpha).sum(dim=(2, 3), keepdim=True)
        return (weights * activation).sum(1)
