"""Formant normalisers, registered by name: each removes a speaker's own vocal-tract scale from F1–F3.

A normaliser is one small class: it is fed a speaker's vowel tokens (their F1–F3 at 50 %, in Hz, NaN where not
measured) and then scales any formant value of that speaker. :data:`NORMALISERS` lists them in column order;
``tokens.csv`` has one column ``f<k>_<p>_<name>`` per normaliser, formant and measurement point (see
:mod:`vowelcam.tokens`), filled by :mod:`vowelcam.measure.speaker_normalisation`. To add one, write a subclass
here and decorate it with :func:`register`. :data:`REPORTED` is the one the report draws.

A speaker with fewer than :data:`MIN_TOKENS` usable tokens gets NaN: constants from a handful of tokens would
depend on which vowels they happened to be.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

MIN_TOKENS = 5


class FormantNormaliser(ABC):
    """One speaker's normalisation constants, gathered token by token."""

    name: ClassVar[str]  # the column suffix in tokens.csv
    title: ClassVar[str]  # how the report names it (e.g. "Lobanov")
    unit: ClassVar[str]  # the unit of its values (e.g. "z")
    description: ClassVar[str]  # what its values are, for a figure caption (trusted text: may hold HTML)

    @abstractmethod
    def add(self, midpoint: Sequence[float]) -> None:
        """Count one vowel token's F1, F2, F3 at 50 % (Hz, NaN where missing)."""

    @abstractmethod
    def scale(self, formant: int, hz: float) -> float:
        """The normalised value of a measured (positive) ``hz`` of formant index ``formant`` (0 = F1)."""


NORMALISERS: dict[str, type[FormantNormaliser]] = {}


def register(cls: type[FormantNormaliser]) -> type[FormantNormaliser]:
    """Class decorator: add a normaliser to :data:`NORMALISERS` under its ``name``."""
    NORMALISERS[cls.name] = cls
    return cls


def _measured(value: float) -> bool:
    return value == value and value > 0


@register
class Lobanov(FormantNormaliser):
    """Lobanov (1971) z-scores: ``(fK - mean_K) / sd_K`` with the speaker's mean and sample SD of ``fK_50`` over
    their vowel tokens with a measured ``fK_50``. Unitless."""

    name, title, unit = "lobanov", "Lobanov", "z"
    description = (
        "Lobanov z-scores (each speaker's formants minus their mean, divided by\n  their SD, over their vowel tokens)"
    )

    def __init__(self) -> None:
        self.n = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.squares = [0.0, 0.0, 0.0]

    def add(self, midpoint: Sequence[float]) -> None:
        for i, v in enumerate(midpoint):
            if _measured(v):
                self.n[i] += 1
                self.total[i] += v
                self.squares[i] += v * v

    def mean_sd(self, i: int) -> tuple[float, float]:
        """Mean and sample SD of formant ``i + 1`` (NaN when fewer than MIN_TOKENS)."""
        n = self.n[i]
        if n < MIN_TOKENS:
            return math.nan, math.nan
        mean = self.total[i] / n
        var = max(self.squares[i] - n * mean * mean, 0.0) / (n - 1)
        return mean, math.sqrt(var)

    def scale(self, formant: int, hz: float) -> float:
        mean, sd = self.mean_sd(formant)
        return (hz - mean) / sd if sd > 0 else math.nan


@register
class Nearey(FormantNormaliser):
    """Nearey (1978) log-mean, the formant-extrinsic "Nearey 2" variant (as phonTools/tidynorm's ``nearey``):
    ``ln(fK) - G`` with ``G`` the speaker's mean of ``(ln f1_50 + ln f2_50 + ln f3_50) / 3`` over their vowel
    tokens with all three measured. Natural-log units (0.1 ≈ 10 % above the speaker's mean)."""

    name, title, unit = "nearey", "Nearey", "ln"
    description = "Nearey log-means (each formant's natural log minus the speaker's mean of ln F1–F3)"

    def __init__(self) -> None:
        self.n_log = 0
        self.log_total = 0.0

    def add(self, midpoint: Sequence[float]) -> None:
        if all(_measured(v) for v in midpoint):
            self.n_log += 1
            self.log_total += sum(math.log(v) for v in midpoint) / len(midpoint)

    @property
    def log_mean(self) -> float:
        """The speaker's grand mean of ln F1–F3 (NaN when fewer than MIN_TOKENS)."""
        return self.log_total / self.n_log if self.n_log >= MIN_TOKENS else math.nan

    def scale(self, formant: int, hz: float) -> float:
        return math.log(hz) - self.log_mean


REPORTED = Lobanov
