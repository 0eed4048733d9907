"""Per-vowel agreement between CAMs and formants, with bootstrap confidence intervals, and confusion pairs.

``agreement.csv`` (true-class maps): one row per vowel (plus ``ALL``) and subset (``all`` / ``correct`` /
``misclassified``): ``n``, ``n_correct``, ``accuracy``, ``n_no_formants`` (tokens without any measured formant;
their formant metrics are left out of the means), ``n_no_reference``, and for each metric in
:data:`AGREEMENT_METRICS` its mean over tokens with a value plus ``_lo``/``_hi`` (percentile bootstrap 95 %,
resampling tokens) and ``_n`` (tokens with a value).

``confusions.csv``: one row per (true, predicted) pair with at least one confusion. Profiles are scaled to unit
mass per token and averaged; ``excess_hz`` is where the confused tokens' predicted-class maps put the most mass
above the correctly classified tokens of the true vowel (their true-class maps), ``deficit_hz`` where they put the
least, ``profile_l1`` the total difference (0 = same, 2 = disjoint); ``d_enrich_f1..f3`` the same comparison for
formant enrichment; ``f1``/``f2`` means of the confused tokens and of the correctly classified tokens of both
vowels say whether the confused tokens were acoustically in between.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np

# agreement.csv metric -> bands.csv column
AGREEMENT_METRICS = {
    "enrich_f1": "enrich_f1", "enrich_f2": "enrich_f2", "enrich_f3": "enrich_f3",
    "peak_on_formant_share": "peak1_on_formant",
    "hf_share_above_f3": "hf_share_above_f3", "hf_share_above_4k": "hf_share_above_4k",
    "enrich_f1_ref": "enrich_f1_ref", "enrich_f2_ref": "enrich_f2_ref", "enrich_f3_ref": "enrich_f3_ref",
    "peak_on_formant_share_ref": "peak1_on_formant_ref", "hf_share_above_f3_ref": "hf_share_above_f3_ref",
}
AGREEMENT_COLUMNS = ["vowel", "subset", "n", "n_correct", "accuracy", "n_no_formants", "n_no_reference"] + [
    f"{m}{s}" for m in AGREEMENT_METRICS for s in ("", "_lo", "_hi", "_n")
]
CONFUSION_COLUMNS = [
    "true", "predicted", "n", "n_correct_true", "n_correct_predicted", "excess_hz", "deficit_hz", "profile_l1",
    "d_enrich_f1", "d_enrich_f2", "d_enrich_f3", "f1_confused", "f2_confused", "f1_true_correct",
    "f2_true_correct", "f1_predicted_correct", "f2_predicted_correct",
]


def bootstrap_mean(values: Sequence[float], n_boot: int, rng: np.random.Generator,
                   level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean of the finite values and its percentile bootstrap interval: ``(mean, lo, hi, n)``."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if len(arr) == 0:
        return float("nan"), float("nan"), float("nan"), 0
    if len(arr) == 1 or n_boot <= 0:
        return float(arr.mean()), float("nan"), float("nan"), len(arr)
    means = arr[rng.integers(0, len(arr), size=(n_boot, len(arr)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(arr.mean()), float(lo), float(hi), len(arr)


def _summary(rows: list[Mapping[str, Any]], n_boot: int, rng: np.random.Generator) -> dict[str, Any]:
    n_correct = sum(int(r["correct"]) for r in rows)
    out: dict[str, Any] = {
        "n": len(rows), "n_correct": n_correct, "accuracy": n_correct / len(rows) if rows else float("nan"),
        "n_no_formants": sum(int(r["n_formants_measured"]) == 0 for r in rows),
        "n_no_reference": sum(int(r["has_reference"]) == 0 for r in rows),
    }
    for metric, col in AGREEMENT_METRICS.items():
        mean, lo, hi, n = bootstrap_mean([float(r[col]) for r in rows], n_boot, rng)
        out.update({metric: mean, f"{metric}_lo": lo, f"{metric}_hi": hi, f"{metric}_n": n})
    return out


def agreement_table(rows: Sequence[Mapping[str, Any]], n_boot: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """``agreement.csv`` rows from ``bands.csv`` rows (needing ``vowel``, ``correct`` and the metric columns)."""
    rng = np.random.default_rng(seed)
    by_vowel: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_vowel[str(row["vowel"])].append(row)
    groups = [(v, by_vowel[v]) for v in sorted(by_vowel)] + [("ALL", list(rows))]
    table = []
    for vowel, members in groups:
        for subset in ("all", "correct", "misclassified"):
            chosen = [r for r in members if subset == "all" or int(r["correct"]) == (subset == "correct")]
            table.append({"vowel": vowel, "subset": subset, **_summary(chosen, n_boot, rng)})
    return table


def _unit(profiles: np.ndarray) -> np.ndarray:
    sums = profiles.sum(axis=1, keepdims=True)
    return np.divide(profiles, sums, out=np.zeros_like(profiles), where=sums > 0)


def _mean(rows: Sequence[Mapping[str, Any]], col: str) -> float:
    vals = np.array([float(r[col]) for r in rows], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if len(vals) else float("nan")


def confusion_table(true_rows: Sequence[Mapping[str, Any]], pred_rows: Sequence[Mapping[str, Any]],
                    true_profiles: np.ndarray, pred_profiles: np.ndarray, freqs: np.ndarray) -> list[dict[str, Any]]:
    """``confusions.csv`` rows; ``*_rows``/``*_profiles`` are aligned per token (true- and predicted-class maps)."""
    true_unit, pred_unit = _unit(np.asarray(true_profiles, float)), _unit(np.asarray(pred_profiles, float))
    vowel = np.array([str(r["vowel"]) for r in true_rows])
    predicted = np.array([str(r["predicted"]) for r in true_rows])
    correct = vowel == predicted
    pairs = sorted({(a, b) for a, b in zip(vowel, predicted) if a != b})
    table = []
    for a, b in pairs:
        conf = np.flatnonzero((vowel == a) & (predicted == b))
        ok_a, ok_b = np.flatnonzero(correct & (vowel == a)), np.flatnonzero(correct & (vowel == b))
        row: dict[str, Any] = {"true": a, "predicted": b, "n": len(conf), "n_correct_true": len(ok_a),
                               "n_correct_predicted": len(ok_b)}
        if len(ok_a):
            diff = pred_unit[conf].mean(axis=0) - true_unit[ok_a].mean(axis=0)
            row.update(excess_hz=float(freqs[np.argmax(diff)]), deficit_hz=float(freqs[np.argmin(diff)]),
                       profile_l1=float(np.abs(diff).sum()))
            for k in (1, 2, 3):
                row[f"d_enrich_f{k}"] = (_mean([pred_rows[i] for i in conf], f"enrich_f{k}")
                                         - _mean([true_rows[i] for i in ok_a], f"enrich_f{k}"))
        for k in (1, 2):
            row[f"f{k}_confused"] = _mean([true_rows[i] for i in conf], f"f{k}_hz")
            row[f"f{k}_true_correct"] = _mean([true_rows[i] for i in ok_a], f"f{k}_hz")
            row[f"f{k}_predicted_correct"] = _mean([true_rows[i] for i in ok_b], f"f{k}_hz")
        table.append(row)
    return table
