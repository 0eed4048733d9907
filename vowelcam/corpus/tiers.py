"""Find the phone (and word) tiers of a TextGrid, and the speaker each tier group belongs to.

Layouts understood: MFA ``words``/``phones``; ``word``/``phone``; speaker groups ``<speaker> - words`` /
``<speaker> - phones`` (each group = one speaker); a lone interval tier holding phones. Flags override.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DataProblem
from .textgrids import TextGrid, Tier

PHONE_NAMES = ("phones", "phone", "phoneme", "phonemes", "segments", "segment", "phn", "phonetic")
WORD_NAMES = ("words", "word", "wrd", "orthography", "ortho")
_GROUP = re.compile(r"^(?P<speaker>.+?)\s*[-–:]\s*(?P<kind>[A-Za-z]+)$")


@dataclass(frozen=True)
class TierGroup:
    """A phone tier, its word tier (or None) and the speaker named by the tier group ('' if none)."""

    phones: Tier
    words: Tier | None
    speaker: str


def find_tier_groups(grid: TextGrid, phones_tier: str = "", words_tier: str = "") -> list[TierGroup]:
    """The tier groups of ``grid``; raises DataProblem('missing tier') naming the file when none is found."""
    tiers = grid.interval_tiers
    if phones_tier:
        phones = grid.tier(phones_tier)
        if phones is None or phones.is_point:
            names = ", ".join(repr(t.name) for t in grid.tiers)
            raise DataProblem(
                grid.path, "missing tier", f"no interval tier {phones_tier!r}; tiers are {names}", phones_tier
            )
        words = grid.tier(words_tier) if words_tier else _plain(tiers, WORD_NAMES)
        return [TierGroup(phones, words, "")]
    groups = _speaker_groups(tiers)
    if groups:
        return groups
    phones = _plain(tiers, PHONE_NAMES)
    if phones is None and len(tiers) == 1:
        phones = tiers[0]  # a single interval tier: take it as the phone tier
    if phones is None:
        names = ", ".join(repr(t.name) for t in grid.tiers) or "none"
        raise DataProblem(grid.path, "missing tier", f"no phone tier found (tiers: {names}); use --phones-tier")
    words = grid.tier(words_tier) if words_tier else _plain(tiers, WORD_NAMES)
    return [TierGroup(phones, words, "")]


def _plain(tiers: list[Tier], names: tuple[str, ...]) -> Tier | None:
    for name in names:
        for tier in tiers:
            if tier.name.strip().lower() == name:
                return tier
    return None


def _speaker_groups(tiers: list[Tier]) -> list[TierGroup]:
    """``Speaker - phones`` / ``Speaker - words`` pairs, in file order."""
    phones: dict[str, Tier] = {}
    words: dict[str, Tier] = {}
    for tier in tiers:
        match = _GROUP.match(tier.name.strip())
        if not match:
            continue
        kind = match.group("kind").lower()
        if kind in PHONE_NAMES:
            phones.setdefault(match.group("speaker"), tier)
        elif kind in WORD_NAMES:
            words.setdefault(match.group("speaker"), tier)
    return [TierGroup(tier, words.get(spk), spk) for spk, tier in phones.items()]
