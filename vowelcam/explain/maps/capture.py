"""Running a model for a map: one layer's output captured as a leaf tensor, eval mode for a block.

Both are hook-safe: the hook lives inside a ``with`` block and is removed even when the call fails; the model's
previous mode is put back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ..errors import CamError


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
