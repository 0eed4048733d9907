"""The CPU default (issue 15): a narrow ResNet-18 that keeps the <= 125 Hz CAM rows, costs a fraction of the
full-width one, saves and loads like any other, and the training precision that may use the CPU's bf16.

Speed itself is measured in bench/bench_cpu_default.py, never timed here; what is asserted is what makes it fast
(the operation count) and what must not change (the Hz per row, the checkpoint, the float32 inference)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vowelcam.config import TrainSettings
from vowelcam.errors import ConfigError, ModelError
from vowelcam.learn import device as accel
from vowelcam.learn.models import (
    ModelInfo,
    SpectrogramResNet,
    build_model,
    checkpoint_dict,
    choose_freq_strides,
    hz_per_row_by_layer,
    imagenet_state_dict,
    load_model,
)
from vowelcam.learn.train import CPU_DEFAULT_ARCH, resolve_arch

pytestmark = pytest.mark.usefixtures("one_torch_thread")
STRIDES = choose_freq_strides(31.25, 125.0)  # the default: <= 125 Hz per row at layer4


def _training_flops(arch: str) -> int:
    model = SpectrogramResNet(arch, 12, STRIDES)
    x = torch.randn(2, 1, 129, 96)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1])).backward()
    return counter.get_total_flops()


def test_auto_picks_the_narrow_resnet_on_a_cpu_and_the_studys_on_a_gpu():
    assert resolve_arch("auto", torch.device("cpu")) == CPU_DEFAULT_ARCH == "resnet18-w16"
    assert resolve_arch("auto", torch.device("cuda")) == "resnet101"
    assert resolve_arch("resnet18", torch.device("cpu")) == "resnet18"
    with pytest.raises(ConfigError, match="resnet18-w32"):
        resolve_arch("resnet18-w8", torch.device("cpu"))


def test_the_narrow_resnet_keeps_the_hz_per_row_and_torchvisions_names():
    narrow = SpectrogramResNet("resnet18-w16", 12, STRIDES)
    full = SpectrogramResNet("resnet18", 12, STRIDES)
    assert set(narrow.state_dict()) == set(full.state_dict())  # same layer names: CAM layers, hooks, checkpoints
    assert [narrow.layer1[0].conv1.out_channels, narrow.layer4[0].conv1.out_channels] == [16, 128]
    with torch.no_grad():
        feats = narrow.forward_features(torch.zeros(1, 1, 129, 96))
    assert feats.shape[1:3] == (128, 33)  # 129 rows / 4 = 33 rows at layer4: 125 Hz each
    assert hz_per_row_by_layer(31.25, STRIDES)["layer4"] == 125.0


def test_the_narrow_resnet_costs_under_a_tenth_of_the_full_one_per_training_step():
    """Width sets the cost at these strides (about its square): the reason it trains several times faster."""
    ratio = _training_flops("resnet18-w16") / _training_flops("resnet18")
    assert ratio < 0.1
    assert _training_flops("resnet18-w32") / _training_flops("resnet18") < 0.3


def test_a_narrow_model_saves_loads_and_refuses_imagenet_weights(tmp_path):
    info = ModelInfo(
        arch="resnet18-w16",
        labels=["AA", "IY"],
        task="vowels4k",
        max_freq=4000.0,
        spectrogram={"sample_rate": 16000, "n_fft": 512},
        norm={"floor": -100.0, "scale": 20.0},
        freq_strides=STRIDES,
    )
    torch.manual_seed(0)
    model = build_model(info).eval()
    torch.save(checkpoint_dict(model, info), tmp_path / "model.pt")
    loaded, loaded_info = load_model(tmp_path / "model.pt")
    x = torch.randn(2, 1, 129, 96)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x)) and loaded_info.arch == "resnet18-w16"
    with pytest.raises(ModelError, match="no ImageNet weights"):
        imagenet_state_dict("resnet18-w16", allow_download=False)


def test_training_precision_is_fp32_unless_the_hardware_makes_bf16_pay():
    cpu = torch.device("cpu")
    assert accel.training_precision("fp32", cpu) == "fp32"
    assert accel.training_precision("auto", torch.device("cuda")) == "bf16"
    assert accel.training_precision("auto", cpu) == ("bf16" if accel.cpu_has_native_bf16() else "fp32")
    with pytest.raises(ConfigError, match="precision"):
        accel.training_precision("fp16", cpu)


def test_bf16_training_autocast_runs_the_convolutions_in_bf16_and_leaves_inference_alone():
    conv = torch.nn.Conv2d(1, 4, 3)
    x = torch.randn(1, 1, 8, 8)
    with accel.train_autocast(torch.device("cpu"), "bf16"):
        assert conv(x).dtype == torch.bfloat16
    with accel.train_autocast(torch.device("cpu"), "fp32"):
        assert conv(x).dtype == torch.float32
    with accel.autocast(torch.device("cpu")):  # validation, predictions and CAMs on a CPU
        assert conv(x).dtype == torch.float32


def test_an_unknown_precision_is_refused_before_training(tmp_path):
    from vowelcam.learn.train import train

    with pytest.raises(ConfigError, match="precision"):
        train(tmp_path, TrainSettings(precision="half"))
