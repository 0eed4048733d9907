"""The token table (``tokens.csv``): one row per extracted token, written by ``extract``.

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
  speaker over their vowel tokens (see :mod:`vowelcam.measure.normalise`)
- settings-dependent, at the end: ``f1_dct0`` ... (DCT of the formant tracks), ``f1_<p>`` ... for extra
  ``--points``, ``tier_<name>`` for ``--carry-tier`` (see :mod:`vowelcam.measure.tracks`, :mod:`.carry`)
- spectrogram: ``spec_shard``, ``spec_row`` (where it sits in the store), ``frame_start``, ``frame_end``
  (the token's own interval in spectrogram frames, end exclusive)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from .measure.normalise import NORM_COLUMNS
from .rundir import read_csv

ID_COLUMNS = ["token_id", "file", "textgrid", "speaker", "group", "tier", "interval"]
LABEL_COLUMNS = ["label", "convention", "phone", "ipa", "stress", "kind", "word", "prev_phone", "next_phone"]
TIME_COLUMNS = ["start", "end", "duration_ms"]
FORMANT_COLUMNS = [f"f{k}_{p}" for p in (20, 50, 80) for k in (1, 2, 3)]
MEASURE_COLUMNS = ["f0", *FORMANT_COLUMNS, "b1_50", "b2_50", "b3_50", "ceiling", "formants", "sample_rate", "band_hz"]
SPEC_COLUMNS = ["spec_shard", "spec_row", "frame_start", "frame_end"]
INTENSITY_COLUMNS = ["intensity_db"]
TOKEN_COLUMNS = (
    ID_COLUMNS + LABEL_COLUMNS + TIME_COLUMNS + MEASURE_COLUMNS + INTENSITY_COLUMNS + SPEC_COLUMNS + NORM_COLUMNS
)

NUMERIC_COLUMNS = {
    "interval",
    "start",
    "end",
    "duration_ms",
    *MEASURE_COLUMNS,
    *SPEC_COLUMNS,
    *INTENSITY_COLUMNS,
    *NORM_COLUMNS,
}
_NUMERIC_EXTRA = re.compile(r"f\d_(dct\d+|\d+)$")  # settings-dependent: DCT coefficients, extra points


def token_columns(settings: Any = None) -> list[str]:
    """The columns of ``tokens.csv`` for these settings: :data:`TOKEN_COLUMNS` plus DCT, extra-point and carried-tier
    columns (``settings`` a :class:`vowelcam.config.Settings`; None = the fixed columns only)."""
    if settings is None:
        return list(TOKEN_COLUMNS)
    from .measure.tracks import extra_token_columns

    return TOKEN_COLUMNS + extra_token_columns(settings.measure, settings.corpus.carry_tiers)


def read_tokens(path: str | Path) -> list[dict[str, Any]]:
    """Read ``tokens.csv`` with numeric columns as floats (NaN when empty) and spec indices as ints."""
    rows = read_csv(path)
    numeric = NUMERIC_COLUMNS | {c for c in (rows[0] if rows else {}) if _NUMERIC_EXTRA.match(c)}
    for row in rows:
        for col in numeric & row.keys():
            row[col] = _num(row[col])
        for col in ("spec_shard", "spec_row", "frame_start", "frame_end", "interval"):
            if col in row and row[col] == row[col]:
                row[col] = int(row[col])
    return rows


def column(rows: list[dict[str, Any]], name: str) -> np.ndarray:
    """One numeric column as a float array (NaN where missing)."""
    return np.array([float(r[name]) if r.get(name) not in ("", None) else np.nan for r in rows], dtype=float)


def _num(text: str) -> float:
    if text == "" or text is None:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return float("nan")
