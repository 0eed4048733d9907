"""Errors of the explain stage (all :class:`vowelcam.errors.VowelcamError` subclasses, one clear line each)."""

from __future__ import annotations

from ..errors import ConfigError, VowelcamError


class CamError(VowelcamError):
    """A CAM cannot be computed as asked (layer grid, model structure)."""


class UnknownMethodError(CamError, ConfigError):
    """A CAM method name that vowelcam does not know."""


class UnknownLayerError(CamError, ConfigError):
    """A layer name the model does not offer as a CAM target."""
