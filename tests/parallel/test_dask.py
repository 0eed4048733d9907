"""Extraction on a Dask cluster (the ``cluster`` extra): a LocalCluster of two worker processes, one thread each.

The client writes every output, so a cluster run is byte-identical to a local one, also when a worker dies
mid-run; a chunk whose worker dies on every try becomes problems.csv rows and is retried by the next run.
"""

from __future__ import annotations

import importlib
import socket
import sys
from pathlib import Path

import pytest
import soundfile as sf
from typer.testing import CliRunner

from vowelcam.cli import app
from vowelcam.config import Settings
from vowelcam.extract import extract
from vowelcam.rundir import read_csv

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


def files_of(run: Path) -> dict[str, bytes]:
    """Every file of a run directory by relative path, with its bytes."""
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def dying(runner, tmp_path: Path, index: int, deaths: int):
    """``runner`` wrapped so that chunk ``index``'s first ``deaths`` tries kill their worker; and its tries folder."""
    tries = tmp_path / "tries"
    tries.mkdir()
    return importlib.import_module("vowelcam_dying").Dying(runner, tries, index, deaths), tries


def test_killed_worker_leaves_no_gap_and_bytes_match_a_local_run(shared_data, dask_runner, tmp_path):
    lj = shared_data / "ljspeech-32"
    settings = Settings().with_overrides(  # the corner vowels only: 243 tokens, the test stays short
        {"extract": {"chunk_files": 4}, "labels": {"vowel_set": "corner", "include_unvoiced": False}}
    )
    extract(lj / "wavs", tmp_path / "local", lj / "textgrids", settings)
    runner, tries = dying(dask_runner, tmp_path, index=2, deaths=1)
    calls = []
    extract(
        lj / "wavs", tmp_path / "dask", lj / "textgrids", settings, runner=runner, progress=lambda *a: calls.append(a)
    )
    assert len(list(tries.iterdir())) == 2  # the worker died on the first try; the retry filled the gap
    local, dask = files_of(tmp_path / "local"), files_of(tmp_path / "dask")
    assert {"tokens.csv", "problems.csv", "spectrograms/shard-00007.npy"} <= set(local)
    assert sorted(dask) == sorted(local)
    assert [name for name in local if dask[name] != local[name]] == []
    done = [(d, total) for stage, d, total, _ in calls if stage == "extract"]
    seconds = round(sum(sf.info(str(wav)).duration for wav in (lj / "wavs").glob("*.wav")))  # 32 recordings
    assert done[0] == (0, seconds) and done[-1] == (seconds, seconds) and len(done) == 9  # audio, once per chunk
    assert [d for d, _ in done] == sorted(d for d, _ in done)


def test_windows_of_a_long_recording_on_dask_match_a_local_run(dask_runner, tmp_path):
    sys.path.append(str(Path(__file__).resolve().parents[2]))  # the repository, for bench/lib
    from bench.lib.long_recording import write_long_recording

    write_long_recording(tmp_path / "corpus" / "spk01", 1.0, seed=5)
    settings = Settings().with_overrides({"extract": {"chunk_seconds": 15.0}})  # 4 windows, 2 workers
    extract(tmp_path / "corpus", tmp_path / "local", settings=settings)
    extract(tmp_path / "corpus", tmp_path / "dask", settings=settings, runner=dask_runner)
    local, dask = files_of(tmp_path / "local"), files_of(tmp_path / "dask")
    assert "spectrograms/shard-00003.npy" in local and sorted(dask) == sorted(local)
    assert [name for name in local if dask[name] != local[name]] == []


def test_worker_dying_on_every_try_gives_problem_rows_and_a_rerun_retries(corpus, dask_runner, tmp_path):
    settings = Settings().with_overrides({"extract": {"chunk_files": 6}})  # 12 recordings: chunks 0 and 1
    runner, tries = dying(dask_runner, tmp_path, index=1, deaths=99)
    extract(corpus, tmp_path / "run", settings=settings, runner=runner)
    assert len(list(tries.iterdir())) == dask_runner.retries + 1
    lost = [p for p in read_csv(tmp_path / "run" / "problems.csv") if p["reason"] == "worker lost"]
    tokens = read_csv(tmp_path / "run" / "tokens.csv")
    assert len(lost) == 6 and {Path(p["path"]).parent.name for p in lost} == {"spk3", "spk4", "spk5"}
    assert tokens and {t["speaker"] for t in tokens}.isdisjoint({"spk3", "spk4", "spk5"})
    assert not (tmp_path / "run" / "spectrograms" / "chunks" / "chunk-00001.json").exists()
    again = extract(corpus, tmp_path / "run", settings=settings)  # resumes: only the lost chunk is redone
    extract(corpus, tmp_path / "fresh", settings=settings)
    assert (again.n_chunks_skipped, again.n_chunks_done) == (1, 1)
    assert files_of(tmp_path / "run") == files_of(tmp_path / "fresh")


def test_cli_dask_from_a_scheduler_file_in_the_environment(corpus, cluster, tmp_path, monkeypatch):
    scheduler_file = tmp_path / "scheduler.json"
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        client.write_scheduler_file(str(scheduler_file))
    monkeypatch.setenv("VOWELCAM_DASK", str(scheduler_file))
    result = CliRunner().invoke(app, ["extract", str(corpus), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    extract(corpus, tmp_path / "local")
    assert (tmp_path / "run" / "tokens.csv").read_bytes() == (tmp_path / "local" / "tokens.csv").read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "{tmp}/no-such-scheduler.json"])
def test_unreachable_scheduler_is_one_line_and_writes_nothing(corpus, tmp_path, monkeypatch, address):
    monkeypatch.setattr("vowelcam.parallel.dask_runner.CONNECT_TIMEOUT_S", 1)
    address = address.format(port=free_port(), tmp=tmp_path)
    result = CliRunner().invoke(app, ["extract", str(corpus), "--out", str(tmp_path / "run"), "--dask", address])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and address in lines[0], result.output
    assert "cannot reach the Dask scheduler" in lines[0] or "scheduler file" in lines[0]
    assert not (tmp_path / "run").exists()
