"""The calibration table: what each instrument says on corpora whose only cue is known, and the gate it sets.

``vowelcam calibrate`` (:mod:`vowelcam.explain.calibration_run`) trains on single-cue corpora
(:mod:`vowelcam.synth.cues`: the classes differ in F1, F2 or F3 only, or in duration or F0 only, where no formant can
carry the decision), reads each with every instrument, and records per instrument x corpus x seed which cells got
support. A run is:

- a **hit** when a formant corpus gets support at its cue (the ``ALL`` row of that formant);
- a **false call** when any cell gets support at a formant that is not the cue (on duration and F0 corpora: any
  support at all);
- a **miss** otherwise (no support at the cue, and no false call).

The table ships with the package (``calibration.csv`` beside this module) and the report prints the row of every
instrument it uses. Beside it, ``causal_calibration.csv`` holds what the causal formant test called on the same
corpora (``bench/bench_causal_calibration.py``), with the sceptic's pass on the duration- and F0-only runs: the
report quotes how often a network that could use no formant was still called causal
(``causal_calibration_base_start.csv``: the same for networks fine-tuned from the base model, which a small corpus
gets by default).

A support is printed only by an instrument shown right on ground truth: one with a false call, one that found no
cue in any run, or one without a row has its supports *withheld* (the readings stay in ``readings.csv``). The
default instrument is the calibrated one with the most hits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from .verdicts import SUPPORT

CALIBRATION_COLUMNS = [
    "instrument",
    "cue",
    "corpus_seed",
    "train_seed",
    "n_speakers",
    "accuracy",
    "supported",
    "outcome",
]
CAUSAL_TABLE = "causal_calibration.csv"
CAUSAL_BASE_TABLE = "causal_calibration_base_start.csv"  # the same, networks fine-tuned from the base model
CAUSAL_COLUMNS = ["cue", "corpus_seed", "outcome", "causal", "pretend_causal"]  # cells joined with "; "
SUMMARY_COLUMNS = ["instrument", "runs", "hits", "misses", "false_calls", "formant_runs", "status"]
HIT, MISS, FALSE_CALL = "hit", "miss", "false call"
CALIBRATED, FAILED, BLIND, UNCALIBRATED = "calibrated", "false cue", "found no cue", "not calibrated"
WITHHELD = "withheld"


def outcome(cue: str, supported_cells: Sequence[str]) -> str:
    """``hit``, ``miss`` or ``false call`` of one run (see the module docstring); cells are ``"VOWEL Fk"``."""
    formants = {cell.split()[-1].lower() for cell in supported_cells}
    if formants - {cue}:
        return FALSE_CALL
    return HIT if f"ALL {cue.upper()}" in supported_cells else MISS


@dataclass(frozen=True)
class InstrumentRecord:
    """One instrument's calibration summary."""

    instrument: str
    runs: int
    hits: int
    misses: int
    false_calls: int
    formant_runs: int

    @property
    def status(self) -> str:
        """false cue (any false call), found no cue (no hit in any single-formant run) or calibrated."""
        if self.false_calls:
            return FAILED
        return CALIBRATED if self.hits else BLIND

    def describe(self) -> str:
        """One line for the report, e.g. "calibrated: 8 of 9 single-formant runs found their cue, 0 false calls in
        15 runs"."""
        return (
            f"{self.status}: {self.hits} of {self.formant_runs} single-formant runs found their cue, "
            f"{self.false_calls} false calls in {self.runs} runs"
        )


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, InstrumentRecord]:
    """Per-instrument records from ``calibration.csv`` rows."""
    out: dict[str, InstrumentRecord] = {}
    for name in sorted({str(r["instrument"]) for r in rows}):
        mine = [r for r in rows if r["instrument"] == name]
        counts = {what: sum(r["outcome"] == what for r in mine) for what in (HIT, MISS, FALSE_CALL)}
        formant_runs = sum(str(r["cue"]).startswith("f") and str(r["cue"]) != "f0" for r in mine)
        out[name] = InstrumentRecord(name, len(mine), counts[HIT], counts[MISS], counts[FALSE_CALL], formant_runs)
    return out


def summary_rows(records: Mapping[str, InstrumentRecord]) -> list[dict[str, Any]]:
    """``calibration_summary.csv`` rows."""
    return [
        {
            "instrument": r.instrument,
            "runs": r.runs,
            "hits": r.hits,
            "misses": r.misses,
            "false_calls": r.false_calls,
            "formant_runs": r.formant_runs,
            "status": r.status,
        }
        for r in records.values()
    ]


def load_calibration(path: str | Path | None = None) -> dict[str, InstrumentRecord]:
    """The shipped calibration table (or ``path``), summarised per instrument; empty when there is none."""
    return summarise(calibration_rows(path))


def calibration_rows(path: str | Path | None = None, name: str = "calibration.csv") -> list[dict[str, str]]:
    """The rows of the shipped table ``name`` (or the file ``path``); empty when there is none."""
    if path is None:
        resource = files("vowelcam.explain.readings").joinpath(name)
        if not resource.is_file():
            return []
        text = resource.read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def sceptic_record(rows: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """From ``causal_calibration.csv`` rows: in how many of the sceptic's runs (a duration- or F0-only network read
    as if its classes differed in formants) some formant was still called causal, and of how many such runs."""
    pretend = [r for r in rows if str(r.get("cue")) in ("duration", "f0")]
    return sum(bool(str(r.get("pretend_causal") or "").strip()) for r in pretend), len(pretend)


def formant_cues_never_found(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The formant cues (``f1``..``f3``) of the table that no instrument found in any run."""
    cues = sorted({str(r["cue"]) for r in rows if str(r["cue"]) in ("f1", "f2", "f3")})
    return [c for c in cues if not any(r["cue"] == c and r["outcome"] == HIT for r in rows)]


def default_instrument(records: Mapping[str, InstrumentRecord], fallback: str) -> str:
    """The calibrated instrument with the most hits (ties: the first by name); ``fallback`` when none is."""
    good = [r for r in records.values() if r.status == CALIBRATED and r.hits > 0]
    if not good:
        return fallback
    return max(good, key=lambda r: (r.hits, -r.misses, r.instrument == fallback)).instrument


def gate_verdicts(
    instrument: str, verdicts: Sequence[Mapping[str, Any]], records: Mapping[str, InstrumentRecord]
) -> list[dict[str, Any]]:
    """``verdicts`` with the instrument's calibration beside each, and every support withheld unless the
    instrument is calibrated (its row shows no false call)."""
    record = records.get(instrument)
    status = record.describe() if record else UNCALIBRATED
    out = []
    for row in verdicts:
        row = {**row, "calibration": status, "note": ""}
        if (record is None or record.status != CALIBRATED) and row["verdict"] == SUPPORT:
            row["verdict"] = WITHHELD
            row["note"] = {
                FAILED: "this instrument called a cue that was not there on calibration corpora",
                BLIND: "this instrument found no cue on calibration corpora, so its support is not shown right",
            }.get(record.status if record else "", "this instrument has not been calibrated")
        out.append(row)
    return out
