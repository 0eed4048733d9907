"""Confidence intervals shared by the stages (training scores, CAM agreement, report)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (95 % by default); (nan, nan) when ``n`` is 0."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# --- Cluster (speaker-level) bootstrap -------------------------------------------------------------------------
# Tokens of one speaker are not independent: an interval that resamples tokens is too narrow whenever speakers
# differ. Every interval vowelcam states over tokens resamples *clusters* (speakers; recordings when the corpus has
# a single speaker) and keeps each drawn cluster's tokens together (Davison & Hinkley 1997, sec. 3.8, strategy 1).

SPEAKER_UNIT = "speaker"
RECORDING_UNIT = "recording"
TOKEN_UNIT = "token"


def resampling_clusters(speakers: Sequence[str], recordings: Sequence[str]) -> tuple[list[str], str]:
    """The cluster label of each token and the unit's name.

    Speakers when the tokens come from two or more named speakers; recordings (files) when there is one speaker
    (or none is named); tokens only when neither gives two clusters. A token with an empty speaker is its own
    recording's cluster, never silently merged with another speaker's tokens."""
    named = {s for s in speakers if s}
    if len(named) >= 2:
        return [s if s else f"recording:{r}" for s, r in zip(speakers, recordings)], SPEAKER_UNIT
    if len({r for r in recordings if r}) >= 2:
        return [r or f"token:{i}" for i, r in enumerate(recordings)], RECORDING_UNIT
    return [f"token:{i}" for i in range(len(speakers))], TOKEN_UNIT


def cluster_bootstrap_mean(
    values: Sequence[float],
    clusters: Sequence[str],
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    level: float = 0.95,
) -> tuple[float, float, float, int, int]:
    """Mean of the finite ``values`` and its percentile interval from resampling ``clusters`` with replacement.

    Returns ``(mean, lo, hi, n_values, n_clusters)``. Each replicate draws as many clusters as there are, keeps
    all their tokens, and takes the token-weighted mean (the same estimator as the point estimate). With fewer than
    two clusters the interval is NaN: one speaker cannot say how speakers vary."""
    arr = np.asarray(values, dtype=np.float64)
    labels = np.asarray(list(clusters), dtype=object)
    keep = np.isfinite(arr)
    arr, labels = arr[keep], labels[keep]
    if len(arr) == 0:
        return float("nan"), float("nan"), float("nan"), 0, 0
    names, index = np.unique(labels.astype(str), return_inverse=True)
    mean = float(arr.mean())
    if len(names) < 2 or n_boot <= 0:
        return mean, float("nan"), float("nan"), len(arr), len(names)
    sums = np.bincount(index, weights=arr, minlength=len(names))
    counts = np.bincount(index, minlength=len(names)).astype(np.float64)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(n_boot, len(names)))
    reps = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(reps, [tail, 100 - tail])
    return mean, float(lo), float(hi), len(arr), len(names)


def cluster_bootstrap_paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence[str],
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    level: float = 0.95,
) -> tuple[float, float, float, int, int]:
    """Mean of ``a - b`` over tokens where both are finite, with a cluster-bootstrap interval (see
    :func:`cluster_bootstrap_mean`). The pairing is kept: a token's two values are always drawn together."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return cluster_bootstrap_mean(diff, clusters, n_boot, seed, level)
