"""Where training starts from: random weights, ImageNet's (``--pretrained``), a weights file (``--weights``) or
vowelcam's base model (``--init base``, :mod:`vowelcam.base_model`), and the learning rate that goes with it.

``train.weights = "auto"`` (the default) starts a **small corpus** from the base model and any other from random
weights. Small is fewer than :data:`~vowelcam.learn.plan.recipe.SMALL_CORPUS_TOKENS` training tokens, where a
network trained from scratch has too few examples to learn vowel spectra from (``bench/bench_small_corpus.py``
measures both starts on small corpora of speakers the base model never heard). The base model is used only where it
fits the run: this installation has it, the architecture is the base model's, the task classifies vowels, the
spectrogram settings are the base model's, and it **knows the corpus's vowels before any training**: at least
:data:`MIN_BASE_COVERAGE` of the training tokens are of its classes and it classifies at least
:data:`MIN_BASE_ACCURACY` of those right. The last rule is measured, not assumed: on citation-form vowels
(Hillenbrand speakers it never heard, the synthetic sample) the base model starts at 85-94 % and fine-tuning it beat
random weights; on LJSpeech's connected read speech it starts at 17 % and fine-tuning it lost to random weights
(51 % against 62 %). Otherwise training starts from random weights and the log says why. ``""`` (or ``"none"``)
always starts from random weights.

``train.lr = 0`` (the default) is 1e-3 from random or ImageNet weights and a tenth of that when fine-tuning a
vowelcam model, whose features a large step would overwrite before the new head has learnt to use them (on the
synthetic sample, fine-tuning the base model at 1e-3 peaked at epoch 3 and fell back; at 1e-4 it held).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from ...acoustics.store import SpectrogramStore
from ...base_model import BASE, base_model_path, weights_file
from ...config import TrainSettings
from ...errors import ModelError
from ..models import (
    ModelInfo,
    SpectrogramResNet,
    check_compatible,
    imagenet_state_dict,
    info_from_checkpoint,
    load_backbone,
    load_model,
    read_state_dict,
)
from .recipe import SMALL_CORPUS_TOKENS

log = logging.getLogger(__name__)

AUTO, SCRATCH = "auto", ("", "none")
MIN_BASE_COVERAGE = 0.8  # share of the training tokens whose class the base model knows
MIN_BASE_ACCURACY = 0.5  # the base model's accuracy on them before training (chance: 1 in 12)
FAMILIARITY_TOKENS = 512  # training tokens the check reads at most
Familiarity = Callable[[torch.nn.Module, ModelInfo], tuple[float, float]]  # base model -> (coverage, accuracy)
SCRATCH_LR, FINE_TUNE_LR = 1e-3, 1e-4
BASE_TASKS = ("vowels", "vowels4k")


def choose_start(
    settings: TrainSettings,
    arch: str,
    n_train: int,
    store: SpectrogramStore,
    familiarity: Familiarity | None = None,
    say: bool = True,
) -> TrainSettings:
    """``settings`` with ``weights`` resolved (``"auto"``: the base model for a small corpus it fits, else none)
    and ``lr`` resolved (``0``: by where training starts); ``familiarity`` measures how well the base model knows
    the training tokens (None: not checked); with ``say``, the choice logged."""
    weights = settings.weights
    if weights == AUTO:
        why_not = _base_unfit(settings, arch, n_train, store, familiarity)
        weights = "" if why_not else BASE
        if say:
            log.info(
                "start: %s",
                f"random weights ({why_not})"
                if why_not
                else f"the base model ({n_train} training tokens: a small corpus)",
            )
    resolved = replace(settings, weights="" if weights in SCRATCH else weights)
    return replace(resolved, lr=settings.lr or (FINE_TUNE_LR if fine_tuning(resolved) else SCRATCH_LR))


def fine_tuning(settings: TrainSettings) -> bool:
    """Whether training starts from a vowelcam model (resolved settings)."""
    return settings.weights not in (*SCRATCH, AUTO)


def started_from(settings: TrainSettings) -> str:
    """Where training started, in words (resolved settings; kept in ``model.pt`` and printed in the report)."""
    if settings.pretrained:
        return f"ImageNet weights, lr {settings.lr:g}"
    if settings.weights == BASE:
        return (
            "vowelcam's base model (Hillenbrand 1995 men and women + synthetic children), "
            f"fine-tuned at lr {settings.lr:g}"
        )
    if settings.weights:
        return f"the weights of {settings.weights}, fine-tuned at lr {settings.lr:g}"
    return f"random weights, lr {settings.lr:g}"


def base_familiarity(
    model: torch.nn.Module, info: ModelInfo, store: SpectrogramStore, rows: list[dict], labels: list[str]
) -> tuple[float, float]:
    """How well the base model (``model`` in eval mode, ``info``) knows training tokens ``rows`` (class names
    ``labels``, one per row) before any training: the share whose class it has, and its accuracy on those (up to
    :data:`FAMILIARITY_TOKENS`, evenly spaced)."""
    known = [i for i, label in enumerate(labels) if label in info.labels]
    if not rows or not known:
        return (len(known) / len(rows) if rows else 0.0), 0.0
    chosen = [known[int(k)] for k in np.linspace(0, len(known) - 1, min(len(known), FAMILIARITY_TOKENS))]
    right = 0
    with torch.inference_mode():
        for start in range(0, len(chosen), 64):
            batch = chosen[start : start + 64]
            specs = store.get_many([(rows[i]["spec_shard"], rows[i]["spec_row"]) for i in batch], info.max_freq)
            predicted = model(info.prepare(specs)).argmax(1).tolist()
            right += sum(info.labels[p] == labels[i] for p, i in zip(predicted, batch))
    return len(known) / len(rows), right / len(chosen)


def _unfamiliar(coverage: float, accuracy: float) -> str:
    """Why the base model does not know this corpus's training tokens well enough to start from ("" when it does)."""
    if coverage < MIN_BASE_COVERAGE:
        return f"only {coverage:.0%} of the training tokens are of the base model's classes"
    if accuracy < MIN_BASE_ACCURACY:
        return (
            f"the base model classifies {accuracy:.0%} of the training tokens right before training "
            f"(under {MIN_BASE_ACCURACY:.0%}): these vowels are not like the ones it knows"
        )
    return ""


def _base_unfit(
    settings: TrainSettings, arch: str, n_train: int, store: SpectrogramStore, familiarity: Familiarity | None
) -> str:
    """Why the base model is not where this run starts ("" when it is); the model file is read once, and only
    when the cheaper reasons leave it in question."""
    if settings.pretrained:
        return "ImageNet weights asked for"
    if n_train >= SMALL_CORPUS_TOKENS:
        return f"{n_train} training tokens are enough to learn from"
    if settings.task not in BASE_TASKS:
        return f"the base model classifies vowels, not task {settings.task}"
    path = base_model_path()
    if path is None:
        return "this installation has no base model"
    model, other = load_model(path)
    if other.arch != arch:
        return f"the base model is a {other.arch}, this run trains a {arch}"
    try:
        check_compatible(other, store.settings, "the base model")
    except ModelError as problem:
        return str(problem)
    return _unfamiliar(*familiarity(model, other)) if familiarity is not None else ""


def initial_model(info: ModelInfo, settings: TrainSettings, store: SpectrogramStore) -> SpectrogramResNet:
    """A fresh network for ``info``, its backbone loaded from the weights ``settings`` name (a vowelcam checkpoint's
    spectrogram settings must match the run's ``store``)."""
    model = SpectrogramResNet(info.arch, len(info.labels), info.freq_strides, info.input_pool)
    if settings.pretrained:
        load_backbone(model, imagenet_state_dict(info.arch), f"ImageNet {info.arch}")
    elif settings.weights:
        path = weights_file(settings.weights)
        try:
            other = info_from_checkpoint(torch.load(path, map_location="cpu", weights_only=True), str(path))
        except Exception:
            other = None  # a plain state dict: no spectrogram settings to compare
        if other is not None:
            check_compatible(other, store.settings, str(path))
        classes = (other.labels, info.labels) if other is not None else None
        load_backbone(model, read_state_dict(path), str(path), classes)
    return model
