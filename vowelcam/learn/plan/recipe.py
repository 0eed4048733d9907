"""The training recipe that fits the corpus: how many epochs, how large a batch and how patient, from the number
of training tokens, when the settings leave them to ``auto`` (0).

A network learns by optimizer steps, not passes over the data. On Hillenbrand men + women (about 1500 training
tokens, 47 steps per epoch of 32) the CPU default reached its best validation loss after 20-26 of 30 epochs, about
1000-1200 steps. A corpus of 150 training tokens gives 5 steps per epoch: 30 epochs are 150 steps, and the
quarter-width network learnt next to nothing (41.6 % where the full-width ResNet-18, with more to fit per step,
reached 67.5 %). So:

- **batch size**: 32, or 16 below :data:`SMALL_CORPUS_TOKENS` training tokens (twice the steps for the same
  passes over the data, and the gradient noise of small batches regularises what few tokens there are);
- **epochs**: enough for :data:`TARGET_STEPS` optimizer steps, at least :data:`MIN_EPOCHS` (so a large corpus keeps
  its 30 epochs and its time) and at most :data:`MAX_EPOCHS`;
- **patience**: a quarter of the epochs, at least :data:`MIN_PATIENCE`, so early stopping waits as many steps
  on a small corpus as on a large one (a validation set of a few speakers is noisy from epoch to epoch).

The width stays the hardware's choice (:func:`vowelcam.learn.train.resolve_arch`): the quarter-width network given
the steps matches the full-width one on small corpora at a fraction of the time (bench/bench_small_corpus.py).
Fine-tuning a vowelcam model (the base model, or ``--weights`` of an earlier run) starts from features that
already separate vowels: it gets :data:`FINE_TUNE_STEPS` steps (at least :data:`MIN_EPOCHS` epochs), a fraction of
the steps from scratch.

Values the user gives are kept as given.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

from ...config import TrainSettings

log = logging.getLogger(__name__)

TARGET_STEPS = 1400  # optimizer steps the CPU default gets on Hillenbrand men + women (30 epochs x 47)
FINE_TUNE_STEPS = 400  # from a vowelcam model: the sample's fine-tuning peaked within ~150 steps
MIN_EPOCHS = 30
MAX_EPOCHS = 300
MIN_PATIENCE = 8
SMALL_CORPUS_TOKENS = 1000  # fewer training tokens: batches of 16
SMALL_BATCH, LARGE_BATCH = 16, 32
AUTO = 0  # the settings' value for "choose from the corpus"


@dataclass(frozen=True)
class Recipe:
    """What a run trains with, and why (one line for the log and summary)."""

    epochs: int
    batch_size: int
    patience: int
    steps_per_epoch: int
    reason: str


def choose_recipe(settings: TrainSettings, n_train: int, fine_tune: bool = False) -> Recipe:
    """The epochs, batch size and patience for ``n_train`` training tokens (``fine_tune``: from a vowelcam model);
    values not ``auto`` are kept."""
    batch = settings.batch_size or (SMALL_BATCH if n_train < SMALL_CORPUS_TOKENS else LARGE_BATCH)
    steps = max(1, math.ceil(n_train / batch))
    target = FINE_TUNE_STEPS if fine_tune else TARGET_STEPS
    epochs = settings.epochs or min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(target / steps)))
    patience = settings.patience or max(MIN_PATIENCE, epochs // 4)
    chosen = [
        name
        for name, value in (
            ("epochs", settings.epochs),
            ("batch size", settings.batch_size),
            ("patience", settings.patience),
        )
        if value == AUTO
    ]
    reason = (
        f"{n_train} training tokens, batches of {batch}: {steps} steps per epoch x {epochs} epochs = "
        f"{steps * epochs} steps{' of fine-tuning' if fine_tune else ''}, patience {patience}"
        + (f" ({', '.join(chosen)} chosen for the corpus's size)" if chosen else "")
    )
    return Recipe(epochs=epochs, batch_size=batch, patience=patience, steps_per_epoch=steps, reason=reason)


def apply_recipe(settings: TrainSettings, recipe: Recipe) -> TrainSettings:
    """``settings`` with the recipe's epochs, batch size and patience filled in."""
    return replace(settings, epochs=recipe.epochs, batch_size=recipe.batch_size, patience=recipe.patience)


def fit_to_corpus(settings: TrainSettings, n_train: int, say: bool = True, fine_tune: bool = False) -> TrainSettings:
    """``settings`` with the recipe for ``n_train`` training tokens (``fine_tune``: from a vowelcam model) filled
    in; with ``say``, the choice logged."""
    recipe = choose_recipe(settings, n_train, fine_tune)
    if say:
        log.info("recipe: %s", recipe.reason)
    return apply_recipe(settings, recipe)
