"""What the report says about the maps themselves: which methods tell classes apart (``discrimination.csv``), what
a map cell can resolve in Hz and ms (``cams/meta.json``), and where confused tokens' maps favour the predicted class
over the true one (``contrastive.csv``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

import numpy as np

from ..rundir import as_float, read_csv
from .data import ReportData
from .stats import Estimate

DISCRIMINATION = "discrimination.csv"
CONTRASTIVE = "contrastive.csv"


def map_quality_section(data: ReportData) -> Optional[dict[str, Any]]:
    """The context of the report's "What the maps can say" block; None when the run has no CAMs."""
    if data.cams is None:
        return None
    meta = data.cams.meta
    return {
        "method": meta.get("method", ""),
        "layer": meta.get("layer", ""),
        "hz_per_row": data.cams.hz_per_row,
        "point_spread_hz": as_float(meta.get("point_spread_hz")),
        "point_spread_ms": as_float(meta.get("point_spread_ms")),
        "ms_per_column": as_float(meta.get("ms_per_column")),
        "time_resolution": meta.get("time_resolution", ""),
        "overlaps": overlap_counts(data.bands or []),
        "discrimination": _discrimination(data),
        "contrasts": _contrasts(data),
    }


def overlap_counts(bands: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Per formant: token readings left empty because the formant's band overlaps another of the token's bands
    (``bandk_overlap`` in bands.csv), out of the tokens with that formant measured."""
    out = []
    for k in (1, 2, 3):
        flags = [as_float(r.get(f"band{k}_overlap")) for r in bands]
        measured = [f for f in flags if f == f]
        out.append({"formant": f"F{k}", "n_overlap": int(sum(f > 0 for f in measured)), "n_measured": len(measured)})
    return out if any(o["n_overlap"] for o in out) else []


def _discrimination(data: ReportData) -> list[dict[str, Any]]:
    path = data.run.path(DISCRIMINATION)
    if not path.exists():
        return []
    rows = []
    for r in read_csv(path):
        n = int(as_float(r.get("n")) or 0)
        rows.append(
            {
                "method": r.get("method", ""),
                "layer": r.get("layer", ""),
                "n": n,
                "n_clusters": r.get("n_clusters", ""),
                "unit": r.get("unit", ""),
                "rho_other": Estimate(
                    as_float(r.get("rho_other")), as_float(r.get("rho_other_lo")), as_float(r.get("rho_other_hi")), n
                ),
                "rho_reinit": Estimate(
                    as_float(r.get("rho_reinit")), as_float(r.get("rho_reinit_lo")), as_float(r.get("rho_reinit_hi")), n
                ),
                "collapsed": _flag(r.get("collapsed")),
                "reason": r.get("reason", ""),
                "same_as": r.get("same_as", ""),
                "uninformative": _flag(r.get("class_agnostic")) or _flag(r.get("model_insensitive")),
            }
        )
    return rows


def _flag(text: Any) -> bool:
    return str(text).strip() in ("1", "1.0", "True", "true")


def _contrasts(data: ReportData) -> list[dict[str, Any]]:
    """One row per confusion pair: tokens, median Hz of the contrast's peak and trough, mean signed F1–F3 mass."""
    path = data.run.path(CONTRASTIVE)
    if not path.exists():
        return []
    pairs: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in read_csv(path):
        pairs[(r.get("vowel", ""), r.get("predicted", ""))].append(r)
    out = []
    for (vowel, predicted), rows in sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0])):

        def median(col: str, rows=rows) -> float:
            vals = np.array([as_float(r.get(col)) for r in rows], float)
            vals = vals[np.isfinite(vals)]
            return float(np.median(vals)) if len(vals) else float("nan")

        out.append(
            {
                "vowel": vowel,
                "predicted": predicted,
                "n": len(rows),
                "peak_hz": median("contrast_peak_hz"),
                "trough_hz": median("contrast_trough_hz"),
                "f1": median("contrast_f1"),
                "f2": median("contrast_f2"),
                "f3": median("contrast_f3"),
            }
        )
    return out
