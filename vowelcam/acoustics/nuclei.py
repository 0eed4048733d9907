"""Vowel nuclei without a TextGrid: intensity peaks in voiced stretches, after de Jong & Wempe (2009).

De Jong, N. H. & Wempe, T. (2009). Praat script to detect syllable nuclei and measure speech rate automatically.
*Behavior Research Methods* 41(2), 385–390. Their steps, with their defaults (:class:`NucleiSettings`):

1. Intensity contour (Praat ``To Intensity``: minimum pitch 50 Hz, automatic time step, mean subtracted).
2. Threshold: the 99th percentile of the intensity minus ``silence_db`` (25 dB); where the contour's minimum is
   higher, the minimum. Candidate peaks are the contour's local maxima above the threshold.
3. Dip: a candidate is kept only when the intensity between it and the next candidate falls by at least
   ``min_dip_db`` (2 dB) below it (the last candidate is kept when above threshold), so one syllable's ripples
   count once.
4. Voicing: a kept peak must be voiced (Praat ``To Pitch (ac)`` with their settings: 20 ms steps, floor 30 Hz,
   ceiling 450 Hz, silence 0.03, voicing 0.25), so fricative and burst peaks do not count.

Each nucleus is returned with its peak time and an extent: from the peak outwards while the intensity stays
within ``extent_db`` (6 dB) of the peak and above the threshold, stopping at the dip to a neighbouring nucleus.
The extent is only a display span (``classify`` centres the model's window on its middle); the method finds
nuclei, not vowel boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth
from scipy.signal import find_peaks


@dataclass(frozen=True)
class NucleiSettings:
    """Parameters of the detector (defaults: de Jong & Wempe 2009's script)."""

    min_pitch: float = 50.0  # Hz, intensity analysis window (3.2 / min_pitch s)
    silence_db: float = 25.0  # threshold = 99th percentile - this
    min_dip_db: float = 2.0  # intensity must dip this much between kept peaks
    pitch_step: float = 0.02
    pitch_floor: float = 30.0
    pitch_ceiling: float = 450.0
    extent_db: float = 6.0  # display extent: where the intensity is within this of the peak


@dataclass(frozen=True)
class Nucleus:
    """One detected vowel nucleus (times in s)."""

    peak: float
    start: float
    end: float
    intensity_db: float


def find_nuclei(
    samples: np.ndarray, sr: int, settings: NucleiSettings = NucleiSettings(), start_time: float = 0.0
) -> list[Nucleus]:
    """The nuclei of a recording (mono samples at ``sr``; times offset by ``start_time``), in time order."""
    sound = parselmouth.Sound(np.asarray(samples, dtype=np.float64), sampling_frequency=sr, start_time=start_time)
    try:
        intensity = sound.to_intensity(minimum_pitch=settings.min_pitch, subtract_mean=True)
        pitch = sound.to_pitch_ac(
            time_step=settings.pitch_step,
            pitch_floor=settings.pitch_floor,
            max_number_of_candidates=4,
            very_accurate=False,
            silence_threshold=0.03,
            voicing_threshold=0.25,
            octave_cost=0.01,
            octave_jump_cost=0.35,
            voiced_unvoiced_cost=0.25,
            pitch_ceiling=settings.pitch_ceiling,
        )
    except parselmouth.PraatError:  # shorter than the analysis window: no nucleus
        return []
    times, db = intensity.xs(), intensity.values[0]
    if db.size < 3:
        return []
    peaks = kept_peaks(db, settings)
    voiced = [i for i in peaks if _voiced(pitch, times[i])]
    return [_nucleus(times, db, i, voiced, settings) for i in voiced]


def threshold_db(db: np.ndarray, settings: NucleiSettings) -> float:
    """The silence threshold: 99th percentile minus ``silence_db``, at least the contour's minimum."""
    return max(float(np.percentile(db, 99)) - settings.silence_db, float(np.min(db)))


def kept_peaks(db: np.ndarray, settings: NucleiSettings) -> list[int]:
    """Indices of local maxima above the threshold followed by a dip of at least ``min_dip_db``."""
    floor = threshold_db(db, settings)
    candidates = [int(i) for i in find_peaks(db)[0] if db[i] > floor]
    kept = []
    for j, i in enumerate(candidates):
        following = candidates[j + 1] if j + 1 < len(candidates) else None
        if following is None or db[i] - float(np.min(db[i : following + 1])) >= settings.min_dip_db:
            kept.append(i)
    return kept


def _voiced(pitch: parselmouth.Pitch, t: float) -> bool:
    f0 = pitch.get_value_at_time(t)
    return f0 == f0 and f0 > 0


def _nucleus(times: np.ndarray, db: np.ndarray, i: int, peaks: list[int], settings: NucleiSettings) -> Nucleus:
    floor = max(db[i] - settings.extent_db, threshold_db(db, settings))
    k = peaks.index(i)
    lo_limit = int(np.argmin(db[peaks[k - 1] : i + 1])) + peaks[k - 1] if k > 0 else 0
    hi_limit = int(np.argmin(db[i : peaks[k + 1] + 1])) + i if k + 1 < len(peaks) else len(db) - 1
    lo = i
    while lo > lo_limit and db[lo - 1] >= floor:
        lo -= 1
    hi = i
    while hi < hi_limit and db[hi + 1] >= floor:
        hi += 1
    half = (times[1] - times[0]) / 2 if len(times) > 1 else 0.0
    return Nucleus(float(times[i]), float(times[lo] - half), float(times[hi] + half), float(db[i]))
