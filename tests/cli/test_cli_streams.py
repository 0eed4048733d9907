"""Every command: results on stdout, progress and logs on stderr (a small synthetic corpus, end to end)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vowelcam.cli import app


def _run(args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.stdout + res.stderr
    return res


@pytest.mark.slow
def test_results_go_to_stdout_and_logs_to_stderr(tmp_path, one_torch_thread):
    synth = _run(
        [
            "synth",
            tmp_path / "syn",
            "--speakers-per-group",
            2,
            "--tokens-per-vowel",
            3,
            "--vowels",
            "IY,AA",
            "--groups",
            "men,women,children",
        ]
    )
    assert "synthesised into" in synth.stdout and "synthesised into" not in synth.stderr
    corpus, run = tmp_path / "syn" / "corpus", tmp_path / "run"
    ext = _run(
        [
            "extract",
            corpus,
            "--out",
            run,
            "--speaker-groups",
            tmp_path / "syn" / "speakers.csv",
            "--no-unvoiced",
            "--max-freq",
            4000,
        ]
    )
    assert "extracted into" in ext.stdout and "extracted into" not in ext.stderr
    train = _run(
        [
            "train",
            run,
            "--task",
            "vowels4k",
            "--arch",
            "resnet18",
            "--epochs",
            1,
            "--max-hz-per-row",
            0,
            "--freq-pool",
            2,
            "--no-augment",
            "--device",
            "cpu",
        ]
    )
    assert "test accuracy" in train.stdout and "chance" in train.stdout
    assert "vowels4k: resnet18 on cpu" in train.stdout and "vowels4k: resnet18 on cpu" not in train.stderr
    assert "remembered as the default model" in train.stderr and "fold 1 epoch 1" in train.stderr
    assert "epoch 1" not in train.stdout  # the log stays on stderr
    wav = sorted(corpus.rglob("*.wav"))[0]
    cls = _run(
        ["classify", wav, "--textgrid", wav.with_suffix(".TextGrid"), "--model", run / "model" / "model.pt", "--json"]
    )
    assert [d["label"][:2] for d in json.loads(cls.stdout)] and cls.stderr == ""
    cam = _run(["cam", run, "--method", "gradcam", "--no-faithfulness", "--device", "cpu"])
    assert "Hz per CAM row" in cam.stdout and "wrote" in cam.stdout and "accuracy 100.0%" not in cam.stderr
    assert "INFO" not in cam.stdout and "INFO" in cam.stderr
    rep = _run(["report", run])
    assert "HTML" in rep.stdout and "figures" in rep.stdout and "figures" not in rep.stderr
    ana = _run(
        [
            "analyze",
            corpus,
            "--out",
            run,
            "--speaker-groups",
            tmp_path / "syn" / "speakers.csv",
            "--task",
            "vowels4k",
            "--epochs",
            1,
            "--device",
            "cpu",
        ]
    )
    assert "vowelcam analyze" in ana.stdout and "extracted into" in ana.stdout
    assert "vowelcam analyze" not in ana.stderr
