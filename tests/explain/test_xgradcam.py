"""XGrad-CAM, added as one file in the method registry: its maps equal pytorch-grad-cam's ``XGradCAM``, and the
registry offers it everywhere a method name is chosen."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from vowelcam.explain.maps.cam import compute_layer_cams
from vowelcam.explain.maps.methods import CAM_METHODS, GRADIENT_METHODS, RELU_METHODS, check_method


def test_matches_grad_cam_package():
    """Our raw layer maps, put through the package's ReLU + per-map min-max, equal its documented output."""
    from pytorch_grad_cam import XGradCAM
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from torchvision.models import resnet18

    torch.manual_seed(1)
    model = resnet18(num_classes=5)
    model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    model.eval()
    x, classes = torch.randn(2, 1, 64, 64), [1, 3]
    batch = compute_layer_cams(model, model.layer3, x, torch.tensor(classes)[:, None], "xgradcam")
    ours = batch.layer_maps[:, 0]
    assert torch.equal(ours, batch.raw_maps[:, 0].clamp(min=0))  # the definition's ReLU, on the layer grid
    # the package: ReLU, upsample to the input, min-max per image; twice, as the package scales after upsampling
    expected = scale_cam_image(scale_cam_image(ours.numpy(), (64, 64)))
    with XGradCAM(model=model, target_layers=[model.layer3]) as cam:
        theirs = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])
    assert theirs.shape == expected.shape and np.ptp(theirs, axis=(1, 2)).min() > 0.5  # not flat maps
    assert np.allclose(expected, theirs, atol=1e-4)


def test_registered_as_a_gradient_method_with_relu():
    assert "xgradcam" in CAM_METHODS and "xgradcam" in GRADIENT_METHODS and "xgradcam" in RELU_METHODS
    assert check_method("XGrad-CAM") == "xgradcam"


def test_offered_by_the_cli():
    from vowelcam.commands.choices import CamMethod

    assert CamMethod("xgradcam").value == "xgradcam"


@pytest.mark.parametrize("name", CAM_METHODS)
def test_registry_names_are_torch_free_to_read(name, tmp_path):
    """The CLI builds ``--method`` from the registry at start-up: reading the names must not import torch."""
    import subprocess
    import sys

    code = "import sys, vowelcam.explain.maps.methods as m; print(','.join(m.CAM_METHODS), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert name in out[0].split(",") and out[1] == "False"
