"""Baseline formant measurement for the benchmarks: the classic one-call Praat Burg analysis."""

from __future__ import annotations

import logging
import math

import numpy as np
import parselmouth

from vowelcam.acoustics.praat import as_mono_float
from vowelcam.tokens import FORMANT_COLUMNS

log = logging.getLogger(__name__)


def plain_burg_formants(
    samples: np.ndarray, sr: int, start: float, end: float, ceiling: float, max_formants: float = 5.0
) -> dict[str, float]:
    """The classic baseline: one Praat Burg call over all of ``samples`` (5 ms steps) at one ceiling.

    Returns F1–F3 at 20/50/80 % of the token (the ``f*_*`` keys of ``MEASURE_COLUMNS``); NaN where Praat
    finds no formant. The reference point of the benchmarks for
    :func:`vowelcam.acoustics.praat.measure_token`.
    """
    out = dict.fromkeys(FORMANT_COLUMNS, math.nan)
    audio = as_mono_float(samples)
    try:
        formant = parselmouth.Sound(audio, sampling_frequency=sr).to_formant_burg(
            time_step=0.005, max_number_of_formants=max_formants, maximum_formant=ceiling
        )
    except parselmouth.PraatError as exc:
        log.debug("plain Burg failed: %s", exc)
        return out
    for name in FORMANT_COLUMNS:
        k, pct = int(name[1]), int(name.split("_")[1])
        out[name] = float(formant.get_value_at_time(k, start + pct / 100 * (end - start)))
    return out
