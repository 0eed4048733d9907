"""The numbers the report states, each with its uncertainty. Every interval over tokens is a 95 % cluster
bootstrap over speakers (recordings when the tokens come from one speaker), the unit kept beside the estimate
(:attr:`Estimate.unit`): accuracy, confusion shares, formant means and the mean CAM (and energy-baseline)
frequency profiles. Tokens of one speaker are not independent, so a token-level interval would be too narrow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..intervals import cluster_bootstrap_mean, resampling_clusters, wilson_interval
from ..rundir import as_float
from .data import CamData

BOOTSTRAP = 1000
SEED = 0
FEW_CLUSTERS = 5  # an interval over fewer held-out speakers is marked as a sanity check on page 1


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a 95 % interval, the number of observations behind it and what the interval
    resampled (``speaker``, ``recording``; empty for an interval not from resampling)."""

    value: float
    lo: float
    hi: float
    n: int
    unit: str = ""


def clusters_of(
    rows: Sequence[dict[str, Any]], by_id: Optional[dict[str, dict[str, Any]]] = None
) -> tuple[list[str], str]:
    """The resampling cluster of each row (a token row, or a prediction row looked up in ``by_id``) and the unit."""
    toks = [by_id.get(r["token_id"], {}) if by_id is not None else r for r in rows]
    return resampling_clusters([str(t.get("speaker") or "") for t in toks], [str(t.get("file") or "") for t in toks])


def cluster_mean(values: Sequence[float], clusters: Sequence[str], unit: str) -> Estimate:
    """Mean of the finite ``values`` with its cluster-bootstrap 95 % interval."""
    mean, lo, hi, n, _ = cluster_bootstrap_mean(values, clusters, BOOTSTRAP, SEED)
    return Estimate(mean, lo, hi, n, unit)


def proportion(k: int, n: int) -> Estimate:
    """k/n with its Wilson 95 % interval."""
    lo, hi = wilson_interval(k, n)
    return Estimate(k / n if n else float("nan"), lo, hi, n)


def evaluation_rows(predictions: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """The held-out rows the accuracy is stated on: the test split, or every row when no split is marked."""
    test = [p for p in predictions if p.get("split") == "test"]
    if test:
        return test, "test"
    return list(predictions), "all"


def _correct(row: dict[str, str]) -> float:
    return 1.0 if row.get("correct") in ("1", "1.0", "True", "true", 1, True) else 0.0


def accuracy(rows: Sequence[dict[str, str]], by_id: Optional[dict[str, dict[str, Any]]] = None) -> Estimate:
    """Share of prediction rows with ``correct`` = 1; with ``by_id`` (token rows by id) its interval is the
    speaker-level cluster bootstrap, without it the Wilson interval (tokens treated as independent)."""
    if by_id is None:
        return proportion(int(sum(_correct(r) for r in rows)), len(rows))
    clusters, unit = clusters_of(rows, by_id)
    est = cluster_mean([_correct(r) for r in rows], clusters, unit)
    return Estimate(est.value if rows else float("nan"), est.lo, est.hi, len(rows), unit)


def test_accuracy(rows: Sequence[dict[str, str]], by_id: dict[str, dict[str, Any]], seed: int) -> Estimate:
    """The held-out accuracy with the interval training printed and wrote to ``summary.json`` (the same cluster
    bootstrap, draws and seed: :func:`vowelcam.learn.metrics.accuracy_interval`), so the report and the CLI agree."""
    from ..learn.metrics import accuracy_interval

    if not rows:
        return accuracy(rows, by_id)
    lo, hi, unit = accuracy_interval([{**r, "correct": _correct(r)} for r in rows], by_id, seed)
    return Estimate(sum(_correct(r) for r in rows) / len(rows), lo, hi, len(rows), unit)


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


def top_confusions(
    cm: np.ndarray,
    labels: Sequence[str],
    k: int,
    rows: Optional[Sequence[dict[str, str]]] = None,
    by_id: Optional[dict[str, dict[str, Any]]] = None,
) -> list[dict[str, Any]]:
    """The ``k`` most frequent off-diagonal cells: true, predicted, count, share of the true class (its interval
    resampling speakers when the prediction ``rows`` and tokens ``by_id`` are given, else Wilson)."""
    cells = [(int(cm[i, j]), i, j) for i in range(len(labels)) for j in range(len(labels)) if i != j and cm[i, j] > 0]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    out = []
    for count, i, j in cells[:k]:
        total = int(cm[i].sum())
        share = proportion(count, total)
        if rows is not None and by_id is not None:
            members = [r for r in rows if r["true"] == labels[i]]
            clusters, unit = clusters_of(members, by_id)
            boot = cluster_mean([float(r["predicted"] == labels[j]) for r in members], clusters, unit)
            share = Estimate(share.value, boot.lo, boot.hi, total, unit)
        out.append({"true": labels[i], "predicted": labels[j], "count": count, "share": share})
    return out


def formant_means(tokens: Iterable[dict[str, Any]], at: int = 50) -> dict[str, dict[str, Estimate]]:
    """Per vowel class, the mean F1, F2, F3 at ``at`` % of the token with speaker-level 95 % intervals."""
    by_class: dict[str, list[dict[str, Any]]] = {}
    for t in tokens:
        by_class.setdefault(t["phone"], []).append(t)
    out = {}
    for phone, rows in by_class.items():
        clusters, unit = clusters_of(rows)
        out[phone] = {
            f"f{k}": cluster_mean([as_float(t.get(f"f{k}_{at}")) for t in rows], clusters, unit) for k in (1, 2, 3)
        }
    return out


@dataclass(frozen=True)
class Profile:
    """Mean share of positive map mass per Hz row over a vowel's tokens, with a speaker-level 95 % interval."""

    freqs: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: int
    unit: str = ""


def cluster_bootstrap_rows(
    stack: np.ndarray, clusters: Sequence[str], n_boot: int = BOOTSTRAP, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise mean of ``stack`` ``[n, F]`` and its percentile interval from resampling ``clusters`` (as
    :func:`vowelcam.intervals.cluster_bootstrap_mean`, for every column at once); NaN bounds with < 2 clusters."""
    names, index = np.unique(np.asarray(list(clusters), dtype=str), return_inverse=True)
    mean = stack.mean(axis=0)
    if len(names) < 2:
        return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    sums = np.zeros((len(names), stack.shape[1]))
    np.add.at(sums, index, stack)
    counts = np.bincount(index, minlength=len(names)).astype(np.float64)
    draws = np.random.default_rng(seed).integers(0, len(names), size=(n_boot, len(names)))
    weights = np.zeros((n_boot, len(names)))
    np.add.at(weights, (np.repeat(np.arange(n_boot), len(names)), draws.ravel()), 1.0)
    reps = (weights @ sums) / (weights @ counts)[:, None]
    lo, hi = np.percentile(reps, [2.5, 97.5], axis=0)
    return mean, lo, hi


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
    by_row = {int(e["row"]): token_rows.get(e["token_id"]) for e in cams.index}
    return _class_profiles(cams, classes, lambda r: token_profile(cams.true_maps[r], _frames(by_row[r])), by_row)


def baseline_profiles(
    cams: CamData, token_rows: dict[str, dict[str, Any]], classes: Sequence[str], name: str = "energy"
) -> dict[str, Profile]:
    """Per class, the mean frequency profile of a model-free baseline map (``cams/controls.npz``; empty when the
    cam stage wrote none), on the same tokens, frames and scale as :func:`cam_profiles`."""
    if name not in cams.controls:
        return {}
    raw = cams.controls[name]
    by_row = {int(e["row"]): token_rows.get(e["token_id"]) for e in cams.index}

    def share(r: int) -> Optional[np.ndarray]:
        total = float(raw[r].sum())
        return raw[r] / total if total > 0 else None

    return _class_profiles(cams, classes, share, by_row)


def _class_profiles(cams: CamData, classes: Sequence[str], profile_of, by_row: dict[int, Any]) -> dict[str, Profile]:
    members: dict[str, list[int]] = {c: [] for c in classes}
    for entry in cams.index:
        if entry["true"] in members:
            members[entry["true"]].append(int(entry["row"]))
    out = {}
    for label, rows in members.items():
        kept = [(r, p) for r, p in ((r, profile_of(r)) for r in sorted(rows)) if p is not None]
        if not kept:
            continue
        stack = np.vstack([p for _, p in kept])
        clusters, unit = clusters_of([by_row.get(r) or {} for r, _ in kept])
        mean, lo, hi = cluster_bootstrap_rows(stack, clusters)
        out[label] = Profile(cams.freqs, mean, lo, hi, len(stack), unit)
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
    ranked = sorted(errors, key=lambda r: (-as_float(r.get("prob_predicted")), r["token_id"]))
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
