"""vowelcam's base model: a small network that ships with the package, so that ``vowelcam classify file.wav``
answers on a fresh install and training on a small corpus starts from it (``train.weights = "auto"``,
:mod:`vowelcam.learn.plan.initial`).

``base.pt`` is a ``resnet18-w16`` (the CPU default) trained by ``bench/train_base_model.py`` on the 12 vowels of
Hillenbrand et al. (1995) (IY IH EY EH AE AA AO OW UH UW AH ER), men and women, plus the project's synthetic
children's vowels; ``card.json`` holds what it was trained on and its accuracy on speakers it never saw, and
``MODEL_CARD.md`` the same for people (data, their terms, limits). A source checkout without ``base.pt`` has no base
model: :func:`base_model_path` is then None and callers say so.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

BASE = "base"  # the name that stands for the base model where a model or weights file is asked for
WEIGHTS = "base.pt"
CARD = "card.json"


def base_model_path() -> Path | None:
    """The shipped base model's file, or None when this installation has none."""
    path = Path(str(resources.files(__name__) / WEIGHTS))
    return path if path.is_file() else None


def weights_file(weights: str) -> Path:
    """The file of ``train.weights``: a path, or ``"base"`` for the base model (ModelError when there is none)."""
    from ..errors import ModelError

    if weights != BASE:
        return Path(weights)
    path = base_model_path()
    if path is None:
        raise ModelError('train.weights = "base": this installation has no base model (vowelcam/base_model/base.pt)')
    return path


def base_model_card() -> dict[str, Any]:
    """``card.json``: the base model's training data and held-out accuracy ({} when absent)."""
    try:
        return json.loads((resources.files(__name__) / CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def describe_base_model() -> str:
    """One line on what the base model is and how well it does on speakers it never saw."""
    card = base_model_card()
    line = "vowelcam's base model (" + str(card.get("trained_on", "12 American English vowels")) + ")"
    held = card.get("held_out") or {}
    if held.get("accuracy") is not None:
        line += (
            f"; {100 * held['accuracy']:.1f} % on {held.get('n_tokens', '?')} tokens of "
            f"{held.get('n_speakers', '?')} held-out speakers"
        )
    return line + "; see MODEL_CARD.md"
