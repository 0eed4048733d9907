"""Where independent tasks run: one small executor seam with a local and a Dask implementation.

A :class:`Runner` is a :class:`concurrent.futures.Executor` that also says how many tasks to keep in flight and
whether an error means the worker running a task died. :class:`InProcess` and :class:`ProcessPool` run on this
machine; :class:`~vowelcam.parallel.dask_runner.DaskRunner` (the ``cluster`` extra) on a Dask cluster. Another
engine (Ray, a batch queue) is one more subclass. :func:`run_tasks` drives any of them with a bounded window and
bounded retries of tasks whose worker died.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .runners import InProcess, ProcessPool, Runner, local_runner
from .tasks import TaskLost, run_tasks

__all__ = [
    "InProcess",
    "ProcessPool",
    "Runner",
    "TaskLost",
    "dask_or_local",
    "local_runner",
    "open_runner",
    "run_tasks",
]


@contextmanager
def open_runner(jobs: int = 1, dask: str | None = None) -> Iterator[Runner]:
    """The runner for ``dask`` (a scheduler address ``tcp://host:port`` or a scheduler file) or, without one, for
    ``jobs`` local processes; shut down on leaving. A scheduler that cannot be reached is a ConfigError. Dask is
    imported only here, and only with an address."""
    if dask:
        from .dask_runner import DaskRunner

        runner: Runner = DaskRunner(dask)
    else:
        runner = local_runner(jobs)
    with runner:
        yield runner


@contextmanager
def dask_or_local(dask: str | None) -> Iterator[Runner | None]:
    """A Dask runner for ``dask`` (closed on leaving), or None without an address: extraction then uses its
    default, ``settings.extract.jobs`` local processes."""
    if not dask:
        yield None
        return
    with open_runner(dask=dask) as runner:
        yield runner
