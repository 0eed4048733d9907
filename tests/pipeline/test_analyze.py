"""``vowelcam analyze``: one command from a corpus to the report; re-runs skip what is up to date."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vowelcam.cli import app
from vowelcam.rundir import read_csv


@pytest.mark.slow
def test_analyze_end_to_end_then_skip(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("VOWELCAM_CONFIG_DIR", str(tmp_path / "config"))
    out = tmp_path / "run"
    config = tmp_path / "fast.toml"
    # plumbing, not science: standard strides and pooled input keep the CPU cost of this test small
    config.write_text(
        "[train]\nmax_hz_per_row = 0.0\nfreq_pool = 2\ntime_pool = 2\n"
        "[cam]\nfaithfulness_max_tokens = 16\nbootstrap = 200\n"
    )
    args = [
        "analyze",
        str(corpus),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--arch",
        "resnet18",
        "--task",
        "vowels4k",
        "--config",
        str(config),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    stamps = json.loads((out / "stages.json").read_text())
    assert set(stamps) == {"train", "cam", "report"}
    predictions = read_csv(out / "predictions.csv")
    assert {p["true"] for p in predictions} == {"AA", "AE", "IY", "UW"}
    assert read_csv(out / "agreement.csv")[0]["hz_per_row"]
    assert (out / "report" / "report.html").read_text(encoding="utf-8").count("<table") >= 2
    assert "report" in first.output
    wav = next(corpus.rglob("*.wav"))
    grid = wav.with_suffix(".TextGrid")
    for model in ([], ["--model", str(out)]):  # the model analyze remembered, or its run directory
        classified = CliRunner().invoke(app, ["classify", str(wav), "-t", str(grid), "--csv", *model])
        assert classified.exit_code == 0, classified.output
        assert classified.stdout.startswith("start,end,label")
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert second.output.count("up to date (skipped)") == 3
    assert json.loads((out / "stages.json").read_text()) == stamps
    written = (out / "config.toml").read_text()
    assert 'task = "vowels4k"' in written and "faithfulness_max_tokens = 16" in written
    third = CliRunner().invoke(app, [*args[:-2], "--config", str(out / "config.toml"), "--method", "hirescam"])
    assert third.exit_code == 0, third.output
    assert "up to date (skipped)" in third.output  # training unchanged ...
    assert json.loads((out / "stages.json").read_text())["cam"] != stamps["cam"]  # ... CAMs and report redone
    assert json.loads((out / "cams" / "meta.json").read_text())["method"] == "hirescam"


def test_analyze_without_pairs_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("nothing here")
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "empty"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "no audio/label pairs" in result.output and "Traceback" not in result.output
