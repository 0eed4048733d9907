"""Turn a TextGrid's tier groups into token specifications: which intervals become tokens, with context.

A token is a vowel of the chosen set (or an unvoiced consonant P T K CH F TH S SH HH when asked), passing the
stress and minimum-duration filters. Unknown labels are returned as problems (one per file, tier and label,
with the count), never dropped silently.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..config import LabelSettings
from ..errors import DataProblem
from .labels import UNVOICED, LabelMap, detect_convention, load_convention, vowel_set
from .textgrids import Interval, TextGrid, Tier
from .tiers import TierGroup

STRESS_FILTERS = {"any": None, "stressed": {"1", "2"}, "primary": {"1"}, "unstressed": {"0"}}


@dataclass(frozen=True)
class TokenSpec:
    """Everything about a token that the label file tells."""

    tier: str
    interval: int
    label: str
    convention: str
    phone: str
    ipa: str
    stress: str
    kind: str  # vowel | unvoiced
    word: str
    prev_phone: str
    next_phone: str
    start: float
    end: float
    tier_speaker: str


def convention_for(settings: LabelSettings, grid: TextGrid, groups: list[TierGroup]) -> LabelMap:
    """The configured convention, or the one that knows most labels of this file."""
    if settings.convention != "auto":
        return load_convention(settings.convention)
    return detect_convention(iv.text for g in groups for iv in g.phones.intervals)


def select_tokens(
    grid: TextGrid, groups: list[TierGroup], settings: LabelSettings
) -> tuple[list[TokenSpec], list[DataProblem]]:
    """Token specs of all tier groups of one file, plus problems (unknown labels, reversed/empty intervals)."""
    if settings.stress not in STRESS_FILTERS:
        raise ValueError(f"stress filter must be one of {', '.join(STRESS_FILTERS)}")
    labels = convention_for(settings, grid, groups)
    vowels = None if settings.vowel_set == "all" else set(vowel_set(settings.vowel_set, labels.classes))
    specs: list[TokenSpec] = []
    problems: list[DataProblem] = []
    for group in groups:
        tier_specs, unknown, zero_length = _tier_tokens(group, labels, vowels, settings)
        specs.extend(tier_specs)
        problems.extend(_interval_problems(grid.path, group, zero_length))
        for label, (count, first) in unknown.items():
            problems.append(
                DataProblem(
                    grid.path,
                    "unknown label",
                    f"{label!r} x{count} (convention {labels.name})",
                    group.phones.name,
                    str(first),
                )
            )
    return specs, problems


def _interval_problems(path: Path, group: TierGroup, zero_length: list[Interval]) -> list[DataProblem]:
    """A problem row for each reversed interval of the group's tiers and each zero-length token interval: that
    interval is skipped, the rest of the file is not."""
    problems = []
    for tier in (group.words, group.phones):
        for iv in tier.intervals if tier is not None and not tier.is_point else ():
            if iv.end < iv.start:
                where = f"{iv.start:g}..{iv.end:g} s, label {iv.text!r}; fix it in Praat"
                problems.append(DataProblem(path, "interval ends before it starts", where, tier.name, str(iv.index)))
    for iv in zero_length:
        where = f"at {iv.start:g} s, label {iv.text!r}"
        problems.append(DataProblem(path, "zero-length interval", where, group.phones.name, str(iv.index)))
    return problems


def _tier_tokens(group: TierGroup, labels: LabelMap, vowels: set[str] | None, settings: LabelSettings):
    """Token specs of one tier group, unknown labels and the zero-length intervals that would have been tokens;
    ``vowels`` None = every vowel class the label map knows."""
    phones = group.phones.intervals
    infos = [labels.lookup(iv.text) for iv in phones]
    unknown: dict[str, list[int]] = {}
    counts: Counter[str] = Counter()
    specs, zero_length = [], []
    stress_ok = STRESS_FILTERS[settings.stress]
    word_at = WordLookup(group.words)
    for i, (iv, info) in enumerate(zip(phones, infos)):
        if not info.known:
            counts[iv.text] += 1
            unknown.setdefault(iv.text, [iv.index])
            continue
        phone = info.phone
        is_vowel = phone.kind == "vowel" and (vowels is None or phone.phone in vowels)
        is_unvoiced = settings.include_unvoiced and (
            phone.phone in UNVOICED
            or (phone.phone in labels.classes and phone.kind == "consonant" and phone.voicing == "unvoiced")
        )
        if not (is_vowel or is_unvoiced) or iv.duration < 0:  # reversed: reported by _interval_problems
            continue
        if iv.duration == 0:
            zero_length.append(iv)
            continue
        if is_vowel and stress_ok is not None and info.stress not in stress_ok:
            continue
        if iv.duration * 1000 < settings.min_duration_ms:
            continue
        specs.append(
            TokenSpec(
                tier=group.phones.name,
                interval=iv.index,
                label=iv.text,
                convention=labels.name,
                phone=phone.phone,
                ipa=phone.ipa,
                stress=info.stress,
                kind="vowel" if is_vowel else "unvoiced",
                word=word_at(iv),
                prev_phone=_neighbour(infos, i - 1),
                next_phone=_neighbour(infos, i + 1),
                start=iv.start,
                end=iv.end,
                tier_speaker=group.speaker,
            )
        )
    return specs, {label: (counts[label], first[0]) for label, first in unknown.items()}, zero_length


def _neighbour(infos, i: int) -> str:
    if i < 0 or i >= len(infos):
        return "SIL"
    info = infos[i]
    return info.phone.phone if info.known else info.label


class WordLookup:
    """The word whose interval holds a phone's midpoint: the first such interval of the word tier, found by
    bisection when the tier is in order (starts ascending, no overlap), else by a scan; "" when none holds it."""

    def __init__(self, words: Tier | None) -> None:
        self.intervals = words.intervals if words is not None else []
        self.starts = [w.start for w in self.intervals]
        pairs = zip(self.intervals, self.intervals[1:])
        self.ordered = all(a.start <= b.start and a.end <= b.start for a, b in pairs)

    def __call__(self, iv: Interval) -> str:
        mid = (iv.start + iv.end) / 2
        if not self.ordered:
            return next((w.text for w in self.intervals if w.start <= mid < w.end), "")
        i = bisect.bisect_right(self.starts, mid) - 1
        return self.intervals[i].text if i >= 0 and mid < self.intervals[i].end else ""
