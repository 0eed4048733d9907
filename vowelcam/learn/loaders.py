"""The training stage's DataLoaders: shuffled and augmented training batches (a DistributedSampler share under
torchrun), in-order evaluation batches (this rank's run of whole batches) and the BatchNorm calibration batches."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from ..acoustics.store import SpectrogramStore
from ..config import TrainSettings
from . import dataset as ds
from .device import eval_batch_size, loader_options
from .distributed import Dist, batch_shard

CALIBRATION_TOKENS = 1024  # training tokens (at most) whose activations recalibrate BatchNorm before validation


def calibration_tokens(train_idx: np.ndarray, seed: int) -> np.ndarray:
    """A fixed random subset (in token order) of the training tokens for BatchNorm recalibration."""
    if len(train_idx) <= CALIBRATION_TOKENS:
        return train_idx
    return np.sort(np.random.default_rng(seed).choice(train_idx, CALIBRATION_TOKENS, replace=False))


def calibration_loader(
    store: SpectrogramStore,
    data: ds.TaskData,
    indices: np.ndarray,
    norm: dict[str, float],
    settings: TrainSettings,
    dev: torch.device,
) -> DataLoader:
    """In-order, un-augmented batches of every calibration token, on every rank (not sharded: each rank computes
    the same BatchNorm statistics as a single process would)."""
    dataset = ds.SpectrogramDataset(store, data.rows, data.targets, indices, data.max_freq, norm)
    return DataLoader(
        dataset,
        batch_size=settings.batch_size,
        shuffle=False,
        num_workers=settings.workers,
        worker_init_fn=_worker_init if settings.workers else None,
        **loader_options(dev),
    )


def _worker_init(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    info.dataset.gen.manual_seed(torch.initial_seed() % 2**63)


def train_loader(
    store: SpectrogramStore,
    data: ds.TaskData,
    indices: np.ndarray,
    norm: dict[str, float],
    settings: TrainSettings,
    augment: ds.Augment | None,
    seed: int,
    dev: torch.device,
    place: Dist,
) -> DataLoader:
    """Shuffled, augmented batches of ``settings.batch_size`` per rank (a DistributedSampler share under
    torchrun, seeded so that its epoch ``e`` order depends only on (seed, e) as in one process)."""
    dataset = ds.SpectrogramDataset(store, data.rows, data.targets, indices, data.max_freq, norm, augment, seed)
    sampler = (
        DistributedSampler(dataset, num_replicas=place.world_size, rank=place.rank, shuffle=True, seed=seed * 100_003)
        if place.enabled
        else None
    )
    return DataLoader(
        dataset,
        batch_size=settings.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=settings.workers,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=_worker_init if settings.workers else None,
        **loader_options(dev),
    )


def eval_loader(
    store: SpectrogramStore,
    data: ds.TaskData,
    indices: np.ndarray,
    norm: dict[str, float],
    settings: TrainSettings,
    dev: torch.device,
    place: Dist,
) -> DataLoader:
    """In-order batches of this rank's run of whole batches of ``indices`` (all of them in one process)."""
    batch = eval_batch_size(settings.eval_batch_size, settings.batch_size, dev)
    start, stop = batch_shard(len(indices), batch, place)
    dataset = ds.SpectrogramDataset(store, data.rows, data.targets, indices[start:stop], data.max_freq, norm)
    return DataLoader(
        dataset,
        batch_size=batch,
        shuffle=False,
        num_workers=settings.workers,
        worker_init_fn=_worker_init if settings.workers else None,
        **loader_options(dev),
    )
