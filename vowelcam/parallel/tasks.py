"""Drive a :class:`~.runners.Runner`: a bounded window of tasks in flight, results as they complete, and tasks
whose worker died submitted again (bounded) before they are given up as :class:`TaskLost`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from .runners import Runner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskLost:
    """A task given up after its worker died on every try: how many tries, and the last error."""

    tries: int
    error: str


def run_tasks(runner: Runner, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*tasks[i])`` for every ``i`` on ``runner``; yield ``(i, result)`` in the order they finish, with a
    :class:`TaskLost` as the result of a task whose worker died ``runner.retries + 1`` times. Any other error of a
    task is raised, as a local run raises it. At most ``runner.slots`` tasks are in flight (memory stays flat)."""
    pending = iter(range(len(tasks)))
    running: dict[Future, int] = {}
    tries = [0] * len(tasks)

    def launch(i: int) -> None:
        tries[i] += 1
        running[runner.submit(fn, *tasks[i])] = i

    def top_up() -> None:
        while len(running) < max(1, runner.slots):
            i = next(pending, None)
            if i is None:
                return
            launch(i)

    top_up()
    while running:
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            i = running.pop(future)
            error = future.exception()
            if error is None:
                yield i, future.result()
            elif not runner.worker_lost(error):
                raise error
            elif tries[i] <= runner.retries:
                log.warning(
                    "task %d: its worker died (%s); trying again (%d of %d)", i, error, tries[i] + 1, runner.retries + 1
                )
                launch(i)
            else:
                yield i, TaskLost(tries[i], f"{type(error).__name__}: {error}")
        top_up()
