"""The Dask implementation of the executor seam (``pip install 'vowelcam[cluster]'``).

Tasks go to the workers of a running ``dask.distributed`` scheduler through the client's
:class:`concurrent.futures.Executor`; the workers read the corpus from a path they share with the client, and the
client writes every output. A worker that dies while running a task is first handled by the scheduler (it reruns
the task up to ``distributed.scheduler.allowed-failures`` times, default 3, then reports ``KilledWorker``); the
runner then submits it ``retries`` more times before the caller records it as lost.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .runners import Runner

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10
_URL = re.compile(r"^[a-z0-9+]+://|^[\w.-]+:\d+$")  # tcp://host:port, tls://..., or host:port


def _client(address: str) -> Any:
    """A connected ``distributed.Client`` for a scheduler address or scheduler file; a ConfigError in one line
    when the extra is missing or the scheduler does not answer."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--dask needs Dask's distributed scheduler: pip install 'vowelcam[cluster]'") from None
    is_url = bool(_URL.match(address))
    if not is_url and not Path(address).is_file():
        raise ConfigError(f"--dask {address}: neither a scheduler address (tcp://host:port) nor a scheduler file")
    where = {"address": address} if is_url else {"scheduler_file": address}
    try:
        return Client(**where, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, asyncio.TimeoutError, ValueError) as exc:  # asyncio's is its own on 3.10
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {reason}") from None


class DaskRunner(Runner):
    """Runs tasks on a Dask cluster; ``slots`` follows the cluster's thread count as workers come and go."""

    def __init__(self, address: str, retries: int = 1):
        self.address = address
        self.retries = retries
        self.client = _client(address)
        self._executor = self.client.get_executor(pure=False)  # every submission runs, even of equal arguments
        self.name = f"Dask at {self.client.scheduler.address}"
        log.info("%s: %d workers, %d threads", self.name, len(self._threads()), sum(self._threads().values()))

    def _threads(self) -> dict[str, int]:
        return dict(self.client.nthreads())

    @property
    def slots(self) -> int:
        """Two tasks per worker thread (at least four, while a cluster such as SLURM's is still starting)."""
        return max(4, 2 * sum(self._threads().values()))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Send ``fn(*args, **kwargs)`` to the cluster."""
        return self._executor.submit(fn, *args, **kwargs)

    def worker_lost(self, error: BaseException) -> bool:
        """``KilledWorker``: the scheduler saw the task's workers die (its allowed failures are used up)."""
        from distributed import KilledWorker

        return isinstance(error, KilledWorker)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cancel what is left (on an error) and close the client; the cluster itself keeps running."""
        self._executor.shutdown(wait=wait and not cancel_futures)
        self.client.close()
