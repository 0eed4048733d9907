"""What the cam stage runs beyond the maps (vowelcam.explain.evidence.plan): the causal test whenever the corpus
audio is reachable and a verdict could stand, replicates when they are cheap, and a sentence wherever not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vowelcam import rundir
from vowelcam.checks.settings_rules import check_value
from vowelcam.config import CamSettings
from vowelcam.errors import ConfigError
from vowelcam.explain.evidence.plan import CAUSAL_FILES, plan_evidence, read_plan, write_plan
from vowelcam.learn.train import SUMMARY


def _run(tmp_path: Path, train_seconds: float | None = 20.0, seed: int = 7) -> tuple[Path, Path]:
    corpus, run = tmp_path / "corpus", tmp_path / "run"
    corpus.mkdir(parents=True)
    (corpus / "a.wav").write_bytes(b"")
    run.mkdir()
    (run / rundir.SOURCES).write_text(json.dumps({"corpus": str(corpus), "textgrids": ""}))
    (run / SUMMARY).parent.mkdir(parents=True, exist_ok=True)
    summary = {"settings": {"seed": seed}} | ({"seconds": train_seconds} if train_seconds else {})
    (run / SUMMARY).write_text(json.dumps(summary))
    return run, corpus


def _held_out(n_speakers: int) -> list[dict[str, str]]:
    return [{"speaker": f"s{i}", "file": "a.wav"} for i in range(n_speakers) for _ in range(2)]


def test_auto_runs_the_causal_test_on_the_recorded_corpus_and_cheap_replicates(tmp_path):
    run, corpus = _run(tmp_path, train_seconds=20.0, seed=7)
    plan = plan_evidence(CamSettings(), run, _held_out(10))
    assert plan.causal and Path(plan.corpus) == corpus and not plan.causal_reason
    assert plan.replicate_seeds == [8, 9] and not plan.replicate_reason


def test_auto_skips_both_where_no_verdict_could_stand_and_says_why(tmp_path):
    run, _ = _run(tmp_path)
    plan = plan_evidence(CamSettings(), run, _held_out(3))
    assert not plan.causal and "3 speakers" in plan.causal_reason and "at least 8" in plan.causal_reason
    assert not plan.replicate_seeds and "3 speakers" in plan.replicate_reason
    forced = plan_evidence(CamSettings(causal="on", replicate_seeds="1,2"), run, _held_out(3))
    assert forced.causal and forced.replicate_seeds == [1, 2]  # asked for explicitly: run anyway


def test_auto_says_how_to_run_what_it_cannot(tmp_path):
    run, corpus = _run(tmp_path, train_seconds=400.0)
    (corpus / "a.wav").unlink()  # the recorded corpus no longer holds the run's recordings
    plan = plan_evidence(CamSettings(), run, _held_out(10))
    assert not plan.causal and "not reachable" in plan.causal_reason and "--causal-corpus" in plan.causal_reason
    assert (
        not plan.replicate_seeds
        and "13 min" in plan.replicate_reason
        and "--replicate-seeds 8,9" in plan.replicate_reason
    )
    unknown = plan_evidence(CamSettings(), _run(tmp_path / "b", train_seconds=None)[0], _held_out(10))
    assert not unknown.replicate_seeds and "no training time" in unknown.replicate_reason


def test_off_and_empty_run_nothing_and_on_insists(tmp_path):
    run, _ = _run(tmp_path)
    plan = plan_evidence(CamSettings(causal="off", replicate_seeds=""), run, _held_out(10))
    assert not plan.causal and not plan.replicate_seeds and '"off"' in plan.causal_reason
    (run / rundir.SOURCES).unlink()
    with pytest.raises(ConfigError, match="causal_corpus"):
        plan_evidence(CamSettings(causal="on"), run, _held_out(10))


def test_a_test_not_run_leaves_no_file_of_an_earlier_pass(tmp_path):
    run, _ = _run(tmp_path)
    for name in CAUSAL_FILES + ("recurrence.csv",):
        (run / name).write_text("old")
    write_plan(run, plan_evidence(CamSettings(), run, _held_out(10)))
    assert all((run / n).exists() for n in CAUSAL_FILES)  # run this time: kept until rewritten
    write_plan(run, plan_evidence(CamSettings(causal="off", replicate_seeds=""), run, _held_out(10)))
    assert not any((run / n).exists() for n in CAUSAL_FILES + ("recurrence.csv",))
    assert read_plan(run)["causal"] is False and "off" in read_plan(run)["causal_reason"]


def test_the_switch_reads_older_configs_and_refuses_other_words():
    assert check_value("cam.causal", True, "auto") == ("on", "")
    assert check_value("cam.causal", "false", "auto") == ("off", "")
    assert check_value("cam.causal", "Auto", "auto") == ("auto", "")
    value, problem = check_value("cam.causal", "maybe", "auto")
    assert value is None and "cam.causal" in problem and '"auto"' in problem
