"""The stage tables of the report's fake run (agreement, faithfulness, problems, bands), in the columns the stages
write them with; the numbers are drawn so that F2 is the one reading that beats the controls."""

from __future__ import annotations

from typing import Any

import numpy as np

# Hillenbrand-like means (men) F1, F2, F3 in Hz.
VOWELS = {
    "IY": (342, 2322, 3000),
    "IH": (427, 2034, 2684),
    "EH": (580, 1799, 2605),
    "AE": (588, 1952, 2601),
    "AA": (768, 1333, 2522),
    "UW": (378, 997, 2343),
}
GROUP_SCALE = {"men": 1.0, "women": 1.17}
ODD = "<i>&'\""  # appended to names that reach the HTML

AGREEMENT_METRICS = [
    "enrich_f1",
    "enrich_f2",
    "enrich_f3",
    "peak_on_formant_share",
    "hf_share_above_f3",
    "hf_share_above_4k",
    "enrich_f1_ref",
    "enrich_f2_ref",
    "enrich_f3_ref",
]
CONTROLS = ("energy", "envelope", "null")
CONTROLLED = [
    f"{m}_{c}{s}"
    for m in ("enrich_f1", "enrich_f2", "enrich_f3", "peak_on_f1_share", "peak_on_f2_share", "peak_on_f3_share")
    for c in CONTROLS
    for s in ("", "_lo", "_hi")
]
CONTRASTS = [f"enrich_f{k}_minus_{c}{s}" for k in (1, 2, 3) for c in CONTROLS for s in ("", "_lo", "_hi", "_n")]
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
        "ci_unit",
        "n_clusters",
    ]
    + [f"{m}{s}" for m in AGREEMENT_METRICS for s in ("", "_lo", "_hi", "_n")]
    + CONTROLLED
    + CONTRASTS
    + ["verdict_f1", "verdict_f2", "verdict_f3"]
)
FAITHFULNESS_COLUMNS = ["test", "condition", "metric", "value", "ci_lo", "ci_hi", "n"]


def bands_table(tokens: list[dict[str, Any]], test: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {t["token_id"]: t for t in tokens}
    rows = []
    for p in test:
        tok = by_id[p["token_id"]]
        ref = [v * GROUP_SCALE[tok["group"]] for v in VOWELS[tok["phone"]]]
        rows.append(
            {"token_id": p["token_id"], "vowel": tok["phone"], "ref_f1": ref[0], "ref_f2": ref[1], "ref_f3": ref[2]}
        )
    return rows


def agreement_table(test: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """Rows as vowelcam.explain.agreement writes them: per vowel and ``ALL``, subsets all/correct/misclassified."""
    rows = []
    for vowel in [*VOWELS, "ALL"]:
        mine = [p for p in test if vowel in (p["true"], "ALL")]
        subsets = (
            ("all", mine),
            ("correct", [p for p in mine if p["correct"]]),
            ("misclassified", [p for p in mine if not p["correct"]]),
        )
        for subset, chosen in subsets:
            n_correct = sum(p["correct"] for p in chosen)
            row = {
                "vowel": vowel,
                "subset": subset,
                "n": len(chosen),
                "n_correct": n_correct,
                "accuracy": n_correct / len(chosen) if chosen else None,
                "n_no_formants": 0,
                "n_no_reference": 0,
            }
            for metric in AGREEMENT_METRICS:
                enrich = metric.startswith("enrich")
                value = float(rng.uniform(0.6, 3.2)) if enrich else float(rng.uniform(0, 0.9))
                low, high = (0.31, 0.29) if enrich else (0.05, 0.05)
                row.update(
                    {
                        metric: value,
                        f"{metric}_lo": value - low,
                        f"{metric}_hi": value + high,
                        f"{metric}_n": len(chosen),
                    }
                )
            row["hf_share_above_4k"] = 0.0
            row.update(_controls(len(chosen), rng))
            row.update(
                held_out=1,
                accuracy_lo=max(0.0, (row["accuracy"] or 0) - 0.1),
                accuracy_hi=min(1.0, (row["accuracy"] or 0) + 0.1),
                ci_unit="speaker",
                n_clusters=2,
            )
            rows.append(row)
    return rows


def faithfulness_table(n: int) -> list[dict[str, Any]]:
    """Rows as vowelcam.explain.faithfulness writes them (a subset of its metrics)."""
    rows = [
        ("band_deletion", "none", "accuracy", 0.79, 0.73, 0.85),
        ("band_deletion", "top_cam_band", "accuracy", 0.41, 0.35, 0.47),
        ("band_deletion", "top_cam_band", "prob_drop", 0.312, 0.27, 0.351),
        ("band_deletion", "random_band", "accuracy", 0.74, 0.69, 0.79),
        ("band_deletion", "random_band", "prob_drop", 0.041, 0.02, 0.063),
        ("band_deletion", "top_minus_random", "prob_drop", 0.271, 0.229, 0.313),
        ("band_deletion", "all", "width_hz", 250.0, None, None),
        ("randomisation", "fc", "spearman", 0.08, 0.03, 0.13),
        ("randomisation", "top_layers <randomised>", "spearman", 0.02, -0.01, 0.05),
        ("frequency_shift", "+150 Hz", "accuracy", 0.52, 0.46, 0.58),
        ("frequency_shift", "+150 Hz", "map_shift_hz", 143.0, 131.0, 155.0),
    ]
    return [dict(zip(FAITHFULNESS_COLUMNS, (*r, n))) for r in rows]


def problems_table() -> list[dict[str, str]]:
    return [
        {
            "path": f"wav/bad{ODD}.wav",
            "tier": "",
            "interval": "",
            "reason": "unreadable_audio",
            "detail": "not a RIFF file",
        },
        {
            "path": "tg/x.TextGrid",
            "tier": f"phones{ODD}",
            "interval": "7",
            "reason": "unknown_label",
            "detail": "label 'ax<h>'",
        },
        {
            "path": "tg/y.TextGrid",
            "tier": "phones",
            "interval": "3",
            "reason": "unknown_label",
            "detail": "label 'spn'",
        },
        {"path": "tg/z.TextGrid", "tier": "phones", "interval": "9", "reason": "too_short", "detail": "12 ms < 20 ms"},
    ]


def _controls(n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Control columns as vowelcam.explain.agreement writes them; F2 is the one reading that beats both controls."""
    row: dict[str, Any] = {}
    for name in CONTROLLED:
        if not name.endswith(("_lo", "_hi")):
            value = float(rng.uniform(0.5, 2.0))
            row.update({name: value, f"{name}_lo": value - 0.2, f"{name}_hi": value + 0.2})
    for k in (1, 2, 3):
        for c in CONTROLS:
            value = 0.5 if k == 2 else float(rng.uniform(-0.8, 0.1))
            row.update(
                {
                    f"enrich_f{k}_minus_{c}": value,
                    f"enrich_f{k}_minus_{c}_lo": value - 0.3,
                    f"enrich_f{k}_minus_{c}_hi": value + 0.3,
                    f"enrich_f{k}_minus_{c}_n": n,
                }
            )
        row[f"verdict_f{k}"] = "support" if k == 2 else "no support"
    return row


def verdicts_table() -> list[dict[str, Any]]:
    """verdicts.csv of two instruments, in the columns the verdict pass writes: F2 is the one supported formant
    (over all vowels and for IH), F1 has no contrast for UW, the rest is tested and not supported."""
    from vowelcam.explain.verdict_stage import VERDICT_FILE_COLUMNS

    rows = []
    for instrument in ("gradcam@layer4", "integrated-gradients"):
        for vowel in [*VOWELS, "ALL"]:
            for k in (1, 2, 3):
                support = k == 2 and vowel in ("IH", "ALL")
                verdict = "support" if support else "no contrast" if (k == 1 and vowel == "UW") else "no support"
                row = {c: "" for c in VERDICT_FILE_COLUMNS}
                row.update(
                    instrument=instrument,
                    vowel=vowel,
                    formant=f"F{k}",
                    n_tokens=120 if vowel == "ALL" else 20,
                    n_speakers=10,
                    unit="speaker",
                    enrich=1.9 if support else 1.0,
                    p_holm=0.004 if support else 0.8,
                    verdict=verdict,
                    carrier="competitor" if support else "",
                    calibration="not calibrated",
                )
                rows.append(row)
    return rows


def causal_verdicts_table() -> list[dict[str, Any]]:
    """causal_verdicts.csv in the columns the causal test writes: F2 causal over all vowels, F1 no effect beyond
    the sham, F3 no contrast."""
    from vowelcam.explain.evidence.causal_verdicts import COLUMNS

    rows = []
    for vowel in [*VOWELS, "ALL"]:
        for k, verdict in ((1, "no effect beyond sham"), (2, "causal"), (3, "no contrast")):
            row = {c: "" for c in COLUMNS}
            row.update(vowel=vowel, formant=f"F{k}", n_speakers=9, unit="speaker", verdict=verdict)
            if k < 3:
                row.update(share=0.31 if k == 2 else 0.02, sham_share=-0.05, p_holm=0.002 if k == 2 else 0.7)
            rows.append(row)
    return rows
