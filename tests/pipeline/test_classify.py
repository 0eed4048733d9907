"""vowelcam.classify and the `classify` / `train` commands."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from vowelcam import classify, rundir
from vowelcam.acoustics.features import geometry, token_spectrogram
from vowelcam.classify_recording import annotate_textgrid, last_model, remember_model
from vowelcam.cli import app
from vowelcam.config import SpectrogramSettings
from vowelcam.corpus.textgrids import read_textgrid
from vowelcam.errors import AudioError, ModelError
from vowelcam.learn import models

SR = 16000
LABELS = ["AA", "IY", "UW"]
TEXTGRID = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.2
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 1.2
        intervals: size = 5
        intervals [1]:
            xmin = 0
            xmax = 0.2
            text = "sil"
        intervals [2]:
            xmin = 0.2
            xmax = 0.45
            text = "IY1"
        intervals [3]:
            xmin = 0.45
            xmax = 0.6
            text = "D"
        intervals [4]:
            xmin = 0.6
            xmax = 0.9
            text = "AA1"
        intervals [5]:
            xmin = 0.9
            xmax = 1.2
            text = "sil"
    item [2]:
        class = "TextTier"
        name = "steady"
        xmin = 0
        xmax = 1.2
        points: size = 1
        points [1]:
            number = 0.3
            mark = "say ""ee"" now"
"""


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    """Every test gets its own empty config directory (the last-model memory)."""
    monkeypatch.setenv("VOWELCAM_CONFIG_DIR", str(tmp_path / "config"))
    torch.set_num_threads(1)


def _info() -> models.ModelInfo:
    spec = asdict(SpectrogramSettings())
    return models.ModelInfo("resnet18", LABELS, "vowels4k", 4000.0, spec, {"mean": -60.0, "std": 20.0}, [2] * 5)


@pytest.fixture()
def model_file(tmp_path):
    """An (untrained) vowelcam model file for 16 kHz spectrograms below 4 kHz."""
    torch.manual_seed(0)
    info = _info()
    path = tmp_path / "model.pt"
    torch.save(models.checkpoint_dict(models.build_model(info), info), path)
    return path


@pytest.fixture()
def recording(tmp_path):
    """1.2 s of two harmonic 'vowels' with silence around them, plus its TextGrid."""
    t = np.arange(int(1.2 * SR)) / SR
    x = np.zeros_like(t)
    for lo, hi, f in ((0.2, 0.45, 120.0), (0.6, 0.9, 200.0)):
        on = (t >= lo) & (t < hi)
        x[on] = sum(np.sin(2 * np.pi * k * f * t[on]) / k for k in range(1, 20)) * 0.1
    wav = tmp_path / "two.wav"
    sf.write(wav, x, SR, subtype="FLOAT")
    grid = tmp_path / "two.TextGrid"
    grid.write_text(TEXTGRID, encoding="utf-8")
    return wav, grid, x


class Probe(torch.nn.Module):
    """A stand-in network that records its input and prefers class 1."""

    def forward(self, x):
        self.seen = x.clone()
        return torch.tensor([[0.0, 2.0, 1.0]]).repeat(len(x), 1)


def test_classify_feeds_the_models_own_spectrogram(recording):
    wav, grid, x = recording
    probe, info = Probe(), _info()
    results = classify(wav, textgrid=grid, model=(probe, info))
    assert [(r.label, r.start, r.end) for r in results] == [("IY1", 0.2, 0.45), ("AA1", 0.6, 0.9)]
    settings = SpectrogramSettings()
    expected = token_spectrogram(x, SR, 0.75, settings, geometry(settings))[: info.n_rows()]
    assert probe.seen.shape == (2, 1, 129, 96)
    assert torch.allclose(probe.seen[1, 0], info.prepare(expected)[0, 0], atol=1e-4)
    p = np.exp([0.0, 2.0, 1.0]) / np.exp([0.0, 2.0, 1.0]).sum()
    assert results[0].top == [("IY", pytest.approx(p[1])), ("UW", pytest.approx(p[2])), ("AA", pytest.approx(p[0]))]
    whole = classify(wav, model=(probe, info), start=0.2, end=0.45)
    assert len(whole) == 1 and whole[0].start == 0.2 and whole[0].label == ""


def test_write_textgrid_copies_tiers_and_adds_predictions(recording, tmp_path):
    wav, grid, _ = recording
    results = classify(wav, textgrid=grid, model=(Probe(), _info()))
    out = annotate_textgrid(results, tmp_path / "out.TextGrid", grid)
    back = read_textgrid(out)
    assert [t.name for t in back.tiers] == ["phones", "steady", "vowelcam"]
    original = read_textgrid(grid)
    assert [(i.start, i.end, i.text) for i in back.tiers[0].intervals] == [
        (i.start, i.end, i.text) for i in original.tiers[0].intervals
    ]
    assert back.tiers[1].is_point and back.tiers[1].intervals[0].text == 'say "ee" now'
    marks = [(i.start, i.end, i.text) for i in back.tiers[2].intervals]
    assert marks == [(0.0, 0.2, ""), (0.2, 0.45, "IY 0.67"), (0.45, 0.6, ""), (0.6, 0.9, "IY 0.67"), (0.9, 1.2, "")]


def test_short_silent_and_missing_inputs_are_one_line_errors(tmp_path, model_file, recording, monkeypatch):
    short = tmp_path / "short.wav"
    sf.write(short, np.full(100, 0.1), SR)  # 6 ms < 15 ms window
    with pytest.raises(AudioError, match=r"short.wav: too short \(6.2 ms, shorter than the 15 ms analysis window\)"):
        classify(short, model=model_file)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR), SR)
    with pytest.raises(AudioError, match="silent.wav: silence"):
        classify(silent, model=model_file)
    monkeypatch.setattr("vowelcam.base_model.base_model_path", lambda: None)  # an installation without one
    with pytest.raises(ModelError, match="no model given and none remembered"):
        classify(recording[0])
    with pytest.raises(ModelError, match="not a vowelcam model"):
        classify(recording[0], model=recording[1])


def test_last_model_is_remembered(model_file, recording):
    assert last_model() is None
    remember_model(model_file)
    assert last_model() == model_file.resolve()
    results = classify(recording[0], textgrid=recording[1])
    assert len(results) == 2 and all(len(r.top) == 3 for r in results)
    assert all(abs(sum(r.probs.values()) - 1) < 1e-5 for r in results)


def test_classify_cli_json_csv_and_textgrid(model_file, recording, tmp_path, monkeypatch):
    wav, grid, _ = recording
    runner = CliRunner()
    res = runner.invoke(app, ["classify", str(wav), "--textgrid", str(grid), "--model", str(model_file), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [d["label"] for d in data] == ["IY1", "AA1"] and len(data[0]["top"]) == 3
    assert data[0]["top"][0]["probability"] >= data[0]["top"][1]["probability"] >= data[0]["top"][2]["probability"]
    res = runner.invoke(
        app, ["classify", str(wav), "--model", str(model_file), "--csv", "--start", "0.6", "--end", "0.9"]
    )
    assert res.exit_code == 0 and res.stdout.splitlines()[0].startswith("start,end,label,tier,interval,class1,prob1")
    assert res.stdout.splitlines()[1].startswith("0.6000,0.9000,")
    out = tmp_path / "pred.TextGrid"
    res = runner.invoke(
        app, ["classify", str(wav), "-t", str(grid), "-m", str(model_file), "--write-textgrid", str(out)]
    )
    assert res.exit_code == 0 and read_textgrid(out).tiers[-1].name == "vowelcam"
    before = grid.read_text()
    res = runner.invoke(
        app, ["classify", str(wav), "-t", str(grid), "-m", str(model_file), "--write-textgrid", str(grid)]
    )
    assert res.exit_code == 2 and "would overwrite the input TextGrid" in res.output and grid.read_text() == before
    monkeypatch.setattr("vowelcam.base_model.base_model_path", lambda: None)  # an installation without one
    res = runner.invoke(app, ["classify", str(wav)])
    assert res.exit_code == 2 and "no model given" in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_train_cli_reports_accuracy_and_remembers_the_model(tmp_path, extracted_run_dir, run_copy):
    run = run_copy(extracted_run_dir)  # trained here: through the command, batch 16, as a user does
    res = CliRunner().invoke(
        app,
        [
            "train",
            str(run),
            "--arch",
            "resnet18",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--max-hz-per-row",
            "0",
            "--no-augment",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "test accuracy" in res.stdout and "grouped by speaker" in res.stdout
    assert last_model() == (run / rundir.MODEL).resolve()
    assert "[train]" in (run / "model" / "train.toml").read_text()
    res = CliRunner().invoke(app, ["train", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "no tokens.csv" in res.output
