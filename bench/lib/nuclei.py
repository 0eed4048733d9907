"""Scoring syllable nuclei against labelled vowels, for the benchmarks and their tests."""

from __future__ import annotations

import math

import numpy as np


def nucleus_recall_precision(peaks: list[float], vowels: list[tuple[float, float]]) -> dict[str, float]:
    """Recall (share of ``vowels`` intervals holding a peak) and precision (share of peaks inside a vowel)."""
    vowels = sorted(vowels)
    starts = np.array([s for s, _ in vowels])
    inside = 0
    hit = np.zeros(len(vowels), dtype=bool)
    for p in peaks:
        j = int(np.searchsorted(starts, p, side="right")) - 1
        if j >= 0 and vowels[j][0] <= p <= vowels[j][1]:
            inside += 1
            hit[j] = True
    return {
        "recall": float(hit.mean()) if len(vowels) else math.nan,
        "precision": inside / len(peaks) if peaks else math.nan,
        "n_vowels": len(vowels),
        "n_nuclei": len(peaks),
        "n_vowels_found": int(hit.sum()),
        "n_inside": inside,
    }
