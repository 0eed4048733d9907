"""Timers shared by the benchmarks: CUDA-synchronised clocks, median of repeats, and ratios to a paired base."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def sync(device: torch.device | None) -> None:
    """Wait for the device's queued work (a no-op off CUDA), so a clock reading covers the work itself."""
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize()


def clock(fn: Callable[[], object], device: torch.device | None = None) -> float:
    """Seconds one call of ``fn`` takes, queued CUDA work included."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def median_seconds(step: Callable[[], object], device: torch.device, batches: int) -> float:
    """Median seconds of ``batches`` calls of ``step`` after one warm-up call (allocations, cuDNN autotune)."""
    step()
    sync(device)
    times = [clock(step, device) for _ in range(batches)]
    return sorted(times)[len(times) // 2]


def timed_against(
    fn: Callable[[], object], base: Callable[[], object], repeats: int, device: torch.device
) -> tuple[float, float]:
    """Median seconds of ``fn`` and the median of its per-repeat ratio to ``base`` run right before it.

    Pairing each run with an adjacent forward pass keeps the ratio honest on a shared, busy machine.
    """
    fn()
    base()
    times, ratios = [], []
    for _ in range(repeats):
        reference = clock(base, device)
        elapsed = clock(fn, device)
        times.append(elapsed)
        ratios.append(elapsed / reference)
    return statistics.median(times), statistics.median(ratios)
