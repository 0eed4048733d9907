"""``xgradcam``: XGrad-CAM (Fu et al. 2020, "Axiom-based Grad-CAM").

Channel weights ``w_k = sum_hw(g_k * A_k) / (sum_hw(A_k) + eps)`` (the gradient averaged with the activation as
weight, which makes the map satisfy the paper's sensitivity and conservation axioms), map
``relu(sum_k w_k A_k)``. ``eps`` = 1e-7 as in pytorch-grad-cam's ``XGradCAM``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import GradientMethod, register

if TYPE_CHECKING:
    import torch

EPS = 1e-7


@register
class XGradCam(GradientMethod):
    name = "xgradcam"
    title = "Fu et al. 2020, Axiom-based Grad-CAM: towards accurate visualization and explanation of CNNs"

    def combine(self, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        weights = (grad * activation).sum(dim=(2, 3), keepdim=True) / (activation.sum(dim=(2, 3), keepdim=True) + EPS)
        return (weights * activation).sum(1)
