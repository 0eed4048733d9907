"""Estimate the group (men / women) of speakers whose group nobody gave, from the median F0 of their vowels.

Groups choose Praat's formant ceiling and the reference formants a token is compared with. When neither the
speaker-pattern, a ``--speaker-groups`` map nor a folder name says who is speaking, the median F0 of up to
``MAX_TOKENS`` of the speaker's vowels decides: below ``MEN_BELOW_HZ`` men, else women. F0 cannot separate
women from children (their F0 ranges overlap; Hillenbrand et al. 1995: women ≈ 220 Hz, children ≈ 235 Hz), so
children must be named in a group map; the measurement's ceiling search covers the rest.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..acoustics import praat
from ..acoustics.audio import read_segment
from ..config import Settings
from ..corpus.speakers import SpeakerResolver
from ..errors import DataProblem

MAX_TOKENS = 12
MEN_BELOW_HZ = 160.0  # between men's and women's mean F0 (Peterson & Barney 1952: 132 / 223 Hz)


@dataclass(frozen=True)
class GroupEstimate:
    """One speaker's group and where it came from."""

    speaker: str
    group: str
    source: str  # map / pattern / folder / f0 / unknown
    median_f0: float
    n_tokens: int


TokenKey = tuple[str, str, int]  # (file relative to the corpus, tier, interval)


def estimate_groups(plans: list, settings: Settings, resolver: SpeakerResolver,
                    f0_out: dict[TokenKey, float] | None = None) -> dict[str, GroupEstimate]:
    """Groups of the speakers in ``plans`` (FilePlans) whose group is not given, from their vowels' F0.

    Every F0 measured on the way is stored in ``f0_out`` (when given), so the token's measurement can reuse it.
    """
    candidates: dict[str, list[tuple]] = defaultdict(list)
    for plan in plans:
        for spec in plan.specs:
            if spec.kind != "vowel":
                continue
            speaker, group = resolver.resolve(plan.pair.rel, spec.tier_speaker)
            if not group and len(candidates[speaker]) < MAX_TOKENS:
                candidates[speaker].append((plan, spec))
    f0_out = {} if f0_out is None else f0_out
    return {speaker: _estimate(speaker, tokens, settings, f0_out) for speaker, tokens in candidates.items()}


def _estimate(speaker: str, tokens: list[tuple], settings: Settings, f0_out: dict[TokenKey, float]) -> GroupEstimate:
    f0s = []
    for plan, spec in tokens:
        try:
            samples, seg_start = read_segment(plan.info, spec.start - 0.05, spec.end + 0.05)
        except DataProblem:
            continue
        f0 = praat.median_f0(samples, plan.info.sample_rate, spec.start - seg_start, spec.end - seg_start,
                             settings.measure)
        f0_out[(plan.pair.rel, spec.tier, spec.interval)] = f0
        if not math.isnan(f0):
            f0s.append(f0)
    if not f0s:
        return GroupEstimate(speaker, "", "unknown", math.nan, 0)
    median = float(np.median(f0s))
    return GroupEstimate(speaker, "men" if median < MEN_BELOW_HZ else "women", "f0", median, len(f0s))
