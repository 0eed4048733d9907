"""The base of every map method: one small class per method, registered by name (the way pytorch-grad-cam gives
each method a class over a shared base).

A method declares what it needs and how its published definition ends, and computes its raw map (before that
ReLU) from one pass at the target layer:

- :class:`MapMethod`: any instrument that draws, for a class, a map of a token on the layer's grid (rows = Hz,
  columns = time). ``maps(p)`` gets a :class:`LayerPass` (the model, the input batch, the layer's activations, the
  targets and the layer grid) and returns ``[N, K, h, w]``. An attribution instrument that is not a CAM
  (integrated gradients, band occlusion) subclasses it too: it may ignore the activations and run the model on
  altered inputs as Score-CAM does (``cheap = False`` when that costs many passes).
- :class:`GradientMethod`: a map from the layer's activations and the gradient of the target logit with respect
  to them, ``combine(A, g)``; the stage computes one forward and one backward pass per target and hands the same
  activations and gradients to every gradient method it runs.

Registering is the class decorator :func:`register`; the registry (:mod:`vowelcam.explain.maps.methods`) imports
every module of its folder. Nothing here imports torch at module level (methods import it inside their functions),
so the list of names is cheap to read: the CLI builds ``--method``'s choices from it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..grid import CamGrid

REGISTRY: dict[str, type[MapMethod]] = {}


@dataclass
class LayerPass:
    """What one forward pass at the target layer gives a method: ``x`` ``[N, 1, F, T]`` (the model's input),
    ``activation`` ``[N, C, h, w]`` (detached), ``targets`` ``[N, K]`` class indices, the layer ``grid`` (None
    where the caller has none) and ``chunk`` (how many masked inputs one extra forward pass may hold)."""

    model: nn.Module
    x: torch.Tensor
    activation: torch.Tensor
    targets: torch.Tensor
    grid: CamGrid | None = None
    chunk: int = 64


class MapMethod:
    """A registered map method. Subclasses set the class attributes and implement :meth:`maps`."""

    name: ClassVar[str] = ""  # the canonical name (CLI ``--method``, meta.json, CSV columns)
    aliases: ClassVar[tuple[str, ...]] = ()  # other spellings, lower case without '-' and '_'
    title: ClassVar[str] = ""  # the paper, for docs and reports
    needs_gradients: ClassVar[bool] = False  # one backward pass per target to the layer (GradientMethod)
    needs_fc: ClassVar[bool] = False  # reads the classifier's weights: only at the layer feeding GAP + ``fc``
    needs_grid: ClassVar[bool] = False  # upsamples something to the input grid itself (Score-CAM's masks)
    relu: ClassVar[bool] = False  # the published definition ends in a ReLU of the summed map
    cheap: ClassVar[bool] = True  # a few passes per batch; False: many per token (Score-CAM: one per channel)
    discrimination: ClassVar[bool] = False  # always in discrimination.csv (else only when it is the run's method)
    cost_note: ClassVar[str] = ""  # a warning logged when a run uses it (``%s`` = the layer)

    def maps(self, p: LayerPass) -> torch.Tensor:
        """Raw maps ``[N, K, h, w]`` (before the definition's ReLU) for ``p.targets``."""
        raise NotImplementedError

    def rectify(self, maps: torch.Tensor) -> torch.Tensor:
        """The ReLU that ends the definition (none where ``relu`` is False), on the layer grid."""
        return maps.clamp(min=0) if self.relu else maps


class GradientMethod(MapMethod):
    """A map from activations ``A`` and gradients ``g = dy/dA`` ``[N, C, h, w]`` of one target column."""

    needs_gradients = True
    relu = True

    def combine(self, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """The raw map ``[N, h, w]``."""
        raise NotImplementedError

    def maps(self, p: LayerPass) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} needs the gradient pass of vowelcam.explain.maps.cam")


def register(cls: type[Any]) -> type[Any]:
    """Class decorator: add a :class:`MapMethod` subclass to the registry under its ``name``."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"map method {cls.__name__}: name {cls.name!r} is empty or taken")
    REGISTRY[cls.name] = cls
    return cls
