"""Several processes, GPUs or machines through torch.distributed, as started by ``torchrun``.

vowelcam never starts processes itself: ``torchrun --nproc-per-node 4 -m vowelcam train RUN`` (or across
machines with ``--nnodes``/``--rdzv-endpoint``) sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; this module
reads them. Training wraps the model in DistributedDataParallel and gives each rank its share of every batch
(DistributedSampler); inference and CAMs give each rank a contiguous shard of the tokens and gather the results
on every rank in token order, so the merged output is the same whatever the number of ranks. Only rank 0 writes
files. With no ``WORLD_SIZE`` (or 1) everything here is a no-op.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch
import torch.distributed as dist


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
    """Join the process group for the block (NCCL on CUDA, gloo on CPU) and leave it afterwards."""
    place = from_env()
    if not place.enabled or dist.is_initialized():
        yield place
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(place.local_rank)
    dist.init_process_group(backend=backend)
    try:
        yield place
    finally:
        dist.barrier()
        dist.destroy_process_group()


def shard_bounds(n: int, place: Dist) -> tuple[int, int]:
    """Contiguous ``[start, stop)`` of ``n`` items for this rank (sizes differ by at most one)."""
    base, extra = divmod(n, place.world_size)
    start = place.rank * base + min(place.rank, extra)
    return start, start + base + (1 if place.rank < extra else 0)


def gather_in_order(local: Sequence[Any], place: Dist) -> list[Any]:
    """Concatenate every rank's list in rank order (so in token order for contiguous shards)."""
    if not place.enabled:
        return list(local)
    parts: list[Any] = [None] * place.world_size
    dist.all_gather_object(parts, list(local))
    return [item for part in parts for item in part]


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
    dist.all_reduce(t)
    return [float(x) for x in t[:-1] / t[-1]]
