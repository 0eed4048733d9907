"""``analyze --model --force`` on a trained run with real checkpoints: the given model is loaded and checked
against the run's spectrogram settings before anything is removed."""

from __future__ import annotations

from dataclasses import asdict, replace

import pytest
import torch

from tests.helpers.runs.predicted import RUN_SETTINGS
from vowelcam.errors import ModelError
from vowelcam.runstate.replace import ModelReplaceError, prepare_for_model


@pytest.fixture
def trained_here(predicted_run_dir, run_copy, tmp_path):
    """A copy of a run with a model (marked as trained there), and another valid model: ``(run, other.pt)``."""
    run = run_copy(predicted_run_dir)
    (run / "model" / "metrics.csv").write_text("epoch\n1\n")
    data = torch.load(run / "model" / "model.pt", weights_only=True)
    first = next(k for k, v in data["state_dict"].items() if v.is_floating_point())
    data["state_dict"][first] = data["state_dict"][first] + 1.0
    other = tmp_path / "other.pt"
    torch.save(data, other)
    return run, other


def test_a_fitting_model_replaces_the_trained_one_and_all_derived_only_with_force(trained_here):
    run, other = trained_here
    with pytest.raises(ModelReplaceError):
        prepare_for_model(run, other, force=False, spectrogram=asdict(RUN_SETTINGS))
    assert prepare_for_model(run, other, force=True, spectrogram=asdict(RUN_SETTINGS))
    assert not (run / "model").exists() and not (run / "predictions.csv").exists()
    assert (run / "tokens.csv").exists() and (run / "spectrograms").is_dir()


def test_a_model_for_other_spectrograms_is_refused_before_anything_is_removed(trained_here):
    run, other = trained_here
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    with pytest.raises(ModelError, match="sample_rate"):
        prepare_for_model(run, other, force=True, spectrogram=asdict(replace(RUN_SETTINGS, sample_rate=8000)))
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


def test_the_model_already_there_needs_nothing(trained_here):
    run, _ = trained_here
    assert not prepare_for_model(run, run / "model" / "model.pt", force=False)
