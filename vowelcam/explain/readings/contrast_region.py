"""Per-token readings of class-discriminative evidence in each formant's *contrast region*.

What an instrument says about a token is read from its **evidence profile**: the evidence for the token's true
class *against its competitor* (the runner-up class, the most probable class other than the true one) along the
frequency axis, summed over the token's frames, positive part only. For a CAM method that is the true-class raw
map minus the runner-up's (for Grad-CAM the map of the logit difference); for band occlusion, the drop of the logit
difference when a band is in-filled. Whatever a map shares between the classes (the energy, a fixed frequency
preference, the run's mean map) cancels in that difference, so a class-agnostic map has no evidence at all.

For formant Fk the **contrast region** is the union of two bands: the token's own Fk (measured at 50 %) and the Fk
of the competitor class (the mean of that class's tokens of the same speaker, else of the run). A discriminative
network may read ER where AH would have its F2 (an absence of energy there), not at ER's own F2; both places are
where the contrast lives. Each band is at least as wide as the instrument's measured resolution. When the regions
of two formants overlap the map cannot tell them apart and neither is read (NaN, ``overlap_fk`` = 1). A formant
whose class means over the run do not differ (by :data:`MIN_FORMANT_CONTRAST`) carries no contrast between the
two classes (and its band does not count as an overlap), so evidence in its region cannot be evidence *of that
formant's contrast* (in a cascade vocal tract a shift of F2 also changes the level around F1 and F3): it is not
read either (``contrast_fk`` < the threshold). Where
formants do differ, a map cannot tell a formant's contrast from another cue read in the same band (a duration cue
read where the vowel's F3 is): that is the causal test's question (:mod:`vowelcam.explain.evidence.causal`).

Read per token and formant (``readings.csv``):

- ``enrich_fk``: share of the evidence mass in the region / share of the axis the region covers (1 = no preference);
- ``enrich_fk_energy``: the same for the **energy control rank-matched** to the evidence: the token's linear power
  profile's ranking with the evidence profile's own values, so it is exactly as peaked as the evidence and differs
  only in where the peaks sit (a flat dB-above-floor control is beaten by any peaked map; this one is not);
- ``enrich_fk_run_mean``: the same for the run's mean evidence profile (unit mass per token, averaged over every
  token and class): the fixed frequency preference of this instrument on this run;
- ``own_share_fk``: the share of the region's evidence that lies in the token's own band rather than the
  competitor's (where both bands overlap, split evenly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...rundir import as_float

FORMANT_NUMBERS = (1, 2, 3)
# A formant carries a contrast between two classes when their means (this speaker's, else the run's) differ by at
# least this fraction: the difference limen for formant frequency is about 3-5 % (Flanagan 1955).
MIN_FORMANT_CONTRAST = 0.05
NO_EVIDENCE_RATIO = 1e-6  # evidence mass below this share of the class map's mass counts as none


def reading_columns() -> list[str]:
    """The columns of ``readings.csv`` after the token's identity columns."""
    cols = ["competitor", "evidence_mass", "evidence_share"]
    for k in FORMANT_NUMBERS:
        cols += [f"region_f{k}_own_hz", f"region_f{k}_competitor_hz", f"contrast_f{k}", f"overlap_f{k}"]
        cols += [f"enrich_f{k}", f"enrich_f{k}_energy", f"enrich_f{k}_run_mean", f"own_share_f{k}"]
    return cols


def positive_profile(profile: np.ndarray) -> np.ndarray:
    """The positive part of an evidence profile (float64)."""
    return np.clip(np.asarray(profile, dtype=np.float64), 0.0, None)


def unit_mass(profile: np.ndarray) -> np.ndarray:
    """``profile`` scaled to sum 1 (zeros stay zeros)."""
    total = float(profile.sum())
    return profile / total if total > 0 else np.zeros_like(profile)


def rank_matched(values_from: np.ndarray, order_from: np.ndarray) -> np.ndarray:
    """A profile with exactly the values of ``values_from``, placed in the rank order of ``order_from``: the largest
    value where ``order_from`` is largest, and so on (ties in ``order_from`` broken by position)."""
    out = np.empty_like(values_from, dtype=np.float64)
    out[np.argsort(order_from, kind="stable")] = np.sort(values_from, kind="stable")
    return out


def band_mask(freqs: np.ndarray, centre: float, halfwidth: float) -> np.ndarray:
    """Rows of ``freqs`` within ``centre +- halfwidth`` (all False for a missing centre)."""
    if not np.isfinite(centre) or centre <= 0:
        return np.zeros(len(freqs), dtype=bool)
    return np.abs(freqs - centre) <= halfwidth


def enrichment(profile: np.ndarray, mask: np.ndarray) -> float:
    """Share of ``profile``'s mass in ``mask`` divided by the share of rows in ``mask`` (NaN without mass or rows)."""
    total, rows = float(profile.sum()), int(mask.sum())
    if total <= 0 or rows == 0:
        return float("nan")
    return float(profile[mask].sum() / total) / (rows / len(profile))


def token_reading(
    evidence: np.ndarray,
    class_map_mass: float,
    energy: np.ndarray,
    run_mean: np.ndarray,
    freqs: np.ndarray,
    own: Sequence[float],
    competitor: Sequence[float],
    halfwidth_hz: float,
    class_means: tuple[Sequence[float], Sequence[float]] | None = None,
) -> dict[str, Any]:
    """The reading of one token (see the module docstring). ``evidence`` is the raw evidence profile ``[F]``,
    ``class_map_mass`` the mass of the true-class map's absolute profile (to tell "no evidence" from rounding),
    ``energy`` the token's linear power profile, ``run_mean`` the run's mean unit-mass evidence profile; ``own``
    and ``competitor`` are F1-F3 in Hz (NaN when unmeasured); ``class_means`` the run's mean F1-F3 of the token's
    class and of the competitor's, whose difference says whether a formant carries a contrast (defaults to ``own``
    and ``competitor``)."""
    positive = positive_profile(evidence)
    mass = float(positive.sum())
    row: dict[str, Any] = {
        "evidence_mass": mass,
        "evidence_share": mass / class_map_mass if class_map_mass > 0 else 0.0,
    }
    has_evidence = mass > NO_EVIDENCE_RATIO * max(class_map_mass, 0.0) and mass > 0
    energy_like = rank_matched(positive, np.asarray(energy, dtype=np.float64))
    regions = {k: _region(freqs, own[k - 1], competitor[k - 1], halfwidth_hz) for k in FORMANT_NUMBERS}
    own_class, comp_class = class_means if class_means is not None else (own, competitor)
    contrasts = {k: _contrast(float(own_class[k - 1]), float(comp_class[k - 1])) for k in FORMANT_NUMBERS}
    carries = {k for k, c in contrasts.items() if c >= MIN_FORMANT_CONTRAST}
    for k in FORMANT_NUMBERS:
        own_band, comp_band = regions[k]
        region = own_band | comp_band
        contrast = contrasts[k]
        # only formants that carry a contrast compete for the mass of a region
        overlap = any((region & (regions[j][0] | regions[j][1])).any() for j in carries if j != k)
        row[f"region_f{k}_own_hz"] = own[k - 1]
        row[f"region_f{k}_competitor_hz"] = competitor[k - 1]
        row[f"contrast_f{k}"] = contrast
        row[f"overlap_f{k}"] = int(overlap)
        readable = has_evidence and region.any() and not overlap and contrast >= MIN_FORMANT_CONTRAST
        row[f"enrich_f{k}"] = enrichment(positive, region) if readable else float("nan")
        row[f"enrich_f{k}_energy"] = enrichment(energy_like, region) if readable else float("nan")
        row[f"enrich_f{k}_run_mean"] = enrichment(run_mean, region) if readable else float("nan")
        row[f"own_share_f{k}"] = _own_share(positive, own_band, comp_band) if readable else float("nan")
    return row


def _contrast(own: float, competitor: float) -> float:
    """``|own - competitor| / own`` (NaN when either is missing)."""
    if not (np.isfinite(own) and np.isfinite(competitor)) or own <= 0:
        return float("nan")
    return abs(own - competitor) / own


def _region(freqs: np.ndarray, own: float, competitor: float, halfwidth: float) -> tuple[np.ndarray, np.ndarray]:
    return band_mask(freqs, float(own), halfwidth), band_mask(freqs, float(competitor), halfwidth)


def _own_share(profile: np.ndarray, own: np.ndarray, comp: np.ndarray) -> float:
    weights = own.astype(np.float64) - 0.5 * (own & comp)
    region_mass = float(profile[own | comp].sum())
    return float((profile * weights).sum() / region_mass) if region_mass > 0 else float("nan")


def competitor_formants(
    tokens: Sequence[Mapping[str, Any]], fields: Sequence[str] = ("f1_50", "f2_50", "f3_50")
) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """Mean measured F1-F3 per (speaker, vowel) and per vowel over the run, from ``tokens.csv`` rows."""
    by_speaker: dict[tuple[str, str], list[list[float]]] = {}
    by_vowel: dict[str, list[list[float]]] = {}
    for t in tokens:
        values = [_hz(t.get(f)) for f in fields]
        by_speaker.setdefault((str(t.get("speaker") or ""), str(t.get("phone"))), []).append(values)
        by_vowel.setdefault(str(t.get("phone")), []).append(values)
    return {k: _nanmean(v) for k, v in by_speaker.items()}, {k: _nanmean(v) for k, v in by_vowel.items()}


def competitor_of(
    speaker: str, vowel: str, means: tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]
) -> np.ndarray:
    """F1-F3 of ``vowel`` for ``speaker`` (the speaker's own mean where measured, else the run's)."""
    own, run = means
    fallback = run.get(vowel, np.full(3, np.nan))
    mine = own.get((speaker, vowel))
    return fallback if mine is None else np.where(np.isfinite(mine), mine, fallback)


def _hz(value: Any) -> float:
    v = as_float(value)
    return v if np.isfinite(v) and v > 0 else float("nan")


def _nanmean(rows: list[list[float]]) -> np.ndarray:
    arr = np.asarray(rows, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(arr).sum(axis=0)
        sums = np.nansum(arr, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
