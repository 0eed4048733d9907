"""Render a planned utterance with Praat's KlattGrid (the one agreed place besides ``praat.py`` that calls
parselmouth), then finish it in numpy: source brightness, background noise, level, 16-bit quantisation.

Rendering is deterministic: Praat's noise generator (aspiration, frication, flutter) is seeded per utterance
with :func:`seed_praat`, and numpy draws come from the caller's generator.
"""

from __future__ import annotations

import numpy as np
import parselmouth
from parselmouth.praat import call

from .plan import N_FRICATION, N_ORAL, UtterancePlan

FLUTTER = 0.2  # slow random F0 wander (0..1), as in real voices

# plan tier name -> KlattGrid command adding a point to it
_SOURCE_TIERS = {
    "pitch": "Add pitch point",
    "voicing": "Add voicing amplitude point",
    "aspiration": "Add aspiration amplitude point",
    "frication": "Add frication amplitude point",
    "bypass": "Add frication bypass point",
}
_NUMBERED_TIERS = {
    "F": ("Add oral formant frequency point", N_ORAL),
    "B": ("Add oral formant bandwidth point", N_ORAL),
    "FF": ("Add frication formant frequency point", N_FRICATION),
    "FB": ("Add frication formant bandwidth point", N_FRICATION),
    "FA": ("Add frication formant amplitude point", N_FRICATION),
}


def seed_praat(seed: int) -> None:
    """Seed Praat's random number generator (noise sources, flutter) so that synthesis repeats exactly."""
    parselmouth.praat.run(f"random_initializeWithSeedUnsafelyButPredictably ({int(seed)})")


def render_klatt(plan: UtterancePlan, sample_rate: int, tilt_db: float, praat_seed: int) -> np.ndarray:
    """Synthesise ``plan`` with a KlattGrid and return float64 samples at ``sample_rate``."""
    seed_praat(praat_seed)
    grid = call("Create KlattGrid", "synth", 0.0, plan.duration, N_ORAL, 0, 0, N_FRICATION, 0, 0, 0)
    call(grid, "Add flutter point", 0.0, FLUTTER)
    call(grid, "Add spectral tilt point", 0.0, tilt_db)
    for name, command in _SOURCE_TIERS.items():
        for time, value in plan.tracks.get(name, ()):
            call(grid, command, time, value)
    for prefix, (command, count) in _NUMBERED_TIERS.items():
        for number in range(1, count + 1):
            for time, value in plan.tracks.get(f"{prefix}{number}", ()):
                call(grid, command, number, time, value)
    sound = call(grid, "To Sound")
    if sound.sampling_frequency != sample_rate:
        sound = sound.resample(float(sample_rate), 50)
    return np.asarray(sound.values[0], dtype=np.float64)


def brighten(samples: np.ndarray, coefficient: float) -> np.ndarray:
    """First difference ``y[n] = x[n] - a x[n-1]``: a brighter source (less spectral fall above F1).

    The KlattGrid source falls faster than natural voices; without this, LPC formant analysis of the
    synthetic vowels inserts a spurious pole between F1 and F2.
    """
    bright = samples.copy()
    bright[1:] -= coefficient * samples[:-1]
    return bright


def finish(
    samples: np.ndarray, brightness: float, snr_db: float, peak_dbfs: float, rng: np.random.Generator
) -> np.ndarray:
    """Brighten the source (:func:`brighten`), add white noise ``snr_db`` below the signal's RMS, scale the peak
    to ``peak_dbfs`` and quantise to int16."""
    bright = brighten(samples, brightness)
    rms = float(np.sqrt(np.mean(bright**2))) or 1.0
    noisy = bright + rng.normal(0.0, rms * 10 ** (-snr_db / 20.0), size=bright.shape)
    peak = float(np.max(np.abs(noisy))) or 1.0
    scaled = noisy * (10 ** (peak_dbfs / 20.0) / peak)
    return np.clip(np.round(scaled * 32767.0), -32768, 32767).astype(np.int16)
