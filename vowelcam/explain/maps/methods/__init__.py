"""The registry of map methods: every module of this folder defines one method class and registers it by name.

Adding a method is one file here (a class over :class:`~.base.MapMethod` or :class:`~.base.GradientMethod` with
``@register``) plus its test; the CLI's ``--method`` choices, :data:`CAM_METHODS`, :data:`GRADIENT_METHODS` and
:data:`RELU_METHODS` follow from the registry. Methods are listed in the order of their file names.

Importing this package does not import torch (see :mod:`.base`); ``tests`` check that.
"""

from __future__ import annotations

import importlib
import pkgutil

from ...errors import UnknownMethodError
from .base import REGISTRY, GradientMethod, LayerPass, MapMethod, register

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module != "base":
        importlib.import_module(f"{__name__}.{_module}")

CAM_METHODS: tuple[str, ...] = tuple(REGISTRY)
GRADIENT_METHODS: tuple[str, ...] = tuple(n for n, m in REGISTRY.items() if m.needs_gradients)
# Methods whose published definition ends in a ReLU of the summed map.
RELU_METHODS: frozenset[str] = frozenset(n for n, m in REGISTRY.items() if m.relu)
CHEAP_METHODS: tuple[str, ...] = tuple(n for n, m in REGISTRY.items() if m.cheap)
DISCRIMINATION_METHODS: tuple[str, ...] = tuple(n for n, m in REGISTRY.items() if m.discrimination)
_ALIASES = {alias: n for n, m in REGISTRY.items() for alias in m.aliases}

__all__ = [
    "CAM_METHODS",
    "CHEAP_METHODS",
    "DISCRIMINATION_METHODS",
    "GRADIENT_METHODS",
    "RELU_METHODS",
    "GradientMethod",
    "LayerPass",
    "MapMethod",
    "check_method",
    "get_method",
    "register",
]


def check_method(method: str) -> str:
    """The canonical method name; :class:`UnknownMethodError` for anything else."""
    name = method.strip().lower().replace("_", "").replace("-", "")
    name = _ALIASES.get(name, name)
    if name not in REGISTRY:
        raise UnknownMethodError(f"unknown CAM method {method!r}; choose one of {', '.join(CAM_METHODS)}")
    return name


def get_method(method: str) -> MapMethod:
    """An instance of the method named ``method`` (any spelling :func:`check_method` accepts)."""
    return REGISTRY[check_method(method)]()
