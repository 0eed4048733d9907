"""Per-speaker vowel normalisation of F1–F3: Lobanov (1971) z-scores and Nearey (1978) log-mean.

Raw Hz pools vocal tracts of different lengths (men, women, children); both methods remove a speaker's own scale.
They are computed per speaker over that speaker's **vowel tokens** (``kind == "vowel"``), from the 50 % values:

- **Lobanov**: ``fK_P_lobanov = (fK_P - mean_K) / sd_K`` where ``mean_K`` and ``sd_K`` (sample SD) are the
  speaker's mean and SD of ``fK_50`` over their vowel tokens with a measured ``fK_50``. Unitless.
- **Nearey** (log-mean, the formant-extrinsic "Nearey 2" variant, as phonTools/tidynorm's ``nearey``):
  ``fK_P_nearey = ln(fK_P) - G`` where ``G`` is the speaker's mean of ``(ln f1_50 + ln f2_50 + ln f3_50) / 3`` over
  their vowel tokens with all three measured. In natural-log units (0.1 ≈ 10 % above the speaker's mean).

The same speaker constants are applied to the 20, 50 and 80 % values (``P``), so trajectories stay comparable.
A speaker with fewer than :data:`MIN_TOKENS` such tokens gets empty values: a mean and SD from a handful of tokens
would depend on which vowels they happened to be. Both methods assume each speaker produced a similar set of
vowels; a speaker recorded on a few vowel classes only is normalised towards those classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PERCENTS = (20, 50, 80)
FORMANTS = (1, 2, 3)
METHODS = ("lobanov", "nearey")
NORM_COLUMNS = [f"f{k}_{p}_{m}" for m in METHODS for p in PERCENTS for k in FORMANTS]
MIN_TOKENS = 5


@dataclass
class SpeakerScale:
    """Running sums of one speaker's vowel tokens, and the constants they give."""

    n: list[int] = field(default_factory=lambda: [0, 0, 0])
    total: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    squares: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    n_log: int = 0
    log_total: float = 0.0

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one token's 50 % values."""
        values = [_num(row.get(f"f{k}_50")) for k in FORMANTS]
        for i, v in enumerate(values):
            if v == v and v > 0:
                self.n[i] += 1
                self.total[i] += v
                self.squares[i] += v * v
        if all(v == v and v > 0 for v in values):
            self.n_log += 1
            self.log_total += sum(math.log(v) for v in values) / len(values)

    def mean_sd(self, i: int) -> tuple[float, float]:
        """Mean and sample SD of formant ``i + 1`` (NaN when fewer than MIN_TOKENS)."""
        n = self.n[i]
        if n < MIN_TOKENS:
            return math.nan, math.nan
        mean = self.total[i] / n
        var = max(self.squares[i] - n * mean * mean, 0.0) / (n - 1)
        return mean, math.sqrt(var)

    @property
    def log_mean(self) -> float:
        """The speaker's grand mean of ln F1–F3 (NaN when fewer than MIN_TOKENS)."""
        return self.log_total / self.n_log if self.n_log >= MIN_TOKENS else math.nan


def speaker_scales(rows: Iterable[Mapping[str, Any]]) -> dict[str, SpeakerScale]:
    """One :class:`SpeakerScale` per speaker, over the vowel tokens of ``rows`` (streamed)."""
    scales: dict[str, SpeakerScale] = {}
    for row in rows:
        if row.get("kind", "vowel") == "vowel":
            scales.setdefault(str(row.get("speaker", "")), SpeakerScale()).add(row)
    return scales


def normalised(row: Mapping[str, Any], scale: SpeakerScale | None) -> dict[str, float]:
    """The :data:`NORM_COLUMNS` of one token (NaN for consonants, missing values and small speakers)."""
    out = dict.fromkeys(NORM_COLUMNS, math.nan)
    if scale is None or row.get("kind", "vowel") != "vowel":
        return out
    g = scale.log_mean
    for i, k in enumerate(FORMANTS):
        mean, sd = scale.mean_sd(i)
        for p in PERCENTS:
            v = _num(row.get(f"f{k}_{p}"))
            if v == v and v > 0:
                out[f"f{k}_{p}_lobanov"] = (v - mean) / sd if sd > 0 else math.nan
                out[f"f{k}_{p}_nearey"] = math.log(v) - g
    return out


def with_normalised(rows: Callable[[], Iterable[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """The rows of ``rows()`` with the normalised columns added: two passes, so memory stays flat
    (``rows`` is called twice and must give the same rows each time)."""
    scales = speaker_scales(rows())
    for row in rows():
        row.update(normalised(row, scales.get(str(row.get("speaker", "")))))
        yield row


def add_normalised(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of in-memory token rows with the normalised columns (for runs extracted before they existed)."""
    scales = speaker_scales(tokens)
    return [{**t, **normalised(t, scales.get(str(t.get("speaker", ""))))} for t in tokens]


def _num(value: Any) -> float:
    if value is None or value == "":
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
