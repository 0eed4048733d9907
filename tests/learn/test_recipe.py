"""The recipe that fits the corpus: optimizer steps, not passes, decide the epochs; a large corpus keeps the fast
path; values the user gives are kept."""

from __future__ import annotations

import json
from dataclasses import replace

from vowelcam.config import TrainSettings
from vowelcam.learn.plan.recipe import MAX_EPOCHS, TARGET_STEPS, apply_recipe, choose_recipe

AUTO = TrainSettings()


def test_a_large_corpus_keeps_thirty_epochs_of_batches_of_32():
    recipe = choose_recipe(AUTO, 1518)  # Hillenbrand men + women: a held-out split's training tokens
    assert (recipe.epochs, recipe.batch_size, recipe.patience) == (30, 32, 8)


def test_a_small_corpus_gets_as_many_steps_as_a_large_one():
    small, large = choose_recipe(AUTO, 150), choose_recipe(AUTO, 1518)
    assert small.batch_size == 16 and small.steps_per_epoch == 10
    assert small.epochs * small.steps_per_epoch >= TARGET_STEPS
    assert small.epochs * small.steps_per_epoch >= 0.95 * large.epochs * large.steps_per_epoch
    assert small.patience == small.epochs // 4 > large.patience
    assert "150 training tokens" in small.reason and "chosen for the corpus's size" in small.reason


def test_a_tiny_corpus_is_capped():
    assert choose_recipe(AUTO, 10).epochs == MAX_EPOCHS


def test_values_given_are_kept():
    given = replace(AUTO, epochs=12, batch_size=8, patience=3)
    recipe = choose_recipe(given, 150)
    assert (recipe.epochs, recipe.batch_size, recipe.patience) == (12, 8, 3)
    assert "chosen" not in recipe.reason
    applied = apply_recipe(AUTO, choose_recipe(AUTO, 150))
    assert (applied.epochs, applied.batch_size) == (choose_recipe(AUTO, 150).epochs, 16)


def test_training_applies_and_records_the_recipe(tmp_path):
    from tests.helpers.runs import extracted_run
    from vowelcam.learn.train import train

    run = extracted_run(tmp_path / "run", phones=("IY", "AA", "UW"), speakers=5, per_class=2)
    result = train(run, replace(AUTO, arch="resnet18-w16", epochs=1, seed=3))  # batch size and patience: auto
    assert (result.epochs, result.batch_size) == (1, 16)
    summary = json.loads((run / "model" / "summary.json").read_text())
    assert summary["settings"]["batch_size"] == 16 and summary["settings"]["patience"] == 8
