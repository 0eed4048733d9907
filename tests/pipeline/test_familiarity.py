"""classify warns when a recording is unlike the model's training data, as far as the model's saved info allows."""

from __future__ import annotations

import logging
from dataclasses import asdict, replace

import numpy as np
import soundfile as sf
import torch

from tests.pipeline.test_classify import TEXTGRID, Probe
from vowelcam import classify
from vowelcam.config import SpectrogramSettings
from vowelcam.learn import models
from vowelcam.learn.familiarity import training_profile, unfamiliar_input

SR = 16000


class Unsure(Probe):
    """A stand-in network with no preference: every class 1/3."""

    def forward(self, x):
        return torch.zeros(len(x), 3)


def _info(labels=("AA", "IY", "UW"), **extra) -> models.ModelInfo:
    spec = asdict(SpectrogramSettings())
    info = models.ModelInfo("resnet18", list(labels), "vowels4k", 4000.0, spec, {"mean": -60.0, "std": 20.0}, [2] * 5)
    return replace(info, extra=extra)


def test_training_profile_keeps_rates_groups_and_validation_confidence():
    rows = [{"sample_rate": "16000", "group": "men"}, {"sample_rate": "22050.0", "group": "women"}, {"group": ""}]
    val = [{"prob_predicted": p} for p in (0.9, 0.5, 0.8)]
    assert training_profile(rows, val) == {
        "train_sample_rates": [16000, 22050],
        "train_groups": ["men", "women"],
        "n_train": 3,
        "val_confidence": 0.8,
    }
    assert "val_confidence" not in training_profile(rows, [])


def test_warnings_name_rate_labels_and_confidence():
    extra = {"train_sample_rates": [16000], "train_groups": ["men"], "n_train": 216, "val_confidence": 0.9}
    assert unfamiliar_input(extra, 16000, 44100, [0.85, 0.95]) == []
    (rate,) = unfamiliar_input(extra, 16000, 8000, [0.9])
    assert "8000 Hz, below the 16000 Hz" in rate and "nothing above 4000 Hz" in rate
    (labels,) = unfamiliar_input(extra, 16000, 16000, [0.9], ["ER", "OY", "ER"])
    assert labels.endswith("no class for (left out): ER, OY")
    (sure,) = unfamiliar_input(extra, 16000, 16000, [0.3, 0.4, 0.5])
    assert (
        "median top probability 0.40 vs validation 0.90" in sure
        and "(trained on 216 tokens of men at 16000 Hz)" in sure
    )
    old = unfamiliar_input({"val_acc": 0.8}, 16000, 16000, [0.3])  # a model saved before the profile
    assert len(old) == 1 and "vs validation accuracy 0.80" in old[0]


def test_classify_logs_the_warnings(tmp_path, caplog):
    t = np.arange(int(1.2 * 8000)) / 8000
    wav = tmp_path / "low.wav"
    sf.write(wav, 0.1 * np.sin(2 * np.pi * 150 * t) * ((t > 0.2) & (t < 0.9)), 8000)
    grid = tmp_path / "low.TextGrid"
    grid.write_text(TEXTGRID, encoding="utf-8")
    torch.set_num_threads(1)
    info = _info(("IY", "UW", "AE"), train_sample_rates=[16000], val_confidence=0.99)
    with caplog.at_level(logging.WARNING, logger="vowelcam"):
        results = classify(wav, textgrid=grid, model=(Unsure(), info))
    assert [r.label for r in results] == ["IY1"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "low.wav: the recording is sampled at 8000 Hz" in messages
    assert "no class for (left out): AA" in messages
    assert "far less sure" in messages and "vs validation 0.99" in messages


def test_a_familiar_recording_gets_no_warning(tmp_path, caplog):
    t = np.arange(int(1.2 * SR)) / SR
    wav = tmp_path / "ok.wav"
    sf.write(wav, 0.1 * np.sin(2 * np.pi * 150 * t) * ((t > 0.2) & (t < 0.9)), SR)
    grid = tmp_path / "ok.TextGrid"
    grid.write_text(TEXTGRID, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="vowelcam"):
        classify(wav, textgrid=grid, model=(Probe(), _info(train_sample_rates=[16000], val_confidence=0.9)))
    assert not caplog.records
