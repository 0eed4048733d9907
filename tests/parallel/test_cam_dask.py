"""``cam --dask``: the map pass's batches computed by two Dask workers, the client writing cams/ and every table
byte-identical to a local pass; a batch whose worker dies on every try stops the stage, leaving no map store."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vowelcam.cli import app
from vowelcam.config import CamSettings
from vowelcam.explain.map_tasks import WorkerLostError
from vowelcam.explain.stage import explain_run
from vowelcam.parallel import InProcess, open_runner

pytestmark = pytest.mark.slow


def files_of(run: Path) -> dict[str, bytes]:
    """Every file of a run directory by relative path, with its bytes."""
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_maps_and_tables_from_dask_are_the_bytes_of_a_local_pass(trained_run_dir, run_copy, cluster, one_torch_thread):
    pytest.importorskip("distributed")
    # 36 tokens in 8 batches; the stages after the map pass (verdicts, evidence) run on the client either way
    settings = CamSettings(tokens="all", faithfulness=False, verdicts=False, bootstrap=50, batch_size=5)
    local, dask = run_copy(trained_run_dir, "local"), run_copy(trained_run_dir, "dask")
    explain_run(local, settings, device="cpu")
    calls = []
    with open_runner(dask=cluster.scheduler_address) as runner:
        explain_run(dask, settings, device="cpu", progress=lambda *a: calls.append(a), runner=runner)
    before, after = files_of(trained_run_dir), files_of(local)
    made = sorted(name for name in after if after[name] != before.get(name))
    assert {"cams/true.npy", "cams/index.csv", "bands.csv", "agreement.csv", "confusions.csv"} <= set(made)
    remote = files_of(dask)
    assert sorted(remote) == sorted(after)
    assert [name for name in made if remote[name] != after[name]] == []
    cam_calls = [(done, total) for stage, done, total, _ in calls if stage == "cam"]
    assert cam_calls[-1] == (36, 36) and len(cam_calls) == 8


def test_cam_on_a_dead_scheduler_is_one_line_and_leaves_the_run_alone(trained_run_dir, run_copy, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("vowelcam.parallel.dask_runner.CONNECT_TIMEOUT_S", 1)
    run = run_copy(trained_run_dir)
    before = files_of(run)
    result = CliRunner().invoke(app, ["cam", str(run), "--dask", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in lines[0], result.output
    assert files_of(run) == before


class Died(Exception):
    """Stands for a worker's death."""


class LosingBatch(InProcess):
    """Runs tasks in this process, but every try of the batch starting at token ``start`` loses its worker."""

    retries = 1

    def __init__(self, start: int):
        self.start, self.tries = start, 0

    def worker_lost(self, error: BaseException) -> bool:
        return isinstance(error, Died)

    def submit(self, fn, /, *args):
        if args[2] == self.start:  # map_batch(job, part, start, tokens, partners)
            self.tries += 1
            return super().submit(_die)
        return super().submit(fn, *args)


def _die():
    raise Died("worker gone")


def test_a_batch_whose_worker_dies_on_every_try_stops_cam_without_a_gap(trained_run_dir, run_copy, one_torch_thread):
    run = run_copy(trained_run_dir)
    runner = LosingBatch(start=10)
    settings = CamSettings(tokens="all", faithfulness=False, verdicts=False, bootstrap=20, batch_size=5)
    with pytest.raises(WorkerLostError, match="tokens 10-14 died on each of 2 tries"):
        explain_run(run, settings, device="cpu", runner=runner)
    assert runner.tries == 2
    assert not (run / "bands.csv").exists() and not list((run / "cams").glob("*.npy"))  # no map store with a gap
