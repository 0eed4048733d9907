"""The ``grad-cam`` package used the documented way: the reference the CAM cost benchmarks compare against."""

from __future__ import annotations

from collections.abc import Callable

import torch


def package_gradcam(model: torch.nn.Module, x: torch.Tensor, classes: list[int]) -> Callable[[], object]:
    """The grad-cam package the documented way: GradCAM(model, target_layers) with ClassifierOutputTarget."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    def run() -> object:
        with GradCAM(model=model, target_layers=[model.layer4]) as cam:
            return cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])

    return run
