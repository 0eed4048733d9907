"""Synthetic speakers and their vowel tokens, drawn from published means and spreads.

A speaker belongs to a group (men, women, children) and gets a vocal-tract scaling of the group's mean
formants (one factor per formant around one shared factor), a mean F0, a speaking rate, a source brightness,
a spectral tilt and an F1 bandwidth. Each vowel token then varies around the speaker's targets with the
part of the published spread that speaker differences do not explain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..corpus.published_formants import HILLENBRAND_VOWELS, ReferenceTable
from ..tokens import GROUPS
from .lexicon import OFFGLIDES

# F4-F6 as multiples of the group's mean F3 (over vowels): F4 = 1.41 x mean F3 matches the men's mean F4 of
# Hillenbrand et al. (1995); F5 and F6 keep five formants below the usual LPC ceilings (5000/5500/6000 Hz).
HIGHER_FORMANT_RATIOS = (1.41, 1.76, 2.15)
JITTER_STEP = 0.008  # seconds between F0 perturbation points
SPEAKER_PREFIX = {"men": "m", "women": "w", "children": "c"}


@dataclass(frozen=True)
class SynthSettings:
    """Settings of the synthetic corpus (the ``vowelcam synth`` flags).

    ``f0_scale_*`` lower the published mean F0 of a group and ``max_f0_f1_ratio`` caps F0 relative to the
    token's F1 target: LPC formant measurement is pulled towards harmonics when F0 is high relative to F1,
    and the synthetic corpus must stay measurable within 5 %.
    """

    seed: int = 1
    speakers_per_group: int = 3
    tokens_per_vowel: int = 2  # the first token of each vowel is an hVd word, the rest are CVC words
    words_per_utterance: int = 3
    vowels: tuple[str, ...] = HILLENBRAND_VOWELS
    groups: tuple[str, ...] = GROUPS
    reference: str = "h95"
    sample_rate: int = 16000
    f0_scale_men: float = 1.0
    f0_scale_women: float = 0.8
    f0_scale_children: float = 0.75
    max_f0_f1_ratio: float = 0.3
    speaker_formant_sd: float = 0.05  # log-SD of the shared vocal-tract factor
    snr_db: tuple[float, float] = (30.0, 45.0)
    breathiness_db: tuple[float, float] = (-42.0, -32.0)  # aspiration noise in vowels, re the voicing amplitude
    jitter: float = 0.01  # relative SD of F0 perturbations every JITTER_STEP seconds
    peak_dbfs: tuple[float, float] = (-12.0, -3.0)
    cue: str = ""  # '' = natural vowels; f1 | f2 | f3 | duration | f0 = classes differ in that cue only (synth.cues)


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker's voice."""

    speaker: str
    group: str
    formant_scale: tuple[float, float, float, float]  # multiplies the group means of F1–F4
    locus_scale: float  # multiplies adult-male consonant loci and frication formants
    f0_base: float  # Hz, before each vowel's intrinsic F0 ratio
    rate: float  # duration factor (> 1 = slower)
    brightness: float  # first-difference coefficient applied to the output (source spectral slope)
    tilt_db: float  # KlattGrid spectral tilt (attenuation at 3 kHz)
    b1_hz: float  # F1 bandwidth
    breathiness_db: float  # aspiration in vowels relative to voicing (dB)


@dataclass(frozen=True)
class VowelToken:
    """The acoustic targets of one vowel token at its midpoint."""

    vowel: str
    formants: tuple[float, ...]  # F1–F6 in Hz at 50 %
    bandwidths: tuple[float, ...]  # B1–B6 in Hz
    offglide: tuple[float, float]  # relative change of F1, F2 from 50 % to 80 %
    f0: tuple[float, float, float]  # start, mid, end in Hz
    f0_jitter: tuple[float, ...]  # relative F0 perturbations, one every JITTER_STEP s inside the vowel
    duration: float  # seconds
    level_db: float  # voicing amplitude in dB


def group_means(reference: ReferenceTable, group: str, vowels: tuple[str, ...]) -> dict[str, float]:
    """Mean over vowels of the group's mean F0 and F1–F3 (for speaker scaling)."""
    cells = [reference[(v, group)] for v in vowels if (v, group) in reference]
    return {k: float(np.mean([c[f"{k}_mean"] for c in cells])) for k in ("f0", "f1", "f2", "f3")}


def draw_speakers(settings: SynthSettings, reference: ReferenceTable, rng: np.random.Generator) -> list[Speaker]:
    """Draw ``speakers_per_group`` speakers of each group (ids m01, w01, c01, ...)."""
    men = group_means(reference, "men", settings.vowels)
    speakers = []
    for group in settings.groups:
        means = group_means(reference, group, settings.vowels)
        locus = (means["f2"] + means["f3"]) / (men["f2"] + men["f3"])
        f0_sd = _mean_relative_sd(reference, group, settings.vowels, "f0")
        for index in range(1, settings.speakers_per_group + 1):
            shared = math.exp(rng.normal(0.0, settings.speaker_formant_sd))
            scale = tuple(float(shared * math.exp(rng.normal(0.0, 0.02))) for _ in range(4))
            speakers.append(
                Speaker(
                    speaker=f"{SPEAKER_PREFIX.get(group, group[:1])}{index:02d}",
                    group=group,
                    formant_scale=scale,  # type: ignore[arg-type]
                    locus_scale=float(locus * shared),
                    f0_base=float(means["f0"] * _f0_scale(settings, group) * math.exp(rng.normal(0.0, f0_sd))),
                    rate=float(math.exp(rng.normal(0.0, 0.12))),
                    brightness=float(rng.uniform(0.4, 0.55)),
                    tilt_db=float(rng.uniform(0.0, 3.0)),
                    b1_hz=float(rng.uniform(60.0, 100.0)),
                    breathiness_db=float(rng.uniform(*settings.breathiness_db)),
                )
            )
    return speakers


def draw_vowel(
    speaker: Speaker,
    vowel: str,
    reference: ReferenceTable,
    settings: SynthSettings,
    rng: np.random.Generator,
    duration_factor: float = 1.0,
) -> VowelToken:
    """Draw one token of ``vowel`` for ``speaker``: formant targets, bandwidths, F0 contour, duration."""
    cell = reference[(vowel, speaker.group)]
    formants = [
        cell[f"f{i}_mean"] * speaker.formant_scale[i - 1] * math.exp(rng.normal(0.0, _token_sd(cell, i, settings)))
        for i in (1, 2, 3)
    ]
    formants[1] = max(formants[1], formants[0] + 250.0)
    formants[2] = max(formants[2], formants[1] + 250.0)
    mean_f3 = group_means(reference, speaker.group, settings.vowels)["f3"] * speaker.formant_scale[3]
    for ratio, gap in zip(HIGHER_FORMANT_RATIOS, (400.0, 600.0, 600.0)):
        formants.append(max(ratio * mean_f3, formants[-1] + gap))
    bandwidths = (
        speaker.b1_hz * math.exp(rng.normal(0, 0.1)),
        90.0 + 0.02 * formants[1],
        120.0 + 0.02 * formants[2],
        250.0,
        300.0,
        400.0,
    )
    glide = (0.0, 0.0) if settings.cue else OFFGLIDES.get(vowel, (0.0, 0.0))
    offglide = (glide[0] + rng.normal(0, 0.015), glide[1] + rng.normal(0, 0.015))
    duration = max(
        0.08, cell.get("dur_mean", 250.0) / 1000.0 * speaker.rate * duration_factor * math.exp(rng.normal(0.0, 0.1))
    )
    return VowelToken(
        vowel=vowel,
        formants=tuple(formants),
        bandwidths=bandwidths,
        offglide=offglide,
        f0=_f0_contour(speaker, cell, formants[0], reference, settings, rng),
        f0_jitter=tuple(float(j) for j in rng.normal(0.0, settings.jitter, int(duration / JITTER_STEP))),
        duration=duration,
        level_db=float(rng.normal(90.0, 2.0)),
    )


def _f0_contour(
    speaker: Speaker,
    cell: dict[str, float],
    f1: float,
    reference: ReferenceTable,
    settings: SynthSettings,
    rng: np.random.Generator,
) -> tuple[float, float, float]:
    intrinsic = cell["f0_mean"] / group_means(reference, speaker.group, settings.vowels)["f0"]
    mid = speaker.f0_base * intrinsic * math.exp(rng.normal(0.0, 0.05))
    shapes = ((0.06, -0.10), (-0.04, -0.14), (0.0, 0.0), (-0.06, 0.08), (0.10, -0.04))
    rise, fall = shapes[int(rng.integers(len(shapes)))]
    contour = [mid * (1 + rise + rng.normal(0, 0.02)), mid, mid * (1 + fall + rng.normal(0, 0.02))]
    cap = settings.max_f0_f1_ratio * f1
    return tuple(float(min(f, cap)) for f in contour)  # type: ignore[return-value]


def _token_sd(cell: dict[str, float], formant: int, settings: SynthSettings) -> float:
    relative = cell[f"f{formant}_sd"] / cell[f"f{formant}_mean"]
    return math.sqrt(max(relative**2 - settings.speaker_formant_sd**2, 0.02**2))


def _mean_relative_sd(reference: ReferenceTable, group: str, vowels: tuple[str, ...], measure: str) -> float:
    cells = [reference[(v, group)] for v in vowels if (v, group) in reference]
    return float(np.mean([c[f"{measure}_sd"] / c[f"{measure}_mean"] for c in cells]))


def _f0_scale(settings: SynthSettings, group: str) -> float:
    return float(getattr(settings, f"f0_scale_{group}", 1.0))
