"""``layercam``: LayerCAM (Jiang et al. 2021), ``relu(sum_k relu(g_k) * A_k)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import GradientMethod, register

if TYPE_CHECKING:
    import torch


@register
class LayerCam(GradientMethod):
    name = "layercam"
    title = "Jiang et al. 2021, LayerCAM: exploring hierarchical class activation maps for localization"
    discrimination = True

    def combine(self, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        return (grad.clamp(min=0) * activation).sum(1)
