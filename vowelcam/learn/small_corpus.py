"""Honesty on small corpora: classes too rare to learn are left out (and listed), chance is stated, and a run whose
validation never beat chance says so, with what to try.

A class with two tokens cannot be learnt from, validated and tested by speaker-grouped splits: it only adds a
class the model must get wrong. :func:`drop_rare_classes` removes classes below ``min_class_tokens`` before the
splits are made and records each one as a ``model/problems.csv`` row (the columns of the run's ``problems.csv``).

Chance is the accuracy of always answering the most frequent class of the scored tokens (at least 1 / classes).
A validation accuracy is "at chance" when the lower end of its Wilson 95 % interval does not exceed chance.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import RunDirError
from ..intervals import wilson_interval
from .dataset import TaskData
from .distributed import from_env
from .plan.splits import split_notes

log = logging.getLogger(__name__)

PROBLEMS = "model/problems.csv"
RARE_REASON = "class below min_class_tokens"


def drop_rare_classes(
    data: TaskData, min_tokens: int, source: str = "tokens.csv"
) -> tuple[TaskData, dict[str, int], list[dict[str, Any]]]:
    """``data`` without the classes that have fewer than ``min_tokens`` tokens, the classes left out with their
    counts, and one problems row per class left out. Fewer than two classes left is a :class:`RunDirError`."""
    counts = np.bincount(data.targets, minlength=len(data.labels))
    rare = {lab: int(n) for lab, n in zip(data.labels, counts) if n < min_tokens}
    if not rare:
        return data, {}, []
    kept_labels = [lab for lab in data.labels if lab not in rare]
    if len(kept_labels) < 2:
        raise RunDirError(
            f"task {data.task!r}: only {len(kept_labels)} class(es) have at least {min_tokens} tokens "
            f"({', '.join(f'{lab} {int(n)}' for lab, n in zip(data.labels, counts))}); "
            "lower --min-class-tokens or add data"
        )
    keep = np.flatnonzero(np.isin(np.asarray(data.labels)[data.targets], kept_labels))
    index = {lab: i for i, lab in enumerate(kept_labels)}
    targets = np.array([index[data.labels[t]] for t in data.targets[keep]], dtype=np.int64)
    kept = replace(
        data, rows=[data.rows[i] for i in keep], labels=kept_labels, targets=targets, groups=data.groups[keep]
    )
    problems = [
        {
            "path": source,
            "tier": "",
            "interval": "",
            "reason": RARE_REASON,
            "detail": f"class {lab}: {n} token(s) < {min_tokens}; left out of training and testing",
        }
        for lab, n in sorted(rare.items())
    ]
    log.warning(
        "left out %d class(es) with fewer than %d tokens: %s (see %s; --min-class-tokens to change)",
        len(rare),
        min_tokens,
        ", ".join(f"{lab} ({n})" for lab, n in sorted(rare.items())),
        PROBLEMS,
    )
    return kept, rare, problems


def chance_accuracy(targets: np.ndarray, n_classes: int) -> float:
    """Accuracy of always answering the most frequent class of ``targets`` (1 / ``n_classes`` when empty)."""
    if len(targets) == 0:
        return 1.0 / max(n_classes, 1)
    return float(np.bincount(targets, minlength=n_classes).max() / len(targets))


def at_chance(accuracy: float, n: int, chance: float) -> bool:
    """Whether ``accuracy`` on ``n`` tokens is indistinguishable from ``chance`` (Wilson 95 % lower bound <= it)."""
    if n == 0 or accuracy != accuracy:
        return True
    low, _ = wilson_interval(int(round(accuracy * n)), n)
    return low <= chance


def chance_warning(best_val_acc: float, n_val: int, val_chance: float, n_classes: int, n_train: int) -> str:
    """The sentence a run prints when its best validation accuracy stayed at chance, with what to try."""
    per_class = n_train / max(n_classes, 1)
    return (
        f"validation accuracy never rose above chance (best {best_val_acc:.1%} on {n_val} tokens, chance "
        f"{val_chance:.1%}): the model learnt nothing that carries over to unseen speakers, so its CAMs explain "
        f"noise. Try more data (here {per_class:.0f} training tokens per class), fewer classes "
        "(--vowels corner), fewer epochs (--epochs 5), or a coarser input (--freq-pool 2)."
    )


def add_honesty(result: Any, data: TaskData, splits: list[np.ndarray], states: list, left_out: dict[str, int]) -> None:
    """Add to a train result (a :class:`~.train.TrainResult`) chance, the classes left out and a warning per fold
    whose best validation accuracy stayed at chance."""
    n = len(data.labels)
    tested = np.concatenate([data.targets[split == "test"] for split in splits])
    result.chance, result.left_out = chance_accuracy(tested, n), dict(left_out)
    result.test_groups = sorted({str(g) for split in splits for g, s in zip(data.groups, split) if s == "test"})
    result.warnings.extend(split_notes(data.rows, data.groups, splits))
    if left_out:
        result.warnings.append(
            f"left out {len(left_out)} class(es) with too few tokens: "
            + ", ".join(f"{c} ({k})" for c, k in sorted(left_out.items()))
            + f" (see {PROBLEMS})"
        )
    for fold, (split, state) in enumerate(zip(splits, states)):
        val = data.targets[split == "val"]
        val_chance = chance_accuracy(val, n)
        peak = max((rec["val_acc"] for rec in state.history), default=state.best_acc)  # over every epoch
        if at_chance(peak, len(val), val_chance):
            where = f"fold {fold + 1}: " if len(splits) > 1 else ""
            result.warnings.append(where + chance_warning(peak, len(val), val_chance, n, int((split == "train").sum())))
    if from_env().is_main:
        for line in result.warnings:
            log.warning("%s", line)
