"""Where training starts from: random weights, ImageNet's (``--pretrained``), a weights file (``--weights``) or
vowelcam's base model (``--init base``, :mod:`vowelcam.base_model`)."""

from __future__ import annotations

import torch

from ...acoustics.store import SpectrogramStore
from ...base_model import weights_file
from ...config import TrainSettings
from ..models import (
    ModelInfo,
    SpectrogramResNet,
    check_compatible,
    imagenet_state_dict,
    info_from_checkpoint,
    load_backbone,
    read_state_dict,
)


def initial_model(info: ModelInfo, settings: TrainSettings, store: SpectrogramStore) -> SpectrogramResNet:
    """A fresh network for ``info``, its backbone loaded from the weights ``settings`` name (a vowelcam checkpoint's
    spectrogram settings must match the run's ``store``)."""
    model = SpectrogramResNet(info.arch, len(info.labels), info.freq_strides, info.input_pool)
    if settings.pretrained:
        load_backbone(model, imagenet_state_dict(info.arch), f"ImageNet {info.arch}")
    elif settings.weights:
        path = weights_file(settings.weights)
        try:
            other = info_from_checkpoint(torch.load(path, map_location="cpu", weights_only=True), str(path))
        except Exception:
            other = None  # a plain state dict: no spectrogram settings to compare
        if other is not None:
            check_compatible(other, store.settings, str(path))
        load_backbone(model, read_state_dict(path), str(path))
    return model
