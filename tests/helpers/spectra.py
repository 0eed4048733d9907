"""The one Gaussian-formant maker every fake spectrogram of the tests is built from."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def formant_peaks(
    freqs: np.ndarray, centres: Sequence[float], widths: Sequence[float] | float, levels: Sequence[float] | float
) -> np.ndarray:
    """dB to add at ``freqs``: one Gaussian peak per formant, ``level * exp(-((f - centre) / width)**2 / 2)``, summed.

    ``widths`` and ``levels`` are one value per formant, or one value for all."""
    freqs = np.asarray(freqs, dtype=np.float64)
    n = len(centres)
    widths = [widths] * n if np.isscalar(widths) else list(widths)
    levels = [levels] * n if np.isscalar(levels) else list(levels)
    out = np.zeros_like(freqs)
    for centre, width, level in zip(centres, widths, levels):
        out = out + level * np.exp(-0.5 * ((freqs - centre) / width) ** 2)
    return out
