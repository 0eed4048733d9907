"""The numbers the report states, each with its uncertainty: accuracy (Wilson interval), confusions,
formant means (t interval), mean CAM frequency profiles (normal interval over tokens)."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from scipy import stats as sps

from ..intervals import Z95, wilson_interval
from .data import CamData

@dataclass(frozen=True)
class Estimate:
    """A point estimate with a 95 % interval and the number of observations behind it."""

    value: float
    lo: float
    hi: float
    n: int


def num(text: Any) -> float:
    """A CSV field as float (NaN when empty or not a number)."""
    if text is None or text == "":
        return float("nan")
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def proportion(k: int, n: int) -> Estimate:
    """k/n with its Wilson 95 % interval."""
    lo, hi = wilson_interval(k, n)
    return Estimate(k / n if n else float("nan"), lo, hi, n)


def mean_interval(values: Iterable[float]) -> Estimate:
    """Mean of the finite values with a Student-t 95 % interval (NaN bounds for fewer than 2 values)."""
    x = np.asarray([v for v in values if v == v and math.isfinite(v)], dtype=float)
    if len(x) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if len(x) < 2:
        return Estimate(mean, float("nan"), float("nan"), 1)
    half = float(sps.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Estimate(mean, mean - half, mean + half, len(x))


def evaluation_rows(predictions: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """The held-out rows the accuracy is stated on: the test split, or every row when no split is marked."""
    test = [p for p in predictions if p.get("split") == "test"]
    if test:
        return test, "test"
    return list(predictions), "all"


def accuracy(rows: Sequence[dict[str, str]]) -> Estimate:
    """Share of rows with ``correct`` = 1, with its Wilson interval."""
    k = sum(1 for r in rows if r.get("correct") in ("1", "1.0", "True", "true"))
    return proportion(k, len(rows))


def class_order(predictions: Sequence[dict[str, str]], model_labels: Optional[Sequence[str]]) -> list[str]:
    """Labels in the model's order when known, else sorted; labels only seen in the data are appended."""
    seen = {r["true"] for r in predictions} | {r["predicted"] for r in predictions}
    order = [str(label) for label in (model_labels or [])]
    return order + sorted(seen - set(order))


def confusion_matrix(rows: Sequence[dict[str, str]], labels: Sequence[str]) -> np.ndarray:
    """Counts ``[true, predicted]`` in ``labels`` order."""
    pos = {label: i for i, label in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=int)
    for r in rows:
        cm[pos[r["true"]], pos[r["predicted"]]] += 1
    return cm


def top_confusions(cm: np.ndarray, labels: Sequence[str], k: int) -> list[dict[str, Any]]:
    """The ``k`` most frequent off-diagonal cells: true, predicted, count, share of the true class."""
    cells = [
        (int(cm[i, j]), i, j) for i in range(len(labels)) for j in range(len(labels)) if i != j and cm[i, j] > 0
    ]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    out = []
    for count, i, j in cells[:k]:
        total = int(cm[i].sum())
        out.append({"true": labels[i], "predicted": labels[j], "count": count, "share": proportion(count, total)})
    return out


def formant_means(tokens: Iterable[dict[str, Any]], at: int = 50) -> dict[str, dict[str, Estimate]]:
    """Per vowel class, the mean F1, F2, F3 at ``at`` % of the token with 95 % t intervals."""
    by_class: dict[str, list[dict[str, Any]]] = {}
    for t in tokens:
        by_class.setdefault(t["phone"], []).append(t)
    return {
        phone: {f"f{k}": mean_interval(num(t.get(f"f{k}_{at}")) for t in rows) for k in (1, 2, 3)}
        for phone, rows in by_class.items()
    }


@dataclass(frozen=True)
class Profile:
    """Mean share of positive CAM mass per Hz row over a vowel's tokens, with a 95 % normal interval."""

    freqs: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: int


def token_profile(cam: np.ndarray, frames: Optional[tuple[int, int]] = None) -> Optional[np.ndarray]:
    """One token's frequency profile: positive CAM summed over its frames, as a share per row (sums to 1).

    Returns None for a map with no positive mass (nothing to distribute).
    """
    window = cam[:, frames[0] : frames[1]] if frames else cam
    mass = np.clip(np.asarray(window, dtype=np.float64), 0, None).sum(axis=1)
    total = mass.sum()
    return mass / total if total > 0 else None


def cam_profiles(cams: CamData, token_rows: dict[str, dict[str, Any]], classes: Sequence[str]) -> dict[str, Profile]:
    """Per class (the token's true class), the mean frequency profile of the true-class maps."""
    members: dict[str, list[int]] = {c: [] for c in classes}
    for entry in cams.index:
        if entry["true"] in members:
            members[entry["true"]].append(int(entry["row"]))
    by_row = {int(e["row"]): token_rows.get(e["token_id"]) for e in cams.index}
    out = {}
    for label, rows in members.items():
        profiles = [p for p in (token_profile(cams.true_maps[r], _frames(by_row[r])) for r in sorted(rows)) if p is not None]
        if not profiles:
            continue
        stack = np.vstack(profiles)
        mean = stack.mean(axis=0)
        se = stack.std(axis=0, ddof=1) / math.sqrt(len(stack)) if len(stack) > 1 else np.full_like(mean, np.nan)
        out[label] = Profile(cams.freqs, mean, mean - Z95 * se, mean + Z95 * se, len(stack))
    return out


def _frames(token: Optional[dict[str, Any]]) -> Optional[tuple[int, int]]:
    if not token:
        return None
    start, end = token.get("frame_start"), token.get("frame_end")
    if isinstance(start, int) and isinstance(end, int) and end > start:
        return start, end
    return None


def select_gallery(
    errors: Sequence[dict[str, str]], pairs: Sequence[dict[str, Any]], size: int
) -> list[tuple[dict[str, str], str]]:
    """Up to ``size`` misclassified rows with why each was chosen.

    Half the slots (rounded up) go to the most confident errors; the rest to one example (its most confident)
    of each of the most frequent confusion pairs not yet shown.
    """
    if size <= 0 or not errors:
        return []
    ranked = sorted(errors, key=lambda r: (-num(r.get("prob_predicted")), r["token_id"]))
    chosen: list[tuple[dict[str, str], str]] = []
    taken: set[str] = set()
    for rank, row in enumerate(ranked[: (size + 1) // 2], start=1):
        chosen.append((row, f"most confident error no. {rank}"))
        taken.add(row["token_id"])
    for pair in pairs:
        if len(chosen) >= size:
            break
        shown = {(r["true"], r["predicted"]) for r, _ in chosen}
        if (pair["true"], pair["predicted"]) in shown:
            continue
        for row in ranked:
            if row["token_id"] not in taken and (row["true"], row["predicted"]) == (pair["true"], pair["predicted"]):
                chosen.append((row, f"frequent confusion ({pair['count']} tokens)"))
                taken.add(row["token_id"])
                break
    for row in ranked:  # fill what is left with the next most confident errors
        if len(chosen) >= size:
            break
        if row["token_id"] not in taken:
            chosen.append((row, "confident error"))
            taken.add(row["token_id"])
    return chosen


def problem_counts(problems: Sequence[dict[str, str]]) -> list[tuple[str, int]]:
    """Problems counted by reason, most frequent first."""
    return Counter(p.get("reason", "") for p in problems).most_common()
