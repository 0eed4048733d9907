"""Is a recording like the data a model was trained on? What training saves about its data, and the warnings
``classify`` gives from it, as far as a model's saved info allows.

Training stores in the checkpoint's ``extra`` (:func:`training_profile`): the recordings' sample rates, the speaker
groups, the number of training tokens, and the median top probability on validation tokens (``val_confidence``).
:func:`unfamiliar_input` compares one recording and its answers with that: a sample rate below every training
recording's (the band above its Nyquist frequency is empty, unlike anything the model saw), labels of the TextGrid
that the model has no class for, and answers far less sure than on the validation speakers. Models saved before
these fields fall back to what they have: the spectrogram's sample rate, and validation accuracy in place of
confidence (a calibrated model's mean confidence is close to its accuracy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FAR_BELOW = 0.6  # a median top probability under this fraction of the validation one is "far below"


def training_profile(train_rows: Iterable[Mapping[str, Any]], val_predictions: Sequence[Mapping[str, Any]]) -> dict:
    """What the checkpoint keeps about its training data (tokens.csv rows; predictions.csv rows of validation)."""
    rates, groups, n = set(), set(), 0
    for row in train_rows:
        n += 1
        rate = _number(row.get("sample_rate"))
        if rate > 0:
            rates.add(int(round(rate)))
        if row.get("group"):
            groups.add(str(row["group"]))
    tops = [_number(r.get("prob_predicted")) for r in val_predictions]
    tops = [t for t in tops if t == t]
    profile: dict[str, Any] = {"train_sample_rates": sorted(rates), "train_groups": sorted(groups), "n_train": n}
    if tops:
        profile["val_confidence"] = float(sorted(tops)[len(tops) // 2])
    return profile


def unfamiliar_input(
    extra: Mapping[str, Any],
    spectrogram_rate: float,
    audio_rate: float,
    top_probabilities: Sequence[float],
    unknown_labels: Iterable[str] = (),
) -> list[str]:
    """Warnings (one line each) when the recording is unlike the model's training data."""
    out = []
    rates = [int(r) for r in extra.get("train_sample_rates") or []] or [int(spectrogram_rate)]
    if audio_rate < min(rates):
        out.append(
            f"the recording is sampled at {audio_rate:g} Hz, below the {min(rates)} Hz of the model's training "
            f"recordings: nothing above {audio_rate / 2:g} Hz, where the model saw energy"
        )
    unknown = sorted(set(unknown_labels))
    if unknown:
        out.append(f"the TextGrid has vowels the model has no class for (left out): {', '.join(unknown)}")
    reference, what = _reference_confidence(extra)
    if top_probabilities and reference == reference:
        tops = sorted(top_probabilities)
        median = tops[len(tops) // 2]
        if median < FAR_BELOW * reference:
            out.append(
                f"the answers are far less sure than on the model's validation speakers (median top probability "
                f"{median:.2f} vs {what} {reference:.2f}): the recording may be unlike the training data"
                + _trained_on(extra)
            )
    return out


def _reference_confidence(extra: Mapping[str, Any]) -> tuple[float, str]:
    if _number(extra.get("val_confidence")) == _number(extra.get("val_confidence")):
        return _number(extra["val_confidence"]), "validation"
    return _number(extra.get("val_acc")), "validation accuracy"


def _trained_on(extra: Mapping[str, Any]) -> str:
    parts = []
    if extra.get("n_train"):
        parts.append(f"{extra['n_train']} tokens")
    if extra.get("train_groups"):
        parts.append("of " + ", ".join(extra["train_groups"]))
    if extra.get("train_sample_rates"):
        parts.append("at " + ", ".join(f"{r} Hz" for r in extra["train_sample_rates"]))
    return f" (trained on {' '.join(parts)})" if parts else ""


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
