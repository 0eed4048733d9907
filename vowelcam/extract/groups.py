"""Estimate the group (men / women / children) of speakers whose group nobody gave, from F0 and formant spacing.

Groups choose Praat's formant ceiling and the reference formants a token is compared with. When neither the
speaker-pattern, a ``--speaker-groups`` map nor a folder name says who is speaking, up to ``MAX_TOKENS`` of the
speaker's vowels are measured (F0, and F1–F3 with a coarse ceiling search: ``ESTIMATE_STEPS`` ceilings within
+-``ESTIMATE_SPAN`` of the unknown-group centre, 4500–7500 Hz, under half the cost of the full unknown-group
search; one fixed ceiling would be cheaper still but pulls a child's F3 down towards a woman's). F0 alone cannot
separate women from children (Hillenbrand et al. 1995: women ~220 Hz, children ~235 Hz), but children's shorter
vocal tracts raise their formants, F3 most reliably (it moves least from vowel to vowel: women ~2850 Hz,
children ~3170 Hz).

The decision is a linear discriminant on (log median F0, log median F3) with equal priors, fitted on the
published per-speaker values of Peterson & Barney (1952) and Hillenbrand et al. (1995) (``data/reference_formants``:
215 speakers; resubstitution accuracy men 76/78, women 66/76, children 47/61). F3 rather than a formant spacing
fitted to F1–F3: the spacing follows the vowel mix (an /i/-rich sample of read speech looked like a child's),
F3 does not. ``speakers.csv`` shows the evidence: median F0 and F1–F3, the formant spacing ``dF`` fitted as
``F_k = (k - 1/2) dF`` with the vocal-tract length ``c / (2 dF)`` it implies (shown, not used), and the
posterior of the chosen group. A speaker without a measurable F3 falls back to F0 alone (men below 160 Hz, else
women) and says so in ``source``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from ..acoustics import praat
from ..acoustics.audio import read_segment
from ..config import Settings
from ..corpus.speakers import SpeakerResolver
from ..errors import DataProblem
from ..tokens import GROUPS

MAX_TOKENS = 24
MEN_BELOW_HZ = 160.0  # F0-only fallback: between men's and women's mean F0 (Peterson & Barney 1952: 132 / 223 Hz)
SOUND_SPEED_CM_S = 35000.0
ESTIMATE_STEPS, ESTIMATE_SPAN = 5, 0.25
# (log F0, log F3) class means and pooled covariance, per-speaker medians of PB52 + H95 (see module docstring)
_MEANS = np.array([[4.85771, 7.81419], [5.39287, 7.95622], [5.48764, 8.06361]])
_COVARIANCE = np.array([[0.0141082, 0.00099366], [0.00099366, 0.00348009]])
_HALF_ODD = np.array([0.5, 1.5, 2.5])


@dataclass(frozen=True)
class GroupEstimate:
    """One speaker's group, where it came from, and the evidence it rests on (NaN where not measured)."""

    speaker: str
    group: str
    source: str  # f0+f3 / f0 / unknown (given groups are written by the caller)
    median_f0: float
    n_tokens: int
    median_f1: float = math.nan
    median_f2: float = math.nan
    median_f3: float = math.nan
    formant_spacing_hz: float = math.nan
    vtl_cm: float = math.nan
    posterior: float = math.nan  # probability of the chosen group under the discriminant


TokenKey = tuple[str, str, int]  # (file relative to the corpus, tier, interval)


def estimate_groups(
    plans: list, settings: Settings, resolver: SpeakerResolver, f0_out: dict[TokenKey, float] | None = None
) -> dict[str, GroupEstimate]:
    """Groups of the speakers in ``plans`` (FilePlans) whose group is not given, from their vowels.

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
    return {
        speaker: _estimate(speaker, tokens, settings, resolver.ceiling(speaker), f0_out)
        for speaker, tokens in candidates.items()
    }


def _estimate(
    speaker: str, tokens: list[tuple], settings: Settings, ceiling: float | None, f0_out: dict[TokenKey, float]
) -> GroupEstimate:
    f0s, formants = [], []
    quick = replace(settings.measure, ceiling_steps_unknown=ESTIMATE_STEPS, ceiling_span_unknown=ESTIMATE_SPAN)
    for plan, spec in tokens:
        try:
            samples, seg_start = read_segment(plan.info, spec.start - 0.1, spec.end + 0.1)
        except DataProblem:
            continue
        sr, start, end = plan.info.sample_rate, spec.start - seg_start, spec.end - seg_start
        f0 = praat.median_f0(samples, sr, start, end, settings.measure)
        f0_out[(plan.pair.rel, spec.tier, spec.interval)] = f0
        if math.isnan(f0):
            continue
        f0s.append(f0)
        values = praat.measure_token(samples, sr, start, end, None, quick, f0=f0, ceiling=ceiling)
        formants.append([values["f1_50"], values["f2_50"], values["f3_50"]])
    if not f0s:
        return GroupEstimate(speaker, "", "unknown", math.nan, 0)
    return decide(speaker, np.array(f0s), np.array(formants, dtype=float).reshape(-1, 3))


def formant_spacing(formants: np.ndarray) -> np.ndarray:
    """Per token (rows of F1–F3, NaN allowed): the least-squares ``dF`` of ``F_k = (k - 1/2) dF``."""
    finite = np.isfinite(formants)
    weights = np.where(finite, _HALF_ODD, 0.0)
    denominator = np.square(weights).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, np.nansum(formants * weights, axis=1) / denominator, np.nan)


def decide(speaker: str, f0s: np.ndarray, formants: np.ndarray) -> GroupEstimate:
    """The group from per-token F0 (Hz) and F1–F3 (``[tokens, 3]`` Hz, NaN allowed), with its evidence."""
    median_f0 = float(np.median(f0s))
    formants = formants.reshape(-1, 3)
    medians = [float(np.median(col[np.isfinite(col)])) if np.isfinite(col).any() else math.nan for col in formants.T]
    spacing = formant_spacing(formants)
    spacing = spacing[np.isfinite(spacing)]
    d_f = float(np.median(spacing)) if spacing.size else math.nan
    evidence = dict(formant_spacing_hz=d_f, vtl_cm=SOUND_SPEED_CM_S / (2 * d_f))
    if math.isnan(medians[2]):
        group = "men" if median_f0 < MEN_BELOW_HZ else "women"
        return GroupEstimate(speaker, group, "f0", median_f0, len(f0s), *medians, **evidence)
    posterior = group_posteriors(median_f0, medians[2])
    best = int(np.argmax(posterior))
    return GroupEstimate(
        speaker, GROUPS[best], "f0+f3", median_f0, len(f0s), *medians, **evidence, posterior=float(posterior[best])
    )


def group_posteriors(f0: float, f3: float) -> np.ndarray:
    """P(men, women, children | median F0, median F3) under the discriminant, equal priors."""
    x = np.array([math.log(f0), math.log(f3)])
    inverse = np.linalg.inv(_COVARIANCE)
    distances = np.array([(x - m) @ inverse @ (x - m) for m in _MEANS])
    likelihood = np.exp(-0.5 * (distances - distances.min()))
    return likelihood / likelihood.sum()
