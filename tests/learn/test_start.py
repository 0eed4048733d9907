"""Where training starts: ``train.weights = "auto"`` gives a small corpus the base model only where it fits the run,
and the learning rate follows the start."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from vowelcam.base_model import BASE, base_model_path
from vowelcam.config import TrainSettings
from vowelcam.learn.models import info_from_checkpoint
from vowelcam.learn.plan.initial import FINE_TUNE_LR, SCRATCH_LR, choose_start, fine_tuning, started_from
from vowelcam.learn.plan.recipe import FINE_TUNE_STEPS, TARGET_STEPS, choose_recipe

pytestmark = pytest.mark.skipif(base_model_path() is None, reason="this checkout has no base model")


def _base_store(**changes):
    """A stand-in spectrogram store with the base model's settings (``changes`` applied)."""
    path = base_model_path()
    info = info_from_checkpoint(torch.load(path, map_location="cpu", weights_only=True), str(path))
    return SimpleNamespace(settings={**info.spectrogram, **changes}), info.arch


def test_a_small_corpus_that_fits_starts_from_the_base_model_at_a_tenth_of_the_rate():
    store, arch = _base_store()
    chosen = choose_start(TrainSettings(task="vowels4k"), arch, 200, store)
    assert chosen.weights == BASE and chosen.lr == FINE_TUNE_LR and fine_tuning(chosen)
    assert "base model" in started_from(chosen) and "lr 0.0001" in started_from(chosen)


@pytest.mark.parametrize(
    ("settings", "n_train", "store_change", "other_arch"),
    [
        (TrainSettings(), 5000, {}, False),  # enough tokens to learn from
        (TrainSettings(task="voicing"), 200, {}, False),  # not a vowel task
        (TrainSettings(), 200, {"n_fft": 1024}, False),  # other spectrogram rows: other Hz
        (TrainSettings(), 200, {}, True),  # another architecture (resnet101 on a GPU)
        (TrainSettings(weights="none"), 200, {}, False),  # asked for random weights
        (TrainSettings(pretrained=True), 200, {}, False),  # ImageNet asked for
    ],
)
def test_otherwise_training_starts_where_asked_or_from_random_weights(settings, n_train, store_change, other_arch):
    store, arch = _base_store(**store_change)
    chosen = choose_start(settings, "resnet101" if other_arch else arch, n_train, store)
    assert chosen.weights == "" and chosen.lr == SCRATCH_LR and not fine_tuning(chosen)


def test_given_values_are_kept_and_fine_tuning_gets_fewer_steps():
    store, arch = _base_store()
    assert choose_start(TrainSettings(weights="base", lr=5e-4), arch, 5000, store).lr == 5e-4
    assert choose_start(TrainSettings(weights="base"), arch, 5000, store).weights == BASE  # base asked for
    scratch, tuned = choose_recipe(TrainSettings(), 300), choose_recipe(TrainSettings(), 300, fine_tune=True)
    assert tuned.epochs * tuned.steps_per_epoch < scratch.epochs * scratch.steps_per_epoch
    assert tuned.epochs == 30 and scratch.epochs == -(-TARGET_STEPS // 19)  # 300 tokens, batches of 16: 19 steps
    assert FINE_TUNE_STEPS < TARGET_STEPS


@pytest.mark.parametrize(
    ("coverage", "accuracy", "start"),
    [(1.0, 0.9, BASE), (1.0, 0.2, ""), (0.5, 0.9, "")],  # knows them; unlike its vowels; too few of its classes
)
def test_the_base_model_must_know_the_corpus_vowels_before_training_to_be_started_from(coverage, accuracy, start):
    store, arch = _base_store()
    chosen = choose_start(TrainSettings(), arch, 200, store, lambda model, info: (coverage, accuracy))
    assert chosen.weights == start


def test_familiarity_reads_the_base_model_on_training_tokens(tmp_path):
    """On spectrograms of nothing (silence) the base model knows nothing: some class, but not the right ones all."""
    from vowelcam.learn.models import load_model
    from vowelcam.learn.plan.initial import base_familiarity

    class Silence:
        def get_many(self, places, max_freq=0.0):
            return np.full((len(places), 129, 96), -100.0, dtype=np.float32)

    rows = [{"spec_shard": 0, "spec_row": i} for i in range(24)]
    labels = ["IY", "AA", "UW", "XX"] * 6  # XX: not a base model class
    coverage, accuracy = base_familiarity(*load_model(base_model_path()), Silence(), rows, labels)
    assert coverage == 0.75 and accuracy <= 1 / 3 + 1e-9  # one answer for identical inputs: right for one class at most
