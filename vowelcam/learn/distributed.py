"""Several processes, GPUs or machines through torch.distributed, as started by ``torchrun``.

vowelcam never starts processes itself: ``torchrun --nproc-per-node 4 -m vowelcam train RUN`` (or across
machines with ``--nnodes``/``--rdzv-endpoint``) sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; this module
reads them. Training wraps the model in DistributedDataParallel and gives each rank its share of every epoch
(DistributedSampler); inference gives each rank a contiguous run of whole batches and gathers the results on
every rank in token order, so the merged output is the same whatever the number of ranks. Only rank 0 writes
files. With no ``WORLD_SIZE`` (or 1) everything here is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dist:
    """This process's place: rank, world size, local rank and the device it should use."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and reports progress."""
        return self.rank == 0

    def device(self, requested: torch.device) -> torch.device:
        """The CUDA device of this local rank when CUDA is used, else ``requested``."""
        if requested.type == "cuda" and self.enabled:
            return torch.device("cuda", self.local_rank)
        return requested


def from_env() -> Dist:
    """Read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (torchrun's variables); defaults mean a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


@contextmanager
def process_group(device: torch.device) -> Iterator[Dist]:
    """Join the process group for the block (NCCL on CUDA, gloo on CPU) and leave it afterwards.

    Nested use (a group already joined) just yields this process's place. On success every rank waits for the
    others at a barrier before leaving (so rank 0 has finished writing); on an error the rank leaves at once
    (``torchrun`` then stops the others) instead of waiting at a barrier the failed rank will never reach.
    """
    place = from_env()
    if not place.enabled or dist.is_initialized():
        yield place
        return
    if device.type == "cuda":
        local = torch.device("cuda", place.local_rank)
        torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl", device_id=local)  # the device tells barriers which GPU to use
    else:
        dist.init_process_group(backend="gloo")
    backend = dist.get_backend()
    log.info(
        "rank %d of %d (local rank %d) joined the %s process group",
        place.rank,
        place.world_size,
        place.local_rank,
        backend,
    )
    try:
        yield place
        dist.barrier()
    finally:
        dist.destroy_process_group()


def barrier(place: Dist) -> None:
    """Wait until every rank gets here (nothing to do in a single process)."""
    if place.enabled:
        dist.barrier()


def shard_bounds(n: int, place: Dist) -> tuple[int, int]:
    """Contiguous ``[start, stop)`` of ``n`` items for this rank (sizes differ by at most one)."""
    base, extra = divmod(n, place.world_size)
    start = place.rank * base + min(place.rank, extra)
    return start, start + base + (1 if place.rank < extra else 0)


def batch_shard(n: int, batch_size: int, place: Dist) -> tuple[int, int]:
    """This rank's ``[start, stop)`` of ``n`` items in whole batches of ``batch_size``.

    Every batch holds the same items as in a single process, so per-item results are bit-identical whatever
    the number of ranks (a kernel's arithmetic can depend on the batch it runs in).
    """
    n_batches = -(-n // batch_size)
    first, last = shard_bounds(n_batches, place)
    return min(first * batch_size, n), min(last * batch_size, n)


def gather_in_order(local: Sequence[Any], place: Dist) -> list[Any]:
    """Concatenate every rank's list in rank order (so in token order for contiguous shards)."""
    if not place.enabled:
        return list(local)
    parts: list[Any] = [None] * place.world_size
    dist.all_gather_object(parts, list(local))
    return [item for part in parts for item in part]


def gather_to_main(obj: Any, place: Dist) -> list[Any]:
    """Every rank's ``obj`` in rank order on rank 0 (an empty list elsewhere): for results only rank 0 writes."""
    if not place.enabled:
        return [obj]
    parts: list[Any] | None = [None] * place.world_size if place.is_main else None
    dist.gather_object(obj, parts, dst=0)
    return parts or []


def gather_arrays(local: np.ndarray, place: Dist) -> np.ndarray:
    """Concatenate every rank's array along axis 0 in rank order; empty shards are skipped."""
    if not place.enabled:
        return local
    parts: list[Any] = [None] * place.world_size
    dist.all_gather_object(parts, np.asarray(local))
    filled = [p for p in parts if len(p)]
    return np.concatenate(filled) if filled else np.asarray(local)


def broadcast_object(obj: Any, place: Dist) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not place.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_mean(values: Sequence[float], weight: float, place: Dist) -> list[float]:
    """Weighted mean over ranks of per-rank ``values`` (e.g. loss and accuracy weighted by sample count)."""
    if not place.enabled:
        return list(values)
    t = torch.tensor([*(v * weight for v in values), weight], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return [float(x) for x in (t[:-1] / t[-1]).cpu()]


def broadcast_buffers(model: nn.Module, place: Dist) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics), as DDP does before each forward.

    After an epoch each rank's statistics have seen its own last batch; scoring shards with one set keeps
    the ranks' predictions those of one model.
    """
    if not place.enabled:
        return
    for buffer in model.buffers():
        dist.broadcast(buffer.data, src=0)


def check_same_on_all_ranks(value: str, what: str, place: Dist) -> None:
    """Refuse to go on when ``value`` (e.g. the splits) differs between ranks: they would train different data."""
    if not place.enabled:
        return
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    digests = gather_in_order([digest], place)
    if len(set(digests)) > 1:
        raise ConfigError(
            f"{what} differ between ranks ({', '.join(d[:8] for d in digests)}); "
            "give every rank the same run directory and settings"
        )
