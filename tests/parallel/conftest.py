"""The Dask cluster the tests of this folder share (the ``cluster`` extra; skipped without it)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parents[1] / "helpers"


@pytest.fixture(scope="package")
def cluster(tmp_path_factory):
    """Two worker processes of one thread; a dead worker's task is reported at once (no silent rerun by the
    scheduler: the runner's own retry is what is tested) and each worker holds only the task it runs."""
    distributed = pytest.importorskip("distributed")
    import dask

    code = tmp_path_factory.mktemp("worker_code")
    shutil.copy(HELPERS / "dying.py", code / "vowelcam_dying.py")
    sys.path.insert(0, str(code))  # spawned workers start with this process's sys.path
    config = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    try:
        with (
            dask.config.set(config),
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as local,
        ):
            yield local
    finally:
        sys.path.remove(str(code))


@pytest.fixture
def dask_runner(cluster):
    """A runner on the shared cluster, closed after the test."""
    from vowelcam.parallel import open_runner

    with open_runner(dask=cluster.scheduler_address) as runner:
        yield runner
