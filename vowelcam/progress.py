"""Progress reporting from the library without printing: a callback the CLI turns into Rich bars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

# progress(stage, done, total, message): total may be 0 when unknown.
ProgressCallback = Callable[[str, int, int, str], None]


def report(callback: Optional[ProgressCallback], stage: str, done: int, total: int, message: str = "") -> None:
    """Call ``callback`` if given."""
    if callback is not None:
        callback(stage, done, total, message)
