"""NaN and infinity never pass silently: the rows of an array that hold them, named for an error or a problem row.

Arrays are scanned in blocks of rows, so a memory-mapped store of any size is checked in bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import RunDirError

BLOCK_ROWS = 256


def nonfinite_rows(array: Any) -> np.ndarray:
    """Indices along the first axis of ``array`` whose values include NaN or +-inf."""
    bad = []
    for start in range(0, len(array), BLOCK_ROWS):
        block = np.asarray(array[start : start + BLOCK_ROWS])
        flat = block.reshape(len(block), -1)
        bad.extend(start + np.flatnonzero(~np.isfinite(flat).all(axis=1)))
    return np.asarray(bad, dtype=np.int64)


def listed(items: Sequence[Any], limit: int = 8) -> str:
    """``"3, 7, 9"`` or ``"3, 7, ... (12 in all)"``."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... ({len(items)} in all)"


def check_finite(array: Any, where: str, names: str, remedy: str) -> None:
    """:class:`RunDirError` naming ``where`` (a file), the bad rows as ``names`` (e.g. "tokens with spec_row")
    and ``remedy`` when any row of ``array`` holds NaN or infinity."""
    bad = nonfinite_rows(array)
    if len(bad):
        raise RunDirError(f"{where}: NaN or infinite values in {names} {listed(bad.tolist())}; {remedy}")


def mean_of_finite(values: Any, axis: int = 0) -> np.ndarray:
    """Mean of the finite values along ``axis``; NaN where there are none (``np.nanmean`` without its "Mean of
    empty slice" warning: an all-NaN column means "no value", which the caller's tables already say)."""
    arr = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(arr)
    n = ok.sum(axis=axis)
    total = np.where(ok, arr, 0.0).sum(axis=axis)
    return np.divide(total, n, out=np.full(np.shape(total), np.nan), where=n > 0)


def sd_of_finite(values: Any, axis: int = 0) -> np.ndarray:
    """Standard deviation (ddof 0, as ``np.nanstd``) of the finite values along ``axis``; NaN where there are none
    (without NumPy's "Degrees of freedom <= 0" warning)."""
    arr = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(arr)
    n = ok.sum(axis=axis)
    mean = np.expand_dims(mean_of_finite(arr, axis), axis)
    squares = np.where(ok, (np.where(ok, arr, 0.0) - np.nan_to_num(mean)) ** 2, 0.0).sum(axis=axis)
    return np.sqrt(np.divide(squares, n, out=np.full(np.shape(squares), np.nan), where=n > 0))
