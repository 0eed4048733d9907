"""The token table (``tokens.csv``): one row per extracted token, written by ``extract``. Every column list and
column name of the table is made here, and the speaker-group words of its ``group`` column.

Columns (units in the name or below; empty = not measurable):

- identity: ``token_id`` (stable: ``<file stem>:<tier>:<interval index>``), ``file`` (audio path relative to the
  corpus root), ``textgrid`` (label file relative to its root), ``speaker``, ``group`` (men/women/children/...,
  empty when unknown), ``tier`` (phone tier name), ``interval`` (1-based index in the tier)
- labels: ``label`` (as written in the file), ``convention``, ``phone`` (common inventory, ARPAbet without
  stress), ``ipa``, ``stress`` (0/1/2, empty when the convention has none), ``kind`` (vowel | unvoiced),
  ``word``, ``prev_phone``, ``next_phone``
- time: ``start``, ``end`` (s, in the recording), ``duration_ms``
- Praat: ``f0`` (Hz, median over the middle 60 %), ``f1_20`` ... ``f3_80`` (Hz at 20/50/80 % of the token),
  ``b1_50``, ``b2_50``, ``b3_50`` (bandwidths at 50 %), ``ceiling`` (formant ceiling used, Hz: the vocal-tract
  scale; when the band ends below it the analysis stops at the band with proportionally fewer formants),
  ``formants`` (Praat's number of formants of that analysis), ``sample_rate`` (Hz, of the recording),
  ``band_hz`` (the highest frequency a formant analysis may use: 0.975 x Nyquist). A formant the band cannot
  hold is empty (see vowelcam.acoustics.band and problems.csv)
- ``intensity_db``: the vowel's mean intensity (dB re 2e-5, Praat's ``Get intensity (dB)``; vowels only)
- normalised formants: ``f1_20_lobanov`` ... ``f3_80_lobanov`` and ``f1_20_nearey`` ... ``f3_80_nearey``, per
  speaker over their vowel tokens (one set per normaliser of
  :mod:`vowelcam.measure.formant_normalisers`; filled by :mod:`vowelcam.measure.speaker_normalisation`)
- settings-dependent, at the end: ``f1_dct0`` ... (DCT of the formant tracks), ``f1_<p>`` ... for extra
  ``--points``, ``tier_<name>`` for ``--carry-tier`` (see
  :mod:`vowelcam.measure.tracks`, :mod:`vowelcam.measure.carried_tiers`)
- spectrogram: ``spec_shard``, ``spec_row`` (where it sits in the store), ``frame_start``, ``frame_end``
  (the token's own interval in spectrogram frames, end exclusive)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .measure.formant_normalisers import NORMALISERS
from .rundir import as_float, read_csv

FORMANTS = (1, 2, 3)
FIXED_POINTS = (20, 50, 80)  # % of the token: the fixed measurement points
ID_COLUMNS = ["token_id", "file", "textgrid", "speaker", "group", "tier", "interval"]
LABEL_COLUMNS = ["label", "convention", "phone", "ipa", "stress", "kind", "word", "prev_phone", "next_phone"]
TIME_COLUMNS = ["start", "end", "duration_ms"]
FORMANT_COLUMNS = [f"f{k}_{p}" for p in FIXED_POINTS for k in FORMANTS]
MEASURE_COLUMNS = ["f0", *FORMANT_COLUMNS, "b1_50", "b2_50", "b3_50", "ceiling", "formants", "sample_rate", "band_hz"]
SPEC_COLUMNS = ["spec_shard", "spec_row", "frame_start", "frame_end"]
INTENSITY_COLUMNS = ["intensity_db"]


def normalised_column(formant: int, percent: int, normaliser: str) -> str:
    """``f<formant>_<percent>_<normaliser>``, e.g. ``f1_50_lobanov``."""
    return f"f{formant}_{percent}_{normaliser}"


NORMALISED_COLUMNS = [normalised_column(k, p, m) for m in NORMALISERS for p in FIXED_POINTS for k in FORMANTS]
TOKEN_COLUMNS = (
    ID_COLUMNS + LABEL_COLUMNS + TIME_COLUMNS + MEASURE_COLUMNS + INTENSITY_COLUMNS + SPEC_COLUMNS + NORMALISED_COLUMNS
)

NUMERIC_COLUMNS = {
    "interval",
    "start",
    "end",
    "duration_ms",
    *MEASURE_COLUMNS,
    *SPEC_COLUMNS,
    *INTENSITY_COLUMNS,
    *NORMALISED_COLUMNS,
}
_NUMERIC_EXTRA = re.compile(r"f\d_(dct\d+|logdct\d+|\d+)$")  # settings-dependent: DCT coefficients, extra points
CARRIED_TIER_PREFIX = "tier_"

# --------------------------------------------------------------------------- settings-dependent columns


def extra_points(settings: Any) -> list[int]:
    """The ``measure.points`` percentages (``settings`` a :class:`vowelcam.config.MeasureSettings`) that need wide
    columns beyond 20/50/80 (sorted, unique)."""
    points = sorted({int(round(float(p))) for p in settings.points})
    bad = [p for p in points if not 0 <= p <= 100]
    if bad:
        raise ValueError(f"measurement points must lie in 0..100 %, got {bad}")
    return [p for p in points if p not in FIXED_POINTS]


def dct_columns(order: int) -> list[str]:
    """``f1_dct0 .. f3_dct<order-1>`` (of Hz), then ``f1_logdct0 .. f3_logdct<order-1>`` (of log Hz)."""
    return [f"f{k}_{kind}{i}" for kind in ("dct", "logdct") for k in FORMANTS for i in range(order)]


def point_columns(points: Iterable[int]) -> list[str]:
    """``f1_<p>, f2_<p>, f3_<p>`` for each point."""
    return [f"f{k}_{p}" for p in points for k in FORMANTS]


def carried_tier_column(name: str) -> str:
    """The tokens.csv column of a carried tier (``--carry-tier NAME`` -> ``tier_NAME``)."""
    return f"{CARRIED_TIER_PREFIX}{name}"


def extra_token_columns(settings: Any, carry_tiers: Sequence[str] = ()) -> list[str]:
    """Columns of ``tokens.csv`` that depend on the measure settings (a :class:`vowelcam.config.MeasureSettings`):
    DCT, extra points, carried tiers."""
    cols = dct_columns(settings.dct_order) if settings.track_step > 0 else []
    return cols + point_columns(extra_points(settings)) + [carried_tier_column(name) for name in carry_tiers]


def token_columns(settings: Any = None) -> list[str]:
    """The columns of ``tokens.csv`` for these settings: :data:`TOKEN_COLUMNS` plus DCT, extra-point and carried-tier
    columns (``settings`` a :class:`vowelcam.config.Settings`; None = the fixed columns only)."""
    if settings is None:
        return list(TOKEN_COLUMNS)
    return TOKEN_COLUMNS + extra_token_columns(settings.measure, settings.corpus.carry_tiers)


# --------------------------------------------------------------------------- speaker groups

GROUPS = ("men", "women", "children")
GROUP_WORDS = {
    "men": "men",
    "man": "men",
    "male": "men",
    "males": "men",
    "m": "men",
    "women": "women",
    "woman": "women",
    "female": "women",
    "females": "women",
    "w": "women",
    "f": "women",
    "children": "children",
    "child": "children",
    "kids": "children",
    "kid": "children",
    "c": "children",
    "boys": "children",
    "boy": "children",
    "b": "children",
    "girls": "children",
    "girl": "children",
    "g": "children",
}


def normalise_group(text: str | None, keep_unknown: bool = False) -> str:
    """``'M'``, ``'male'``, ``'men'`` -> ``'men'`` etc. (one of :data:`GROUPS`); other words -> ``''``, or the
    word lower-cased with ``keep_unknown``."""
    word = (text or "").strip().lower()
    return GROUP_WORDS.get(word, word if keep_unknown else "")


# --------------------------------------------------------------------------- reading


def read_tokens(path: str | Path) -> list[dict[str, Any]]:
    """Read ``tokens.csv`` with numeric columns as floats (NaN when empty) and spec indices as ints."""
    rows = read_csv(path)
    numeric = NUMERIC_COLUMNS | {c for c in (rows[0] if rows else {}) if _NUMERIC_EXTRA.match(c)}
    for row in rows:
        for col in numeric & row.keys():
            row[col] = as_float(row[col])
        for col in ("spec_shard", "spec_row", "frame_start", "frame_end", "interval"):
            if col in row and row[col] == row[col]:
                row[col] = int(row[col])
    return rows


def column(rows: list[dict[str, Any]], name: str) -> np.ndarray:
    """One numeric column as a float array (NaN where missing)."""
    return np.array([as_float(r.get(name)) for r in rows], dtype=float)
