"""``hirescam``: HiResCAM (Draelos & Carin 2020), ``relu(sum_k g_k * A_k)`` (element-wise, no averaging)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import GradientMethod, register

if TYPE_CHECKING:
    import torch


@register
class HiResCam(GradientMethod):
    name = "hirescam"
    title = "Draelos & Carin 2020, Use HiResCAM instead of Grad-CAM for faithful explanations"
    discrimination = True

    def combine(self, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        return (grad * activation).sum(1)
