"""Per-vowel agreement between CAMs and formants, beside model-free controls, with speaker-level intervals; and
confusion pairs.

``agreement.csv`` (true-class maps): one row per vowel (plus ``ALL``) and subset. Subsets ``all`` / ``correct`` /
``misclassified`` are computed on **held-out tokens only** (split ``test``); when the cam stage explained other
tokens too (``--tokens all``), their rows form the separate subset ``not_held_out`` (``held_out`` = 0) and never
enter the others. Columns: ``held_out``, ``n``, ``n_correct``, ``accuracy`` (``_lo``/``_hi``), ``n_no_formants``
(tokens without any measured formant; left out of the formant means), ``n_no_reference``, ``n_no_null`` (tokens
whose speaker has no other measured vowel: no null), ``ci_unit`` (what the intervals resample: speaker, or
recording when the tokens come from one speaker) and ``n_clusters``; then for each metric in
:data:`AGREEMENT_METRICS` its mean over tokens with a value, ``_lo``/``_hi`` and ``_n``.

**Controls** (see :mod:`.controls`). For each metric ``m`` in :data:`CONTROLLED_METRICS` and each
control ``c`` in energy / envelope / null: ``m_c`` (the control's mean, with ``_lo``/``_hi``) and ``m_minus_c``
(the paired difference *CAM minus control*, token by token, averaged; with ``_lo``/``_hi`` and ``_n``). All
contrasts are plain differences in the metric's own unit (enrichment units; share of tokens for the peak flags),
never ratios.

**Verdict** ``verdict_f1..f3``: ``support`` when the CAM's enrichment at that formant beats *both* the energy
baseline and the null, i.e. the intervals of ``enrich_fk_minus_energy`` and ``enrich_fk_minus_null`` both lie
above 0; ``no support`` otherwise; empty when either interval could not be computed (fewer than two clusters or
no paired values).

Every interval is a 95 % percentile **cluster bootstrap** (:func:`vowelcam.intervals.cluster_bootstrap_mean`):
whole speakers (recordings with one speaker) are resampled with their tokens, so the interval speaks of new
speakers, not of new tokens of the same speakers.

``confusions.csv``: one row per (true, predicted) pair with at least one confusion. Profiles are scaled to unit
mass per token and averaged; ``excess_hz`` is where the confused tokens' predicted-class maps put the most mass
above the correctly classified tokens of the true vowel (their true-class maps), ``deficit_hz`` where they put the
least, ``profile_l1`` the total difference (0 = same, 2 = disjoint); ``d_enrich_f1..f3`` the same comparison for
formant enrichment; ``f1``/``f2`` means of the confused tokens and of the correctly classified tokens of both
vowels say whether the confused tokens were acoustically in between.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...intervals import cluster_bootstrap_mean, cluster_bootstrap_paired_difference, resampling_clusters
from ...rundir import as_float
from .controls import CONTROLS

# agreement.csv metric -> bands.csv column
AGREEMENT_METRICS = {
    "enrich_f1": "enrich_f1",
    "enrich_f2": "enrich_f2",
    "enrich_f3": "enrich_f3",
    "peak_on_formant_share": "peak1_on_formant",
    "hf_share_above_f3": "hf_share_above_f3",
    "hf_share_above_4k": "hf_share_above_4k",
    "enrich_f1_ref": "enrich_f1_ref",
    "enrich_f2_ref": "enrich_f2_ref",
    "enrich_f3_ref": "enrich_f3_ref",
    "peak_on_formant_share_ref": "peak1_on_formant_ref",
    "hf_share_above_f3_ref": "hf_share_above_f3_ref",
    "peak_on_f1_share": "peak1_on_f1",
    "peak_on_f2_share": "peak1_on_f2",
    "peak_on_f3_share": "peak1_on_f3",
}
# metrics read beside their controls: agreement.csv name -> bands.csv column (the control's is "<control>_<col>")
CONTROLLED_METRICS = {
    "enrich_f1": "enrich_f1",
    "enrich_f2": "enrich_f2",
    "enrich_f3": "enrich_f3",
    "peak_on_formant_share": "peak1_on_formant",
    "peak_on_f1_share": "peak1_on_f1",
    "peak_on_f2_share": "peak1_on_f2",
    "peak_on_f3_share": "peak1_on_f3",
}
VERDICT_CONTROLS = ("energy", "null")  # a reading is support only when the CAM beats both
SUPPORT, NO_SUPPORT = "support", "no support"
HELD_OUT_SUBSETS = ("all", "correct", "misclassified")
NOT_HELD_OUT = "not_held_out"


def _controlled_columns() -> list[str]:
    cols = []
    for m in CONTROLLED_METRICS:
        for c in CONTROLS:
            cols += [f"{m}_{c}", f"{m}_{c}_lo", f"{m}_{c}_hi"]
            cols += [f"{m}_minus_{c}", f"{m}_minus_{c}_lo", f"{m}_minus_{c}_hi", f"{m}_minus_{c}_n"]
    return cols


AGREEMENT_COLUMNS = (
    [
        "vowel",
        "subset",
        "held_out",
        "n",
        "n_correct",
        "accuracy",
        "accuracy_lo",
        "accuracy_hi",
        "n_no_formants",
        "n_no_reference",
        "n_no_null",
        "ci_unit",
        "n_clusters",
    ]
    + [f"{m}{s}" for m in AGREEMENT_METRICS for s in ("", "_lo", "_hi", "_n")]
    + _controlled_columns()
    + ["verdict_f1", "verdict_f2", "verdict_f3"]
)
CONFUSION_COLUMNS = [
    "true",
    "predicted",
    "n",
    "n_correct_true",
    "n_correct_predicted",
    "excess_hz",
    "deficit_hz",
    "profile_l1",
    "d_enrich_f1",
    "d_enrich_f2",
    "d_enrich_f3",
    "f1_confused",
    "f2_confused",
    "f1_true_correct",
    "f2_true_correct",
    "f1_predicted_correct",
    "f2_predicted_correct",
]


def bootstrap_mean(
    values: Sequence[float], n_boot: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[float, float, float, int]:
    """Mean of the finite values and its percentile bootstrap interval over *values*: ``(mean, lo, hi, n)``.

    Only for values that are independent (one per speaker); token-level tables use the cluster bootstrap."""
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


def _col(rows: Sequence[Mapping[str, Any]], col: str) -> np.ndarray:
    return np.array([as_float(r.get(col)) for r in rows], dtype=np.float64)


def _summary(rows: list[Mapping[str, Any]], n_boot: int, seed: int) -> dict[str, Any]:
    clusters, unit = resampling_clusters(
        [str(r.get("speaker") or "") for r in rows], [str(r.get("file") or "") for r in rows]
    )
    correct = _col(rows, "correct")
    acc, acc_lo, acc_hi, _, n_clusters = cluster_bootstrap_mean(correct, clusters, n_boot, seed)
    out: dict[str, Any] = {
        "n": len(rows),
        "n_correct": int(np.nansum(correct)),
        "accuracy": acc,
        "accuracy_lo": acc_lo,
        "accuracy_hi": acc_hi,
        "n_no_formants": sum(int(r["n_formants_measured"]) == 0 for r in rows),
        "n_no_reference": sum(int(r["has_reference"]) == 0 for r in rows),
        "n_no_null": sum(not r.get("null_token_id") for r in rows) if rows and "null_token_id" in rows[0] else "",
        "ci_unit": unit,
        "n_clusters": n_clusters,
    }
    for metric, col in AGREEMENT_METRICS.items():
        mean, lo, hi, n, _ = cluster_bootstrap_mean(_col(rows, col), clusters, n_boot, seed)
        out.update({metric: mean, f"{metric}_lo": lo, f"{metric}_hi": hi, f"{metric}_n": n})
    for metric, col in CONTROLLED_METRICS.items():
        cam = _col(rows, col)
        for control in CONTROLS:
            base = _col(rows, f"{control}_{col}")
            mean, lo, hi, _, _ = cluster_bootstrap_mean(base, clusters, n_boot, seed)
            out.update({f"{metric}_{control}": mean, f"{metric}_{control}_lo": lo, f"{metric}_{control}_hi": hi})
            d, d_lo, d_hi, d_n, _ = cluster_bootstrap_paired_difference(cam, base, clusters, n_boot, seed)
            key = f"{metric}_minus_{control}"
            out.update({key: d, f"{key}_lo": d_lo, f"{key}_hi": d_hi, f"{key}_n": d_n})
    out.update(verdicts(out))
    return out


def verdicts(summary: Mapping[str, Any]) -> dict[str, str]:
    """``verdict_f1..f3`` of one agreement row (see the module docstring)."""
    out = {}
    for k in (1, 2, 3):
        lows = [as_float(summary.get(f"enrich_f{k}_minus_{c}_lo")) for c in VERDICT_CONTROLS]
        if not all(np.isfinite(lows)):
            out[f"verdict_f{k}"] = ""
        else:
            out[f"verdict_f{k}"] = SUPPORT if all(lo > 0 for lo in lows) else NO_SUPPORT
    return out


def agreement_table(rows: Sequence[Mapping[str, Any]], n_boot: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """``agreement.csv`` rows from ``bands.csv`` rows (needing ``vowel``, ``correct``, ``speaker``, ``file``,
    ``split`` and the metric columns; the control columns when present)."""
    by_vowel: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_vowel[str(row["vowel"])].append(row)
    groups = [(v, by_vowel[v]) for v in sorted(by_vowel)] + [("ALL", list(rows))]
    table = []
    for vowel, members in groups:
        held = [r for r in members if _held_out(r)]
        for subset in HELD_OUT_SUBSETS:
            chosen = [r for r in held if subset == "all" or int(r["correct"]) == (subset == "correct")]
            table.append({"vowel": vowel, "subset": subset, "held_out": 1, **_summary(chosen, n_boot, seed)})
        seen = [r for r in members if not _held_out(r)]
        if seen:
            table.append({"vowel": vowel, "subset": NOT_HELD_OUT, "held_out": 0, **_summary(seen, n_boot, seed)})
    return table


def _held_out(row: Mapping[str, Any]) -> bool:
    return str(row.get("split", "test") or "test") == "test"


def _unit(profiles: np.ndarray) -> np.ndarray:
    sums = profiles.sum(axis=1, keepdims=True)
    return np.divide(profiles, sums, out=np.zeros_like(profiles), where=sums > 0)


def _mean(rows: Sequence[Mapping[str, Any]], col: str) -> float:
    vals = np.array([float(r[col]) for r in rows], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if len(vals) else float("nan")


def confusion_table(
    true_rows: Sequence[Mapping[str, Any]],
    pred_rows: Sequence[Mapping[str, Any]],
    true_profiles: np.ndarray,
    pred_profiles: np.ndarray,
    freqs: np.ndarray,
) -> list[dict[str, Any]]:
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
        row: dict[str, Any] = {
            "true": a,
            "predicted": b,
            "n": len(conf),
            "n_correct_true": len(ok_a),
            "n_correct_predicted": len(ok_b),
        }
        if len(ok_a):
            diff = pred_unit[conf].mean(axis=0) - true_unit[ok_a].mean(axis=0)
            row.update(
                excess_hz=float(freqs[np.argmax(diff)]),
                deficit_hz=float(freqs[np.argmin(diff)]),
                profile_l1=float(np.abs(diff).sum()),
            )
            for k in (1, 2, 3):
                row[f"d_enrich_f{k}"] = _mean([pred_rows[i] for i in conf], f"enrich_f{k}") - _mean(
                    [true_rows[i] for i in ok_a], f"enrich_f{k}"
                )
        for k in (1, 2):
            row[f"f{k}_confused"] = _mean([true_rows[i] for i in conf], f"f{k}_hz")
            row[f"f{k}_true_correct"] = _mean([true_rows[i] for i in ok_a], f"f{k}_hz")
            row[f"f{k}_predicted_correct"] = _mean([true_rows[i] for i in ok_b], f"f{k}_hz")
        table.append(row)
    return table
