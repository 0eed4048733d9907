"""Formants are reported at the right points of the token (20 % early, 80 % late) with the right ceiling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter

from vowelcam.acoustics.praat import candidate_ceilings, group_ceiling, measure_token
from vowelcam.config import MeasureSettings

SR = 16000
SETTINGS = MeasureSettings()
BANDWIDTHS = (80.0, 100.0, 150.0, 250.0, 300.0)
BLOCK = 40  # samples per block with constant resonator coefficients (2.5 ms)


def gliding_vowel(start_hz, end_hz, f0=120.0, duration=0.4, margin=0.1) -> tuple[np.ndarray, float, float]:
    """A pulse train through resonators whose frequencies move linearly from ``start_hz`` to ``end_hz`` (one
    value per formant); returns audio, token start and end (s)."""
    n = int(duration * SR)
    phase = np.arange(n) * f0 / SR
    source = np.diff(np.floor(phase), prepend=0.0)
    signal = lfilter([1.0], [1.0, -1.94, 0.9409], source)
    for f_start, f_end, bw in zip(start_hz, end_hz, BANDWIDTHS):
        r = math.exp(-math.pi * bw / SR)
        out, zi = np.empty(n), np.zeros(2)
        for b0 in range(0, n, BLOCK):
            freq = f_start + (f_end - f_start) * (b0 + BLOCK / 2) / n
            a = [1.0, -2 * r * math.cos(2 * math.pi * freq / SR), r * r]
            out[b0 : b0 + BLOCK], zi = lfilter([sum(a)], a, signal[b0 : b0 + BLOCK], zi=zi)
        signal = out
    signal = lfilter([1.0, -1.0], [1.0], signal)
    fade = int(0.01 * SR)
    signal[:fade] *= np.linspace(0.0, 1.0, fade)
    signal[-fade:] *= np.linspace(1.0, 0.0, fade)
    signal = 0.5 * signal / np.max(np.abs(signal))
    pad = np.zeros(int(margin * SR))
    return np.concatenate([pad, signal, pad]), margin, margin + duration


def test_rising_f2_is_low_at_20_and_high_at_80_percent():
    """F2 glides 1100 -> 2100 Hz (F1 falls 750 -> 450): F2 at 20 % near 1300 Hz, at 80 % near 1900 Hz."""
    start, end = (750.0, 1100.0, 2500.0, 3500.0, 4500.0), (450.0, 2100.0, 2700.0, 3600.0, 4600.0)
    audio, t0, t1 = gliding_vowel(start, end)
    values = measure_token(audio, SR, t0, t1, "men", SETTINGS)
    assert values["f2_20"] < values["f2_50"] < values["f2_80"], values
    assert values["f2_20"] == pytest.approx(1300, rel=0.08)
    assert values["f2_80"] == pytest.approx(1900, rel=0.08)
    assert values["f1_20"] > values["f1_80"] + 100, values


def test_falling_f2_is_high_at_20_and_low_at_80_percent():
    start, end = (450.0, 2100.0, 2700.0, 3600.0, 4600.0), (750.0, 1100.0, 2500.0, 3500.0, 4500.0)
    audio, t0, t1 = gliding_vowel(start, end)
    values = measure_token(audio, SR, t0, t1, "men", SETTINGS)
    assert values["f2_20"] > values["f2_50"] > values["f2_80"], values


@pytest.mark.parametrize(
    "spelling, field",
    [("men", "ceiling_men"), ("W", "ceiling_women"), ("child", "ceiling_children"), ("children", "ceiling_children")],
)
def test_each_group_gets_its_own_ceiling(spelling, field):
    """Distinct ceilings per group (defaults and a custom set): a group measured with another's would show."""
    assert group_ceiling(spelling, SETTINGS) == getattr(SETTINGS, field)
    custom = MeasureSettings(ceiling_men=5100.0, ceiling_women=5900.0, ceiling_children=7300.0, ceiling_unknown=6400.0)
    assert group_ceiling(spelling, custom) == getattr(custom, field)
    candidates = candidate_ceilings(spelling, custom)
    assert candidates.min() < getattr(custom, field) < candidates.max()
    assert float(np.median(candidates)) == pytest.approx(getattr(custom, field), rel=0.03)


def test_defaults_order_the_ceilings_by_vocal_tract_length():
    men, women, children = (group_ceiling(g, SETTINGS) for g in ("men", "women", "children"))
    assert men < women < children
    assert group_ceiling("", SETTINGS) == SETTINGS.ceiling_unknown
    assert group_ceiling("martians", SETTINGS) == SETTINGS.ceiling_unknown
