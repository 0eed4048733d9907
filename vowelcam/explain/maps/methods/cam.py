"""``cam``: the original class activation map (Zhou et al. 2016, the study's method).

``sum_k w_ck A_k`` with ``w`` the ``fc`` weights of class ``c``; needs the layer that feeds global average pooling
and ``fc``. At that layer Grad-CAM and HiResCAM equal it divided by ``H * W``. No ReLU: the map stays signed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import CamError
from .base import LayerPass, MapMethod, register

if TYPE_CHECKING:
    import torch


@register
class Cam(MapMethod):
    name = "cam"
    title = "Zhou et al. 2016, Learning deep features for discriminative localization"
    needs_fc = True
    discrimination = True

    def maps(self, p: LayerPass) -> torch.Tensor:
        import torch
        from torch import nn

        fc = getattr(p.model, "fc", None)
        if not isinstance(fc, nn.Linear):
            raise CamError("the original CAM needs a model whose classifier is a linear layer named 'fc'")
        if fc.in_features != p.activation.shape[1]:
            raise CamError(
                f"the original CAM needs the layer feeding 'fc' ({fc.in_features} channels); "
                f"this layer has {p.activation.shape[1]}"
            )
        weights = fc.weight.detach()[p.targets]  # [N, K, C]
        return torch.einsum("nkc,nchw->nkhw", weights, p.activation)
