"""The training loop of one fold: AdamW, a cosine or plateau schedule, early stopping on validation, resumable.

After every epoch the fold's state (weights, optimizer, schedule, best weights so far, history, random states)
is written atomically to ``model/state-fold<k>.pt``; an interrupted run continues from the last finished epoch
when it is started again with the same settings.

Under ``torchrun`` (``place.enabled``) the model is wrapped in DistributedDataParallel, each rank trains on its
DistributedSampler share, validation is scored on shards and gathered, so every rank takes the same decisions
(best epoch, early stop); only rank 0 writes the state file, and a resumed run reads it on rank 0 and sends it on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from ..config import TrainSettings
from ..errors import TrainingError
from ..progress import ProgressCallback, report
from ..rundir import atomic_path
from .device import autocast, batch_shapes, fold_precision, maybe_compile, to_device, train_autocast, training_precision
from .distributed import Dist, all_reduce_mean, broadcast_buffers, broadcast_object, gather_arrays
from .plan.initial import SCRATCH_LR

__all__ = [
    "Batches",
    "FoldState",
    "autocast",
    "evaluate",
    "fit_fold",
    "load_state",
    "make_optimizer",
    "predict",
    "recalibrate_batchnorm",
    "run_epoch",
    "save_state",
    "to_device",
]

log = logging.getLogger(__name__)

CUDA_REPORT_EVERY = 20  # batches between progress reports on CUDA (each one waits for the GPU)


@dataclass
class FoldState:
    """What survives between epochs (and interruptions) of one fold."""

    epoch: int = 0  # epochs finished
    best_epoch: int = 0  # the epoch of lowest validation loss
    best_acc: float = -1.0  # validation accuracy at best_epoch
    best_loss: float = float("inf")
    bad_epochs: int = 0
    done: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class Batches:
    """The loaders of one fold; ``seed`` fixes the shuffling and augmentation of every epoch."""

    train: DataLoader
    val: DataLoader
    seed: int = 0
    rank: int = 0  # each rank augments with its own random stream
    calibrate: DataLoader | None = None  # un-augmented training tokens for the BatchNorm statistics
    val_chance: float = 0.0  # accuracy of always answering the most frequent validation class

    def reseed(self, epoch: int) -> None:
        """Make epoch ``epoch``'s order and augmentation depend only on (seed, epoch, rank), so a resumed run
        repeats. A DistributedSampler (seeded with ``seed * 100_003``) shuffles with the same seed + epoch."""
        seed = self.seed * 100_003 + epoch
        rank_offset = self.rank * 2**40
        if isinstance(self.train.sampler, DistributedSampler):
            self.train.sampler.set_epoch(epoch)
        if self.train.generator is not None:
            self.train.generator.manual_seed(seed + rank_offset)
        gen = getattr(self.train.dataset, "gen", None)
        if gen is not None:
            gen.manual_seed(seed + 1 + rank_offset)


def run_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: nn.Module,
    device: torch.device,
    optimizer: torch.optim.Optimizer,
    on_batch: Callable[[int, float, float], None],
    precision: str = "auto",
) -> tuple[float, float]:
    """One pass of training at ``precision`` (see :func:`device.training_precision`); returns mean loss and
    accuracy.

    Loss and accuracy are summed on the device; on CUDA they are read back (a synchronisation) only every
    :data:`CUDA_REPORT_EVERY` batches for ``on_batch``.
    """
    model.train()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen, n_batches = 0, len(loader)
    precision = training_precision(precision, device)
    for i, (x, y, _) in enumerate(loader):
        x, y = to_device(x, device), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with train_autocast(device, precision):
            logits = model(x)
            loss = loss_fn(logits.float(), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach().double() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        seen += len(y)
        if device.type != "cuda" or (i + 1) % CUDA_REPORT_EVERY == 0 or i + 1 == n_batches:
            on_batch(i + 1, float(total_loss) / seen, int(correct) / seen)
    return float(total_loss) / max(seen, 1), int(correct) / max(seen, 1)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, loader: DataLoader | None, device: torch.device) -> int:
    """Recompute every BatchNorm's running mean and variance as a plain average over ``loader`` with the current
    weights (train-mode forward passes, no gradients); returns the number of tokens seen.

    During training the running statistics are an exponential average over batches seen with *earlier*
    weights and augmented inputs; on a small corpus, with few and small batches, they can be far from the
    statistics of the final weights and make validation look like chance. Recalibrating before every
    validation pass removes that source of error (the weights are unchanged).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if loader is None or not norms:
        return 0
    was_training = model.training
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    seen = 0
    for x, _, _ in loader:
        with autocast(device):
            model(to_device(x, device))
        seen += len(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)
    return seen


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class probabilities ``[N, C]``, targets and item indices for every item of ``loader``."""
    model.eval()
    probs, targets, indices = [], [], []
    for x, y, idx in loader:
        with autocast(device):
            logits = model(to_device(x, device))
        probs.append(torch.softmax(logits.float(), 1).cpu().numpy())
        targets.append(y.numpy())
        indices.append(idx.numpy())
    if not probs:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(probs), np.concatenate(targets), np.concatenate(indices)


def evaluate(
    model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: torch.device, place: Dist = Dist()
) -> tuple[float, float]:
    """Mean (weighted) loss and accuracy on ``loader`` (this rank's shard; the shards are gathered first, so
    every rank gets the same numbers)."""
    probs, targets, _ = predict(model, loader, device)
    probs, targets = gather_arrays(probs, place), gather_arrays(targets, place)
    if len(targets) == 0:
        return float("nan"), float("nan")
    # log-probabilities are valid logits: cross-entropy of them equals that of the network's logits
    logp = torch.log(torch.from_numpy(probs).clamp_min(1e-12)).to(_loss_device(loss_fn))
    loss = float(loss_fn(logp, torch.from_numpy(targets).to(logp.device)))
    return loss, float((probs.argmax(1) == targets).mean())


def _loss_device(loss_fn: nn.Module) -> torch.device:
    weight = getattr(loss_fn, "weight", None)
    return weight.device if weight is not None else torch.device("cpu")


def make_optimizer(model: nn.Module, settings: TrainSettings) -> tuple[torch.optim.Optimizer, Any]:
    """Fused AdamW (one kernel for all parameters, 10x faster than the per-tensor loop on a CPU) at ``lr`` (0, which
    train() resolves by where training starts, is 1e-3 here) and its schedule (``cosine`` over all epochs or
    ``plateau`` on the validation loss)."""
    lr, decay, schedules = settings.lr or SCRATCH_LR, settings.weight_decay, torch.optim.lr_scheduler
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay, fused=True)
    if settings.schedule == "plateau":
        return optimizer, schedules.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(1, settings.patience // 3))
    return optimizer, schedules.CosineAnnealingLR(optimizer, T_max=max(1, settings.epochs))


def fit_fold(
    model: nn.Module,
    batches: Batches,
    loss_fn: nn.Module,
    settings: TrainSettings,
    device: torch.device,
    state_path: Path,
    fingerprint: dict[str, Any],
    fold: int,
    progress: ProgressCallback | None,
    place: Dist = Dist(),
) -> FoldState:
    """Train one fold until ``epochs`` or early stopping; return its state with the best weights in ``model``.

    Resumes from ``state_path`` when it holds the same ``fingerprint``. ``model`` is the plain module (already on
    ``device``); under torchrun it is wrapped in DistributedDataParallel for the training passes only.
    """
    optimizer, scheduler = make_optimizer(model, settings)
    state = load_state(state_path, fingerprint, model, optimizer, scheduler, place)
    trainer = maybe_compile(_wrap_ddp(model, device, place), settings.compile)
    stage = f"train fold {fold + 1}" if settings.folds >= 2 else "train"
    n_batches = len(batches.train)
    total = settings.epochs * n_batches
    left = not state.done and state.epoch < settings.epochs
    shapes = batch_shapes(batches.train, batches.calibrate, batches.val) if left else []
    precision = fold_precision(model, settings.precision, device, shapes, announce=left and place.is_main)
    while not state.done and state.epoch < settings.epochs:
        started = time.perf_counter()
        epoch = state.epoch + 1

        def on_batch(i: int, loss: float, acc: float, epoch: int = epoch) -> None:
            report(progress, stage, (epoch - 1) * n_batches + i, total, f"epoch {epoch} loss {loss:.3f} acc {acc:.3f}")

        batches.reseed(epoch)
        train_loss, train_acc = run_epoch(trainer, batches.train, loss_fn, device, optimizer, on_batch, precision)
        train_loss, train_acc = all_reduce_mean([train_loss, train_acc], len(batches.train.sampler), place)
        recalibrate_batchnorm(model, batches.calibrate, device)
        broadcast_buffers(model, place)
        val_loss, val_acc = evaluate(model, batches.val, loss_fn, device, place)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step(val_loss) if settings.schedule == "plateau" else scheduler.step()
        record = {
            "epoch": epoch,
            "fold": fold,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": lr,
            "seconds": time.perf_counter() - started,
        }
        _update_best(state, model, record)
        diverged = not np.isfinite(val_loss)  # NaN weights or statistics: no later epoch can recover
        if place.is_main:
            log.info(
                "fold %d epoch %d: train loss %.3f acc %.3f, val loss %.3f acc %.3f (%.0f s)",
                fold + 1,
                epoch,
                train_loss,
                train_acc,
                val_loss,
                val_acc,
                record["seconds"],
            )
            _warn_if_stuck(state, batches.val_chance, fold)
        state.done = diverged or state.bad_epochs >= settings.patience or epoch >= settings.epochs
        if place.is_main:
            save_state(state_path, fingerprint, state, model, optimizer, scheduler)
        if diverged and state.best_state and place.is_main:
            log.warning(
                "fold %d: training diverged at epoch %d (loss NaN); keeping epoch %d", fold + 1, epoch, state.best_epoch
            )
    if not state.best_state:
        raise TrainingError(
            f"training diverged in fold {fold + 1} (loss NaN from epoch 1, training in {precision} at lr "
            f"{settings.lr:g}); try --precision fp32 or a lower --lr"
        )
    model.load_state_dict(state.best_state)
    return state


STUCK_EPOCHS = 3  # epochs at or below chance before the log says so (once per fold)


def _warn_if_stuck(state: FoldState, chance: float, fold: int) -> None:
    """Say once, while training, that validation has not beaten chance for :data:`STUCK_EPOCHS` epochs."""
    recent = [rec["val_acc"] for rec in state.history[-STUCK_EPOCHS:]]
    if len(state.history) == STUCK_EPOCHS and all(acc <= chance + 1e-9 for acc in recent):
        log.warning(
            "fold %d: validation accuracy has stayed at or below chance (%.1f %%) for %d epochs; training "
            "goes on until early stopping (--patience), see the advice at the end",
            fold + 1,
            100 * chance,
            STUCK_EPOCHS,
        )


def _wrap_ddp(model: nn.Module, device: torch.device, place: Dist) -> nn.Module:
    """DistributedDataParallel around ``model`` under torchrun (gradients averaged over ranks), else ``model``."""
    if not place.enabled:
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _update_best(state: FoldState, model: nn.Module, record: dict[str, Any]) -> None:
    """Keep the epoch of lowest validation loss (ties: higher accuracy). The loss, a proper score of every
    token's probabilities, is chosen over accuracy: on a validation split of a hundred tokens accuracy moves in
    steps of 1 % and picks early, lucky epochs (on Hillenbrand, epoch 6 of 30 while the loss kept falling until
    epoch 21-28; bench/results/cpu_default.json)."""
    state.epoch = record["epoch"]
    state.history.append(record)
    acc, loss = record["val_acc"], record["val_loss"]
    if loss < state.best_loss or (loss == state.best_loss and acc > state.best_acc):
        state.best_acc, state.best_loss, state.best_epoch, state.bad_epochs = acc, loss, record["epoch"], 0
        state.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    else:
        state.bad_epochs += 1


def save_state(
    path: Path,
    fingerprint: dict[str, Any],
    state: FoldState,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> None:
    """Write the fold's resumable state atomically."""
    data = {
        "fingerprint": fingerprint,
        "epoch": state.epoch,
        "best_epoch": state.best_epoch,
        "best_acc": state.best_acc,
        "best_loss": state.best_loss,
        "bad_epochs": state.bad_epochs,
        "done": state.done,
        "history": state.history,
        "best_state": state.best_state,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    with atomic_path(path, suffix=".pt") as tmp, open(tmp, "wb") as fh:
        torch.save(data, fh)  # a file object: a full disk is an OSError (a path gives a C++ RuntimeError)


def load_state(
    path: Path,
    fingerprint: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    place: Dist = Dist(),
) -> FoldState:
    """The saved state of a fold with the same fingerprint, restored into model/optimizer; else a fresh state.

    Under torchrun rank 0 reads the file and sends it to the others (machines need not share a disk for it).
    """
    data = broadcast_object(_read_state(path, fingerprint) if place.is_main else None, place)
    if data is None:
        return FoldState()
    model.load_state_dict(data["model"])
    optimizer.load_state_dict(data["optimizer"])
    scheduler.load_state_dict(data["scheduler"])
    torch.set_rng_state(data["torch_rng"])
    if place.is_main:
        log.info("%s: resuming after epoch %d", path, data["epoch"])
    return FoldState(
        epoch=data["epoch"],
        best_epoch=data["best_epoch"],
        best_acc=data["best_acc"],
        best_loss=data["best_loss"],
        bad_epochs=data["bad_epochs"],
        done=data["done"],
        history=list(data["history"]),
        best_state=dict(data["best_state"]),
    )


def _read_state(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged state file only costs the epochs it held
        log.warning("%s: cannot resume (%s); starting this fold again", path, type(exc).__name__)
        return None
    if data.get("fingerprint") != fingerprint:
        log.info("%s was made with other settings; starting this fold again", path)
        return None
    return data
