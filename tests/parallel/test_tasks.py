"""run_tasks over any Runner: a bounded window, results as they finish, bounded retries of lost workers."""

from __future__ import annotations

import operator
import threading
import warnings
from concurrent.futures import Future

import pytest

from vowelcam.parallel import InProcess, ProcessPool, TaskLost, open_runner, run_tasks


class Died(Exception):
    """Stands for a worker's death."""


class Flaky(InProcess):
    """Runs tasks at once in this process, but the first ``deaths[x]`` tries of the task of argument ``x`` lose
    their worker; counts submissions."""

    retries = 2

    def __init__(self, deaths: dict[int, int], slots: int = 3):
        self.deaths, self._slots, self.submitted = dict(deaths), slots, 0

    @property
    def slots(self) -> int:
        return self._slots

    def worker_lost(self, error: BaseException) -> bool:
        return isinstance(error, Died)

    def submit(self, fn, /, *args):
        self.submitted += 1
        if self.deaths.get(args[0], 0) > 0:
            self.deaths[args[0]] -= 1
            future: Future = Future()
            future.set_exception(Died("worker gone"))
            return future
        return super().submit(fn, *args)


def square(x: int) -> int:
    if x < 0:
        raise ValueError("negative")
    return x * x


def test_results_of_every_task_with_at_most_slots_in_flight():
    runner, results, in_flight = Flaky({}), {}, []
    for i, result in run_tasks(runner, square, [(i,) for i in range(10)]):
        results[i] = result
        in_flight.append(runner.submitted - len(results) + 1)  # submitted, not yet handed back (this one counted)
    assert results == {i: i * i for i in range(10)}
    assert max(in_flight) == runner.slots


def test_a_lost_worker_is_retried_then_given_up():
    runner = Flaky({3: 2, 5: 99}, slots=1)
    results = dict(run_tasks(runner, square, [(i,) for i in range(8)]))
    assert results[3] == 9  # died twice, third try ran
    assert results[5] == TaskLost(3, "Died: worker gone")
    assert sorted(results) == list(range(8))


def test_any_other_error_is_raised():
    with pytest.raises(ValueError, match="negative"):
        dict(run_tasks(InProcess(), square, [(2,), (-1,)]))


def test_local_runners():
    assert dict(run_tasks(InProcess(), square, [(3,)])) == {0: 9}
    with open_runner(jobs=2) as pool:
        assert isinstance(pool, ProcessPool) and pool.slots == 4
        # workers start from a fork server: the task must be importable there (this test module is not)
        assert dict(run_tasks(pool, operator.mul, [(i, i) for i in range(5)])) == {i: i * i for i in range(5)}


def test_a_pool_never_forks_a_process_that_runs_threads():
    """Python 3.12 warns when a multi-threaded process forks (``popen_fork``); the pool's workers come from a fork
    server (or are spawned), so a client with threads gives no such warning and the same results."""
    from vowelcam.parallel.runners import worker_context

    assert worker_context().get_start_method() in ("forkserver", "spawn")
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    try:
        with warnings.catch_warnings(record=True) as caught, open_runner(jobs=2) as pool:
            warnings.simplefilter("always")
            assert dict(run_tasks(pool, operator.mul, [(2, 3), (4, 5)])) == {0: 6, 1: 20}
    finally:
        stop.set()
    assert [str(w.message) for w in caught if "fork" in str(w.message)] == []
