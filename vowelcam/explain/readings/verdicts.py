"""One verdict per vowel x formant cell, from the per-token contrast-region readings (``verdicts.csv``).

A cell (a vowel, or ``ALL`` vowels, and a formant Fk) reads the held-out tokens whose Fk contrast region could be
read. Its verdict is **support** only when the evidence's enrichment in the region beats *every* control (the
rank-matched energy and the run's mean evidence, :mod:`vowelcam.explain.readings.contrast_region`): for each
control the speakers' mean contrasts pass a one-sided sign-flip test, the cell's p value is the larger of the two
(an intersection-union test: both must be beaten), and that p value, Holm-adjusted over every tested cell of the
table, is below :data:`~vowelcam.explain.readings.speaker_tests.ALPHA`. Otherwise:

- ``no support``: tested, not significant after correction;
- ``too few speakers``: fewer than :data:`~vowelcam.explain.readings.speaker_tests.MIN_SPEAKERS` speakers (or
  recordings, for one speaker) behind the cell; not tested, not in the correction family;
- ``no contrast``: the formant does not differ between the tokens' classes and their competitors (by
  :data:`~vowelcam.explain.readings.contrast_region.MIN_FORMANT_CONTRAST`), so no evidence can be of its contrast;
- ``not readable``: no token's region could be read (bands overlapping another formant's at this resolution);
- ``not learned``: the model being read does not tell the vowel from the others above chance on these held-out
  tokens (speaker-level informedness, :mod:`vowelcam.explain.readings.learned`): there is no decision to explain;
  not tested;
- ``no evidence``: the instrument's class-discriminative evidence is zero for every token (a class-agnostic map).

``carrier`` says where the region's evidence sits: ``own`` (the token's own formant band holds >= 60 %),
``competitor`` (<= 40 %: the network reads the contrast where the competing class has its formant), ``both``.
n tokens and n speakers stand beside every verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...intervals import resampling_clusters
from ...rundir import as_float
from .contrast_region import FORMANT_NUMBERS, MIN_FORMANT_CONTRAST
from .learned import is_learned, learned_table
from .speaker_tests import ALPHA, MIN_SPEAKERS, holm, sign_flip_pvalue, speaker_means

SUPPORT, NO_SUPPORT = "support", "no support"
TOO_FEW, NOT_READABLE, NO_EVIDENCE = "too few speakers", "not readable", "no evidence"
NO_CONTRAST = "no contrast"
NOT_LEARNED = "not learned"
CONTROLS = ("energy", "run_mean")
VERDICT_COLUMNS = [
    "vowel",
    "formant",
    "n_tokens",
    "n_speakers",
    "unit",
    "informedness",
    "p_learned",
    "enrich",
    "enrich_energy",
    "enrich_run_mean",
    "minus_energy",
    "minus_run_mean",
    "p_energy",
    "p_run_mean",
    "p",
    "p_holm",
    "verdict",
    "carrier",
    "own_share",
    "n_overlap",
    "n_no_evidence",
]


def verdict_table(readings: Sequence[Mapping[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """``verdicts.csv`` rows from ``readings.csv`` rows of held-out tokens (needing ``vowel``, ``speaker``,
    ``file`` and the reading columns), Holm-corrected over the whole table."""
    vowels = sorted({str(r["vowel"]) for r in readings})
    learned = learned_table(readings, seed) if readings else {}
    rows = [
        _cell(vowel, k, [r for r in readings if vowel == "ALL" or str(r["vowel"]) == vowel], seed, learned.get(vowel))
        for vowel in [*vowels, "ALL"]
        for k in FORMANT_NUMBERS
    ]
    adjusted = holm({str(i): r["p"] for i, r in enumerate(rows) if r["verdict"] == ""})
    for i, row in enumerate(rows):
        if row["verdict"] == "":
            row["p_holm"] = adjusted[str(i)]
            row["verdict"] = SUPPORT if adjusted[str(i)] < ALPHA else NO_SUPPORT
    return rows


def _cell(
    vowel: str, k: int, members: Sequence[Mapping[str, Any]], seed: int, learned: tuple[float, float] | None
) -> dict[str, Any]:
    enrich = _col(members, f"enrich_f{k}")
    readable = np.isfinite(enrich)
    chosen = [r for r, ok in zip(members, readable) if ok]
    clusters, unit = resampling_clusters(
        [str(r.get("speaker") or "") for r in chosen], [str(r.get("file") or "") for r in chosen]
    )
    row: dict[str, Any] = {
        "vowel": vowel,
        "formant": f"F{k}",
        "n_tokens": len(chosen),
        "n_speakers": len(set(clusters)),
        "unit": unit,
        "informedness": learned[0] if learned else float("nan"),
        "p_learned": learned[1] if learned else float("nan"),
        "n_overlap": int(np.nansum(_col(members, f"overlap_f{k}"))),
        "n_no_evidence": sum(
            as_float(r.get("evidence_mass")) <= 0 or not np.isfinite(as_float(r.get("evidence_mass"))) for r in members
        ),
        "p_holm": float("nan"),
        "verdict": "",
    }
    values = {
        name: _col(chosen, f"enrich_f{k}{suffix}")
        for name, suffix in (("enrich", ""), ("energy", "_energy"), ("run_mean", "_run_mean"))
    }
    row.update(
        enrich=_mean(values["enrich"]), enrich_energy=_mean(values["energy"]), enrich_run_mean=_mean(values["run_mean"])
    )
    pvalues = []
    for control in CONTROLS:
        diff = values["enrich"] - values[control]
        row[f"minus_{control}"] = _mean(diff)
        p = sign_flip_pvalue(speaker_means(diff, clusters), seed) if chosen else float("nan")
        row[f"p_{control}"] = p
        pvalues.append(p)
    row["p"] = max(pvalues) if chosen else float("nan")
    share = _mean(_col(chosen, f"own_share_f{k}"))
    row["own_share"] = share
    row["carrier"] = (
        "" if not np.isfinite(share) else "own" if share >= 0.6 else "competitor" if share <= 0.4 else "both"
    )
    if not chosen:
        contrasts = _col(members, f"contrast_f{k}")
        if members and row["n_no_evidence"] == len(members):
            row["verdict"] = NO_EVIDENCE
        elif not np.any(contrasts >= MIN_FORMANT_CONTRAST):
            row["verdict"] = NO_CONTRAST
        else:
            row["verdict"] = NOT_READABLE
    elif row["n_speakers"] < MIN_SPEAKERS:
        row["verdict"] = TOO_FEW
    elif not is_learned(learned):
        row["verdict"] = NOT_LEARNED
    return row


def _col(rows: Sequence[Mapping[str, Any]], col: str) -> np.ndarray:
    return np.array([as_float(r.get(col)) for r in rows], dtype=np.float64)


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def supported(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """``"VOWEL Fk"`` of every cell with support (for summaries and tests)."""
    return [f"{r['vowel']} {r['formant']}" for r in rows if r["verdict"] == SUPPORT]
