"""fit_fold hands back the best epoch's weights, not the last epoch's."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vowelcam.config import TrainSettings
from vowelcam.learn.loop import Batches, evaluate, fit_fold


def _loader(x: torch.Tensor, y: torch.Tensor, shuffle: bool) -> DataLoader:
    data = TensorDataset(x, y, torch.arange(len(y)))
    return DataLoader(data, batch_size=len(y), shuffle=shuffle, generator=torch.Generator() if shuffle else None)


def test_fit_fold_returns_the_best_epochs_weights(tmp_path):
    """Validation labels are the opposite of the training labels, so the validation loss rises while training
    goes on: the best epoch is the first, and the returned model must be that epoch's model, not the last."""
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(4, 2)
    batches = Batches(train=_loader(x, y, True), val=_loader(x, 1 - y, False), seed=0)
    settings = TrainSettings(epochs=6, patience=100, lr=0.2, weight_decay=0.0, precision="fp32")
    loss_fn = nn.CrossEntropyLoss()
    device = torch.device("cpu")

    state = fit_fold(model, batches, loss_fn, settings, device, tmp_path / "state.pt", {"t": 1}, 0, None)

    losses = [rec["val_loss"] for rec in state.history]
    assert len(losses) == 6
    assert state.best_epoch == 1 and losses[-1] > losses[0] + 0.05, losses
    for name, value in model.state_dict().items():
        assert torch.equal(value, state.best_state[name]), f"{name}: the model is not the best epoch's"
    val_loss, _ = evaluate(model, batches.val, loss_fn, device)
    assert abs(val_loss - losses[state.best_epoch - 1]) < 1e-6, (val_loss, losses)
