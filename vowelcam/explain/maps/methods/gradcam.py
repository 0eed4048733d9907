"""``gradcam``: Grad-CAM (Selvaraju et al. 2017), ``relu(sum_k mean_hw(g_k) A_k)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import GradientMethod, register

if TYPE_CHECKING:
    import torch


@register
class GradCam(GradientMethod):
    name = "gradcam"
    title = "Selvaraju et al. 2017, Grad-CAM: visual explanations from deep networks via gradient-based localization"
    discrimination = True

    def combine(self, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        return (grad.mean(dim=(2, 3), keepdim=True) * activation).sum(1)
