"""Training that goes wrong says so: a loss that turns NaN is one clear error (or keeps the last good epoch), and
bf16 training on a CPU whose bf16 convolution is wrong for the model's shapes runs in fp32 instead."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vowelcam.config import TrainSettings
from vowelcam.errors import TrainingError
from vowelcam.learn import device as accel
from vowelcam.learn.loop import Batches, fit_fold

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CPU = torch.device("cpu")


class WrongInBf16(nn.Conv2d):
    """A convolution whose bf16 result is NaN, as oneDNN's AMX kernel gives for some shapes."""

    def _conv_forward(self, x, weight, bias):
        out = super()._conv_forward(x, weight, bias)
        return out * float("nan") if torch.is_autocast_enabled("cpu") else out


class Tiny(nn.Module):
    """Conv + linear on [N, 1, 6, 6]; ``poison_after`` training passes, its weights turn NaN."""

    def __init__(self, conv: type[nn.Conv2d] = nn.Conv2d, poison_after: int | None = None):
        super().__init__()
        torch.manual_seed(0)
        self.conv = conv(1, 4, 3)
        self.fc = nn.Linear(4 * 16, 3)
        self.poison_after, self.passes = poison_after, 0

    def forward(self, x):
        if self.training and self.poison_after is not None:
            self.passes += 1
            if self.passes > self.poison_after:
                with torch.no_grad():
                    self.fc.weight.fill_(float("nan"))
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def _batches() -> Batches:
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(24) % 3
    x = torch.randn(24, 1, 6, 6, generator=gen) + y[:, None, None, None]
    data = TensorDataset(x, y, torch.arange(24))
    train = DataLoader(data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1))
    return Batches(train, DataLoader(data, batch_size=8), seed=1)


def _fit(model: nn.Module, tmp_path, precision: str = "fp32", epochs: int = 4):
    settings = TrainSettings(epochs=epochs, precision=precision, lr=1e-2, patience=10)
    return fit_fold(
        model, _batches(), nn.CrossEntropyLoss(), settings, CPU, tmp_path / "state.pt", {}, 0, progress=None
    )


def test_a_loss_that_is_nan_from_the_start_is_one_clear_error(tmp_path):
    with pytest.raises(
        TrainingError, match=r"^training diverged in fold 1 \(loss NaN.*--precision fp32 or a lower --lr"
    ):
        _fit(Tiny(poison_after=0), tmp_path)
    saved = torch.load(tmp_path / "state.pt", weights_only=True)
    assert saved["epoch"] == 1 and saved["done"]  # stopped at once: NaN weights never recover
    with pytest.raises(TrainingError, match="training diverged"):  # resuming the finished fold says the same
        _fit(Tiny(poison_after=0), tmp_path)


def test_a_fold_that_diverges_later_keeps_its_last_good_epoch(tmp_path, caplog):
    model = Tiny(poison_after=3)  # 3 batches per epoch: epoch 2 turns NaN
    with caplog.at_level(logging.WARNING, logger="vowelcam.learn.loop"):
        state = _fit(model, tmp_path)
    assert [r["epoch"] for r in state.history] == [1, 2] and state.best_epoch == 1
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "fold 1: training diverged at epoch 2 (loss NaN); keeping epoch 1" in caplog.text


def test_the_probe_finds_a_convolution_that_is_wrong_in_bf16_and_touches_nothing():
    model = Tiny(conv=WrongInBf16).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    assert accel.bf16_faulty_convolutions(model, [(8, 1, 6, 6), (2, 1, 6, 6)]) == ["conv (input 8x1x6x6)"]
    assert accel.bf16_faulty_convolutions(Tiny(), [(8, 1, 6, 6)]) == []
    assert model.training and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_bf16_training_with_a_wrong_bf16_convolution_runs_in_fp32(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="vowelcam.learn.device"):
        state = _fit(Tiny(conv=WrongInBf16), tmp_path, precision="bf16", epochs=2)
    assert all(r["train_loss"] == r["train_loss"] for r in state.history)  # finite: no NaN
    assert "bf16 convolution (oneDNN) gives wrong results, often NaN, for conv (input 8x1x6x6)" in caplog.text
    assert "training steps in fp32 on CPU" in caplog.text
    fp32 = _fit(Tiny(), tmp_path / "fp32", epochs=2)
    assert [r["val_loss"] for r in state.history] == [r["val_loss"] for r in fp32.history]


def test_the_probe_agrees_with_this_cpus_bf16_convolution():
    """oneDNN 3.x's AMX kernel: a 3x3 convolution of stride 2 to one output column is garbage in bf16 (the shape
    a ResNet-18 meets at layer3 and layer4 on 16-frame spectrograms). Where the CPU has no such defect, both
    sides are false."""
    conv = nn.Conv2d(128, 256, 3, 2, 1, bias=False)
    x = torch.randn(16, 128, 9, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = conv(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = [conv(x).float() for _ in range(3)]
    wrong = any(not torch.allclose(out, ref, rtol=0.05, atol=0.05 * float(ref.abs().max())) for out in low)
    assert bool(accel.bf16_faulty_convolutions(conv, [tuple(x.shape)])) == wrong
