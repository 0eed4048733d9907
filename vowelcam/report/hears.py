"""Page 1, "What the network hears": per formant one line with the calibrated verdict, the instrument and its
calibration row, n speakers and the caveats in plain words; the other instruments side by side; the causal test's
result where it was run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ..base_model import BASE
from ..explain.maps.instruments import INSTRUMENTS
from ..explain.readings.calibration import (
    CAUSAL_BASE_TABLE,
    CAUSAL_TABLE,
    UNCALIBRATED,
    calibration_rows,
    default_instrument,
    formant_cues_never_found,
    load_calibration,
    sceptic_record,
    summary_rows,
)
from ..rundir import as_float
from .data import ReportData

FORMANTS = ("F1", "F2", "F3")
PLAIN = {
    "support": "evidence in its contrast region beyond every control",
    "no support": "not beyond the controls (Holm-corrected)",
    "withheld": "found, but the instrument's calibration does not back it",
    "too few speakers": "fewer than 8 held-out speakers",
    "no contrast": "does not differ between the competing vowels",
    "not readable": "its band overlaps another formant's at this resolution",
    "no evidence": "the maps are the same for every class",
    "not learned": "the vowels are not told apart above chance",
}


def hears_section(data: ReportData) -> Optional[dict[str, Any]]:
    """The page-1 answer, or None when the run has no verdicts.csv."""
    if not data.verdicts:
        return None
    by_instrument: dict[str, list[Mapping[str, str]]] = {}
    for row in data.verdicts:
        by_instrument.setdefault(row["instrument"], []).append(row)
    records = load_calibration()
    preferred = default_instrument(records, INSTRUMENTS[0])
    lead = preferred if preferred in by_instrument else next(iter(by_instrument))
    rows = by_instrument[lead]
    record = records.get(lead)
    return {
        "instrument": lead,
        "calibration": record.describe() if record else UNCALIBRATED,
        "lines": [
            _with_answer(_line(f, rows, by_instrument, lead) | _causal_line(f, data.causal_verdicts))
            | _recurs(lead, f, data.recurrence)
            for f in FORMANTS
        ],
        "has_causal_verdicts": bool(data.causal_verdicts),
        "vowels": _vowel_table(rows),
        "others": [
            {"instrument": name, "calibration": records[name].describe() if name in records else UNCALIBRATED}
            for name in by_instrument
            if name != lead
        ],
        "causal": _causal(data.causal_summary),
        "calibration_rows": summary_rows(records),
        "caveats": _caveats(rows, data),
    }


def _line(formant: str, rows: Sequence[Mapping[str, str]], by_instrument: Mapping, lead: str) -> dict[str, Any]:
    row = _cell(rows, "ALL", formant) or {}
    verdict = row.get("verdict", "")
    others = {name: (_cell(r, "ALL", formant) or {}).get("verdict", "") for name, r in by_instrument.items()}
    agree = [n for n, v in others.items() if n != lead and v == verdict]
    disagree = {n: v for n, v in others.items() if n != lead and v != verdict}
    return {
        "formant": formant,
        "verdict": verdict or "not computed",
        "plain": PLAIN.get(verdict, ""),
        "carrier": row.get("carrier", ""),
        "n_tokens": row.get("n_tokens", ""),
        "n_speakers": row.get("n_speakers", ""),
        "unit": row.get("unit", "speaker") or "speaker",
        "p_holm": as_float(row.get("p_holm")),
        "minus_energy": as_float(row.get("minus_energy")),
        "minus_run_mean": as_float(row.get("minus_run_mean")),
        "agree": agree,
        "disagree": disagree,
    }


CAUSAL_PLAIN = {
    "causal": "moving it toward the competitor's costs the decision, beyond F4 moved alike",
    "no effect beyond sham": "moving it does no more than moving F4",
    "no contrast": "does not differ between the competing vowels",
    "too few speakers": "fewer than 8 speakers resynthesised",
    "not learned": "the vowels are not told apart above chance",
    "no sham": "F4 was not moved, so there is no sham to beat",
    "not moved": "this formant was not moved",
}


def answer(causal: str, verdict: str) -> str:
    """Page 1's one-line answer for a formant: the causal verdict first (it moves the formant itself), the maps'
    verdict beside it, and where the two disagree, that they do."""
    mapped = verdict == "support"
    if causal == "causal":
        return "used: the decision follows it" + ("; the maps agree" if mapped else "; the maps do not show it")
    if causal == "no effect beyond sham":
        return "not shown used" + ("; the maps' support is not borne out by moving it" if mapped else "")
    if causal:
        return f"not tested causally ({causal})" + ("; the maps support it" if mapped else "")
    return "maps only: " + (verdict or "not computed") + " (no causal test)"


def _recurs(instrument: str, formant: str, rows: Optional[Sequence[Mapping[str, str]]]) -> dict[str, Any]:
    """How many runs (the run and its replicates over training seeds) support the formant over all vowels."""
    row = next(
        (r for r in rows or [] if (r["instrument"], r["vowel"], r["formant"]) == (instrument, "ALL", formant)), None
    )
    if row is None:
        return {"recurs": ""}
    return {"recurs": f"support in {row['n_support']} of {row['n_runs']} training seeds"}


def _causal_line(formant: str, rows: Optional[Sequence[Mapping[str, str]]]) -> dict[str, Any]:
    """The causal verdict of one formant over all vowels (causal_verdicts.csv), empty when the test was not run."""
    row = _cell(rows or [], "ALL", formant) or {}
    verdict = row.get("verdict", "")
    return {
        "causal": verdict,
        "causal_plain": CAUSAL_PLAIN.get(verdict, ""),
        "causal_share": as_float(row.get("share")),
        "causal_sham": as_float(row.get("sham_share")),
        "causal_p": as_float(row.get("p_holm")),
        "causal_speakers": row.get("n_speakers", ""),
    }


def _with_answer(line: dict[str, Any]) -> dict[str, Any]:
    return line | {"answer": answer(line["causal"], line["verdict"])}


def _cell(rows: Sequence[Mapping[str, str]], vowel: str, formant: str) -> Optional[Mapping[str, str]]:
    return next((r for r in rows if r["vowel"] == vowel and r["formant"] == formant), None)


def _vowel_table(rows: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    vowels = sorted({r["vowel"] for r in rows if r["vowel"] != "ALL"})
    table = []
    for vowel in vowels:
        cells = {f: _cell(rows, vowel, f) or {} for f in FORMANTS}
        table.append(
            {
                "vowel": vowel,
                "cells": {f: c.get("verdict", "") for f, c in cells.items()},
                "carrier": {f: c.get("carrier", "") for f, c in cells.items()},
                "speakers": {f: c.get("n_speakers", "") for f, c in cells.items()},
            }
        )
    return table


def _causal(rows: Optional[Sequence[Mapping[str, str]]]) -> list[dict[str, Any]]:
    """The causal test's change in p(true) per manipulation (causal_summary.csv), if the run has it."""
    if not rows:
        return []
    keep = [r for r in rows if "p_true" in str(r.get("metric", ""))]
    return [
        {
            "condition": r.get("condition", ""),
            "metric": r.get("metric", ""),
            "value": as_float(r.get("value")),
            "lo": as_float(r.get("ci_lo")),
            "hi": as_float(r.get("ci_hi")),
            "n_clusters": r.get("n_clusters", ""),
            "unit": r.get("unit", ""),
        }
        for r in keep
    ]


def _caveats(rows: Sequence[Mapping[str, str]], data: ReportData) -> list[str]:
    out = [
        "A map cannot tell a formant's contrast from another cue read in the same band (a duration or F0 cue read "
        "where the vowel's F3 lies); moving one formant alone by resynthesis (cam --causal) can."
    ]
    from_base = ((data.model or {}).get("extra") or {}).get("weights") == BASE
    if from_base:
        out.append(
            "Training started from vowelcam's base model (Hillenbrand 1995 /hVd/ vowels and synthetic children): "
            "what the network hears was learnt partly there, then fitted to this corpus (--init none trains from "
            "random weights)."
        )
    few = sorted({r["vowel"] for r in rows if r["verdict"] == "too few speakers" and r["vowel"] != "ALL"})
    if few:
        out.append(f"Vowels with fewer than 8 held-out speakers are not tested: {', '.join(few)}.")
    blind = [c.upper() for c in formant_cues_never_found(calibration_rows())]
    if blind:
        out.append(
            f"No map instrument found an {'/'.join(blind)}-only cue in calibration: F1 holds most of a vowel's "
            "energy, so evidence there cannot be told from the energy control; the causal test reads it."
            if blind == ["F1"]
            else f"No map instrument found an {'/'.join(blind)}-only cue in calibration; the causal test reads them."
        )
    plan = data.evidence_plan or {}
    if data.recurrence is None:
        out.append(
            plan.get("replicate_reason")
            or "Trained once: whether the verdicts recur over training seeds was not tested (cam --replicate-seeds)."
        )
    else:
        lone = sorted(
            f"{r['vowel']} {r['formant']}"
            for r in data.recurrence
            if r.get("verdict") == "support" and str(r.get("recurs")) != "1"
        )
        if lone:
            out.append(f"Supported in this run but not in most training seeds: {', '.join(lone)}.")
    unlearned = sorted({r["vowel"] for r in rows if r["verdict"] == "not learned" and r["vowel"] != "ALL"})
    if unlearned:
        out.append(
            "Vowels the model does not tell apart above chance (speaker-level informedness) are not read: "
            f"{', '.join(unlearned)}."
        )
    if data.causal_verdicts:
        table = CAUSAL_BASE_TABLE if from_base else CAUSAL_TABLE
        out.append(causal_caveat(sceptic_record(calibration_rows(name=table)), from_base))
    if not data.causal_summary:
        out.append(
            plan.get("causal_reason")
            or "The causal formant test was not run (it needs the corpus audio: cam --causal --causal-corpus DIR)."
        )
    return out


def causal_caveat(record: tuple[int, int], from_base: bool = False) -> str:
    """What "causal" means and does not, with the shipped sceptic's record (false causal calls, runs) for networks
    trained like this one (``from_base``: fine-tuned from the base model, whose formant reading they keep)."""
    false_calls, runs = record
    trained = "fine-tuned from the base model" if from_base else "trained"
    measured = (
        f"Networks {trained} on synthetic vowels that differ in duration or F0 only, read as if their classes "
        f"differed like AH and ER, were called causal at some formant in {false_calls} of {runs} runs (an F0 network "
        "reads F0 from the harmonics F1 boosts): "
        if runs
        else "This installation has no record of the test on networks that could use no formant: "
    )
    return (
        "Causal means the decision follows the formant's position in the direction of the contrast. "
        + measured
        + "such a dependence is real, but not proof that the formant's contrast is the cue."
    )
