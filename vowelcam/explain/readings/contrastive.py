"""Contrastive maps for confusions: where, in Hz, the network found more evidence for the class it chose than for
the true one.

For every token, ``cams/contrast.npy`` holds the predicted-class map minus the true-class map of the same token,
both *before* the method's ReLU and upsampled to the input grid (zero for correctly classified tokens). For Grad-CAM,
HiResCAM and CAM this is exactly the map of the logit difference ``y_pred - y_true``; positive cells favour the
predicted class, negative cells the true one.

``contrastive.csv`` reads each misclassified token's contrast map over its own frames (a signed frequency profile,
nothing clipped), with columns :data:`CONTRASTIVE_COLUMNS`:

- ``contrast_peak_hz`` / ``contrast_trough_hz``: where the profile is highest (most evidence for the predicted
  class) and lowest (for the true class), interpolated like the band peaks (:func:`.bands.refine_peak`);
- ``contrast_pos_share``: positive mass / total absolute mass (1 = the map favours the predicted class everywhere);
- ``contrast_fk`` (k = 1..3): the signed mass inside the token's Fk band (the same bands as ``bands.csv``) over the
  total absolute mass: > 0 = that formant's band speaks for the predicted class, < 0 for the true one;
- ``contrast_peak_nearest`` / ``contrast_peak_dist_hz``: the formant nearest the contrast peak and the distance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .bands import FORMANTS, refine_peak

CONTRASTIVE_COLUMNS = [
    "token_id",
    "speaker",
    "vowel",
    "predicted",
    "method",
    "layer",
    "hz_per_row",
    "contrast_peak_hz",
    "contrast_trough_hz",
    "contrast_pos_share",
    "contrast_f1",
    "contrast_f2",
    "contrast_f3",
    "contrast_peak_nearest",
    "contrast_peak_dist_hz",
]


def contrast_profile(contrast: np.ndarray, frame_start: int, frame_end: int) -> np.ndarray:
    """The signed profile ``[F]`` of a contrast map ``[F, T]`` over frames ``[frame_start, frame_end)``."""
    part = np.asarray(contrast, dtype=np.float64)[:, max(0, frame_start) : max(frame_start + 1, frame_end)]
    return part.sum(axis=1)


def contrast_row(contrast: np.ndarray, freqs: np.ndarray, band_row: Mapping[str, Any], step: int = 1) -> dict[str, Any]:
    """The :data:`CONTRASTIVE_COLUMNS` metrics of one token's contrast map; ``band_row`` is its ``bands.csv`` row
    (token info, frames and bands)."""
    profile = contrast_profile(contrast, int(band_row["frame_start"]), int(band_row["frame_end"]))
    absolute = np.abs(profile).sum()
    row: dict[str, Any] = {
        k: band_row.get(k, "") for k in ("token_id", "speaker", "vowel", "predicted", "method", "layer", "hz_per_row")
    }
    nan = float("nan")
    if absolute <= 0:
        return {**row, **{c: nan for c in CONTRASTIVE_COLUMNS if c not in row}, "contrast_peak_nearest": ""}
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 0.0
    peak = float(freqs[0] + refine_peak(profile, int(np.argmax(profile)), step) * df)
    trough = float(freqs[0] + refine_peak(-profile, int(np.argmin(profile)), step) * df)
    row.update(
        contrast_peak_hz=peak,
        contrast_trough_hz=trough,
        contrast_pos_share=float(np.clip(profile, 0, None).sum() / absolute),
    )
    nearest, dist = "", nan
    for k, name in enumerate(FORMANTS, start=1):
        lo, hi = float(band_row.get(f"band{k}_lo_hz", nan)), float(band_row.get(f"band{k}_hi_hz", nan))
        inside = (freqs >= lo) & (freqs <= hi)
        row[f"contrast_{name}"] = float(profile[inside].sum() / absolute) if inside.any() else nan
        centre = float(band_row.get(f"f{k}_hz", nan))
        if np.isfinite(centre) and (not np.isfinite(dist) or abs(peak - centre) < abs(dist)):
            nearest, dist = name.upper(), peak - centre
    row.update(contrast_peak_nearest=nearest, contrast_peak_dist_hz=dist)
    return row
