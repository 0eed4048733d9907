"""Worker code for the cluster tests: run a chunk's task, but first kill the worker process running it.

Copied by the tests under another name into a folder on the workers' ``sys.path`` (the tests package is not
importable there). Every try of the chosen chunk claims the next ``try-N`` file in ``tries_dir`` atomically, so
the test can count them; the first ``deaths`` tries end the worker process at once, as a crash would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any


def claim_try(tries_dir: str) -> int:
    """Claim and return the next try number (0, 1, ...) in ``tries_dir``."""
    n = 0
    while True:
        try:
            os.close(os.open(Path(tries_dir) / f"try-{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return n
        except FileExistsError:
            n += 1


def die_then_run(tries_dir: str, index: int, deaths: int, fn: Callable[..., Any], chunk: Any, *args: Any) -> Any:
    """``fn(chunk, *args)``, unless ``chunk`` is chunk ``index`` and fewer than ``deaths`` tries came before."""
    if chunk.index == index and claim_try(tries_dir) < deaths:
        os._exit(17)
    return fn(chunk, *args)


class Dying:
    """A runner that wraps another so that chunk ``index``'s first ``deaths`` tries kill their worker."""

    def __init__(self, inner: Any, tries_dir: Path, index: int, deaths: int):
        self.inner, self.tries_dir, self.index, self.deaths = inner, str(tries_dir), index, deaths

    def __getattr__(self, name: str) -> Any:  # slots, retries, worker_lost, name: the wrapped runner's
        return getattr(self.inner, name)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        """Submit ``fn(*args)`` through :func:`die_then_run`."""
        return self.inner.submit(die_then_run, self.tries_dir, self.index, self.deaths, fn, *args)
