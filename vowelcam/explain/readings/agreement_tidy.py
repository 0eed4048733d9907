"""``agreement_tidy.csv``: the agreement table in long (tidy) form, the shape R's tidyverse and pandas load.

One row per vowel x subset x formant x instrument x control, read from the wide ``agreement.csv`` rows
(:mod:`.agreement`), which stay as they are. Columns (:data:`TIDY_COLUMNS`):

- keys: ``vowel`` (or ``ALL``), ``subset`` (all / correct / misclassified of the held-out tokens; not_held_out),
  ``formant`` (1–3), ``instrument`` (``METHOD@LAYER``, the map the cam stage computed), ``control`` (energy /
  envelope / null);
- ``n`` (tokens in the subset), ``n_clusters`` and ``ci_unit`` (what the intervals resample: speaker or recording);
- ``enrich``, ``enrich_lo``, ``enrich_hi``: the map's mean enrichment at the token's Fk (x the axis average) with
  its 95 % interval; ``control_enrich`` (``_lo``, ``_hi``) the control's; ``minus`` (``_lo``, ``_hi``,
  ``minus_n``) the paired difference map minus control, over ``minus_n`` tokens with both values;
- ``peak_share`` / ``control_peak_share`` / ``peak_minus`` (``_lo``, ``_hi``): the same for the share of tokens
  whose map peak lies on Fk;
- ``beats_control``: ``yes`` when the interval of ``minus`` lies above 0, ``no`` when not, empty when it could
  not be computed; ``verdict``: the formant's verdict of the wide row (``support`` needs the energy and null
  controls both beaten, so it repeats on the formant's three rows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ...rundir import as_float
from .controls import CONTROLS

TIDY_FILE = "agreement_tidy.csv"
TIDY_COLUMNS = [
    *["vowel", "subset", "formant", "instrument", "control", "n", "n_clusters", "ci_unit"],
    *["enrich", "enrich_lo", "enrich_hi", "control_enrich", "control_enrich_lo", "control_enrich_hi"],
    *["minus", "minus_lo", "minus_hi", "minus_n"],
    *["peak_share", "control_peak_share", "peak_minus", "peak_minus_lo", "peak_minus_hi"],
    *["beats_control", "verdict"],
]


def tidy_rows(wide: Iterable[Mapping[str, Any]], instrument: str) -> list[dict[str, Any]]:
    """The tidy rows of the wide ``agreement.csv`` rows ``wide``, read with ``instrument``."""
    out = []
    for row in wide:
        for k in (1, 2, 3):
            for control in CONTROLS:
                out.append(_tidy_row(row, k, control, instrument))
    return out


def _tidy_row(row: Mapping[str, Any], k: int, control: str, instrument: str) -> dict[str, Any]:
    enrich, peak = f"enrich_f{k}", f"peak_on_f{k}_share"
    minus_lo = as_float(row.get(f"{enrich}_minus_{control}_lo"))
    return {
        "vowel": row["vowel"],
        "subset": row["subset"],
        "formant": k,
        "instrument": instrument,
        "control": control,
        "n": row.get("n", ""),
        "n_clusters": row.get("n_clusters", ""),
        "ci_unit": row.get("ci_unit", ""),
        **{f"enrich{s}": row.get(f"{enrich}{s}", "") for s in ("", "_lo", "_hi")},
        **{f"control_enrich{s}": row.get(f"{enrich}_{control}{s}", "") for s in ("", "_lo", "_hi")},
        **{f"minus{s}": row.get(f"{enrich}_minus_{control}{s}", "") for s in ("", "_lo", "_hi", "_n")},
        "peak_share": row.get(peak, ""),
        "control_peak_share": row.get(f"{peak}_{control}", ""),
        **{f"peak_minus{s}": row.get(f"{peak}_minus_{control}{s}", "") for s in ("", "_lo", "_hi")},
        "beats_control": "" if math.isnan(minus_lo) else ("yes" if minus_lo > 0 else "no"),
        "verdict": row.get(f"verdict_f{k}", ""),
    }
