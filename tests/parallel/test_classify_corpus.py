"""Classifying a corpus: one predictions CSV and one problems CSV, the same bytes from one process and from a Dask
LocalCluster of two workers (the client writes both files in chunk order); the CLI writes what the API writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import vowelcam
from vowelcam.cli import app
from vowelcam.config import Settings
from vowelcam.inference import classify_corpus
from vowelcam.parallel import InProcess, open_runner
from vowelcam.rundir import read_csv

pytestmark = pytest.mark.slow
CORNER = {"extract": {"chunk_files": 3}, "labels": {"vowel_set": "corner", "include_unvoiced": False}}


def test_corpus_predictions_are_the_same_bytes_on_dask_and_locally(shared_data, trained_run_dir, cluster, tmp_path):
    pytest.importorskip("distributed")
    lj = shared_data / "ljspeech-32"
    settings = Settings().with_overrides(CORNER)
    given = {"textgrids": lj / "textgrids", "model": trained_run_dir, "settings": settings}
    local = classify_corpus(lj / "wavs", tmp_path / "local.csv", runner=InProcess(), **given)
    calls = []
    with open_runner(dask=cluster.scheduler_address) as runner:
        dask = classify_corpus(
            lj / "wavs", tmp_path / "dask.csv", runner=runner, progress=lambda *a: calls.append(a), **given
        )
    rows = read_csv(local.predictions)
    assert local.n_recordings == 32 and local.n_tokens == len(rows) > 100
    phones = {r["phone"] for r in rows}
    assert {"IY", "UW"} <= phones and not phones & {"P", "T", "K", "S", "F"}  # the corner vowels, no consonant
    assert {r["predicted"] for r in rows} <= {"IY", "AA", "UW"}  # the model's classes
    assert all(1 >= float(r["prob_predicted"]) >= float(r["prob_2"]) >= float(r["prob_3"]) >= 0 for r in rows)
    assert dask.predictions.read_bytes() == local.predictions.read_bytes()
    assert dask.problems.read_bytes() == local.problems.read_bytes()
    assert dask.problems == tmp_path / "dask-problems.csv"
    assert calls[0][1:3] == (0, 32) and calls[-1][1:3] == (32, 32) and len(calls) == 1 + 11  # once per chunk


def test_cli_classifies_a_corpus_as_the_api_does(corpus, trained_run_dir, tmp_path):
    library = vowelcam.classify_corpus(corpus, tmp_path / "library.csv", model=trained_run_dir, top=2, jobs=1)
    args = ["classify", str(corpus), "--model", str(trained_run_dir), "--out", str(tmp_path / "cli.csv")]
    result = CliRunner().invoke(app, [*args, "--top", "2"])
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "cli.csv")
    assert len(rows) == library.n_tokens == 12 * 8  # the vowels only: the 'S' of each recording is no vowel token
    assert (tmp_path / "cli.csv").read_bytes() == library.predictions.read_bytes()
    assert "class_3" not in rows[0] and "prob_2" in rows[0]
    assert (tmp_path / "cli-problems.csv").read_bytes() == library.problems.read_bytes()
    wrong = CliRunner().invoke(app, [*args, "--json"])
    assert wrong.exit_code == 2 and "--json are for one recording" in wrong.output


def test_cli_classify_corpus_on_a_dead_scheduler_is_one_line(corpus, trained_run_dir, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("vowelcam.parallel.dask_runner.CONNECT_TIMEOUT_S", 1)
    out = tmp_path / "p.csv"
    args = ["classify", str(corpus), "--model", str(trained_run_dir), "--out", str(out), "--dask", str(Path("nope"))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "--dask nope" in result.output, result.output
    assert not out.exists()


class Died(Exception):
    """Stands for a worker's death."""


class LosingChunk(InProcess):
    """Runs tasks in this process, but every try of the task whose recordings include ``lost`` loses its worker."""

    retries = 1

    def __init__(self, lost: str):
        self.lost, self.tries = lost, 0

    def worker_lost(self, error: BaseException) -> bool:
        return isinstance(error, Died)

    def submit(self, fn, /, *args):
        if any(pair.rel == self.lost for pair in args[0]):
            self.tries += 1
            return super().submit(_die)
        return super().submit(fn, *args)


def _die():
    raise Died("worker gone")


def test_a_chunk_whose_worker_dies_on_every_try_becomes_problem_rows(corpus, trained_run_dir, tmp_path):
    settings = Settings().with_overrides({"extract": {"chunk_files": 4}})  # 12 recordings: chunks 0, 1, 2
    runner = LosingChunk("spk3/utt0.wav")  # in chunk 1 with spk2/utt0, spk2/utt1 and spk3/utt1
    done = classify_corpus(corpus, tmp_path / "p.csv", model=trained_run_dir, settings=settings, runner=runner)
    lost = [p for p in read_csv(done.problems) if p["reason"] == "worker lost"]
    assert runner.tries == 2 and len(lost) == 4 and "died on each of 2 tries" in lost[0]["detail"]
    assert {Path(p["path"]).parent.name for p in lost} == {"spk2", "spk3"}
    assert {r["file"].split("/")[0] for r in read_csv(done.predictions)} == {"spk0", "spk1", "spk4", "spk5"}
