"""Per-speaker formant normalisation of F1–F3 in ``tokens.csv``, with every normaliser of
:data:`vowelcam.measure.formant_normalisers.NORMALISERS` (Lobanov z-scores and Nearey log-mean).

Raw Hz pools vocal tracts of different lengths (men, women, children); normalisation removes a speaker's own
scale. Constants are computed per speaker over that speaker's **vowel tokens** (``kind == "vowel"``) from the
50 % values, and applied to the 20, 50 and 80 % values alike, so trajectories stay comparable. The normalisers
assume each speaker produced a similar set of vowels; a speaker recorded on a few vowel classes only is
normalised towards those classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..rundir import as_float
from ..tokens import FIXED_POINTS, FORMANTS, NORMALISED_COLUMNS, normalised_column
from .formant_normalisers import NORMALISERS, FormantNormaliser


def _all_normalisers() -> dict[str, FormantNormaliser]:
    return {name: cls() for name, cls in NORMALISERS.items()}


@dataclass
class SpeakerScale:
    """One speaker's normalisers, fed with that speaker's vowel tokens."""

    normalisers: dict[str, FormantNormaliser] = field(default_factory=_all_normalisers)

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one token's 50 % values."""
        midpoint = [as_float(row.get(f"f{k}_50")) for k in FORMANTS]
        for normaliser in self.normalisers.values():
            normaliser.add(midpoint)


def speaker_scales(rows: Iterable[Mapping[str, Any]]) -> dict[str, SpeakerScale]:
    """One :class:`SpeakerScale` per speaker, over the vowel tokens of ``rows`` (streamed)."""
    scales: dict[str, SpeakerScale] = {}
    for row in rows:
        if row.get("kind", "vowel") == "vowel":
            scales.setdefault(str(row.get("speaker", "")), SpeakerScale()).add(row)
    return scales


def normalised(row: Mapping[str, Any], scale: SpeakerScale | None) -> dict[str, float]:
    """The :data:`~vowelcam.tokens.NORMALISED_COLUMNS` of one token (NaN for consonants, missing values and
    small speakers)."""
    out = dict.fromkeys(NORMALISED_COLUMNS, math.nan)
    if scale is None or row.get("kind", "vowel") != "vowel":
        return out
    for i, k in enumerate(FORMANTS):
        for p in FIXED_POINTS:
            v = as_float(row.get(f"f{k}_{p}"))
            if v == v and v > 0:
                for name, normaliser in scale.normalisers.items():
                    out[normalised_column(k, p, name)] = normaliser.scale(i, v)
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
