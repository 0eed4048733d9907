"""The executor seam: :class:`Runner` and its two local implementations (nothing here imports Dask)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any

# Imported once by the fork server, so each worker forked from it starts with them (see :func:`worker_context`)
PRELOAD = ["vowelcam.extract.chunk", "vowelcam.inference.chunk"]


class Runner(Executor):
    """An Executor that also knows how many tasks are worth keeping in flight (``slots``), how often a task whose
    worker died is submitted again (``retries``) and which errors mean such a death (:meth:`worker_lost`)."""

    retries: int = 0
    name: str = "runner"

    @property
    def slots(self) -> int:
        """Tasks to keep submitted at once: enough to keep every worker busy, few enough to bound memory."""
        return 1

    def worker_lost(self, error: BaseException) -> bool:
        """Whether ``error`` says the worker running the task died (the task may be retried elsewhere)."""
        return False

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Shut down; after an error, cancel what is still queued instead of waiting for it."""
        self.shutdown(wait=exc_type is None, cancel_futures=exc_type is not None)


class InProcess(Runner):
    """Runs each task at once in this process (``jobs=1``): no pickling, tracebacks as they are."""

    name = "in process"

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` now; its result or exception lands in a finished Future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # handed to the caller through the future, as any executor does
            future.set_exception(exc)
        return future


def worker_context() -> BaseContext:
    """How pool workers start: from a fork server where there is one (Linux, macOS), else spawned.

    Forking the caller itself is unsafe once it runs threads (a progress bar, torch's pools, a Dask client), and
    Python 3.12 warns about it; the fork server is a single-threaded process that imports :data:`PRELOAD` once,
    so a worker forked from it starts without re-importing NumPy, Praat or torch."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # effective when the server starts (once per client process)
    return context


class ProcessPool(Runner):
    """A local :class:`~concurrent.futures.ProcessPoolExecutor` of ``jobs`` processes (see :func:`worker_context`)."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.name = f"{jobs} local processes"
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=worker_context())

    @property
    def slots(self) -> int:
        """Two tasks per process: the next one waits while a result is written."""
        return 2 * self.jobs

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Queue ``fn(*args, **kwargs)`` on the pool."""
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the pool's processes."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def local_runner(jobs: int) -> Runner:
    """One process for ``jobs <= 1``, else a pool of ``jobs`` processes."""
    return InProcess() if jobs <= 1 else ProcessPool(jobs)
