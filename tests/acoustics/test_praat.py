"""Praat measurements: synthetic vowels with known formants, awkward input, and real Hillenbrand tokens."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter

from vowelcam.acoustics.praat import candidate_ceilings, measure_token, median_f0
from vowelcam.config import MeasureSettings
from vowelcam.tokens import MEASURE_COLUMNS

sys.path.append(str(Path(__file__).resolve().parents[2]))  # the repository, for the benchmarks' helpers (bench/lib)
from bench.lib.formants import plain_burg_formants  # noqa: E402

SR = 16000
SETTINGS = MeasureSettings()
BANDWIDTHS = (80.0, 100.0, 150.0, 250.0, 300.0)


def synth_vowel(formants, bandwidths, f0=120.0, duration=0.4, sr=SR, margin=0.1, seed=0):
    """A glottal-pulse train through a cascade of 2-pole resonators, with silence margins; returns audio, start, end."""
    rng = np.random.default_rng(seed)
    n = int(duration * sr)
    t = np.arange(n) / sr
    period = sr / (f0 * (1 + 0.03 * np.sin(2 * np.pi * 3 * t)))  # a gentle F0 movement
    phase = np.cumsum(1.0 / period)
    source = np.diff(np.floor(phase), prepend=0.0)  # one impulse per period
    source = lfilter([1.0], [1.0, -1.94, 0.9409], source)  # glottal pulse shape: -12 dB/oct above ~80 Hz
    signal = source + 1e-4 * rng.standard_normal(n)
    for freq, bw in zip(formants, bandwidths):
        r = math.exp(-math.pi * bw / sr)
        a = [1.0, -2 * r * math.cos(2 * math.pi * freq / sr), r * r]
        signal = lfilter([sum(a)], a, signal)  # unity gain at 0 Hz
    signal = lfilter([1.0, -1.0], [1.0], signal)  # lip radiation
    fade = int(0.01 * sr)  # 10 ms onset and offset ramps
    signal[:fade] *= np.linspace(0.0, 1.0, fade)
    signal[-fade:] *= np.linspace(1.0, 0.0, fade)
    signal = 0.5 * signal / np.max(np.abs(signal))
    pad = np.zeros(int(margin * sr))
    return np.concatenate([pad, signal, pad]), margin, margin + duration


@pytest.mark.parametrize(
    "formants, f0, group",
    [
        ((730.0, 1090.0, 2440.0, 3400.0, 4400.0), 110.0, "men"),  # /a/
        ((530.0, 1840.0, 2480.0, 3500.0, 4500.0), 120.0, "men"),  # /E/
        ((440.0, 2300.0, 3000.0, 4100.0, 5000.0), 210.0, "women"),  # /I/-like, high voice
        ((860.0, 2050.0, 2850.0, 4200.0, 5100.0), 220.0, "women"),  # /ae/
        ((600.0, 1200.0, 2600.0, 3700.0, 4700.0), 130.0, None),  # unknown group: wider ceiling search
    ],
)
def test_synthetic_vowel_formants_and_f0_are_recovered(formants, f0, group):
    audio, start, end = synth_vowel(formants, BANDWIDTHS, f0=f0)
    values = measure_token(audio, SR, start, end, group, SETTINGS)
    assert set(values) == set(MEASURE_COLUMNS)
    for pct in (20, 50, 80):
        for k in (1, 2, 3):
            got = values[f"f{k}_{pct}"]
            # LPC pulls F1 towards the nearest harmonic (up to half a harmonic spacing): a looser bound there
            tolerance = 0.08 if k == 1 else 0.05
            assert got == pytest.approx(formants[k - 1], rel=tolerance), f"F{k} at {pct} %: {got:.0f} Hz"
    assert values["f0"] == pytest.approx(f0, rel=0.04)
    assert 3000 < values["ceiling"] < 8000
    assert all(0 < values[f"b{k}_50"] < 1000 for k in (1, 2, 3))


def test_silence_gives_nan_and_no_exception():
    values = measure_token(np.zeros(SR), SR, 0.3, 0.6, "women", SETTINGS)
    assert set(values) == set(MEASURE_COLUMNS)
    assert values["sample_rate"] == SR and values["band_hz"] == 0.975 * SR / 2  # the recording, not a measurement
    assert all(math.isnan(v) for k, v in values.items() if k not in ("sample_rate", "band_hz"))


def test_unvoiced_noise_gives_nan_f0_but_measures():
    noise = np.random.default_rng(1).standard_normal(SR) * 0.1
    values = measure_token(noise, SR, 0.3, 0.6, "men", SETTINGS)
    assert math.isnan(values["f0"])
    assert np.isfinite(values["ceiling"])


@pytest.mark.parametrize("duration", [0.02, 0.005, 0.0])
def test_very_short_token_does_not_raise(duration):
    audio, start, _ = synth_vowel((700, 1200, 2500, 3500, 4500), BANDWIDTHS)
    values = measure_token(audio, SR, start + 0.1, start + 0.1 + duration, "men", SETTINGS)
    assert set(values) == set(MEASURE_COLUMNS)
    if duration >= 0.02:  # 20 ms of a clear vowel still gives a usable F1
        assert values["f1_50"] == pytest.approx(700, rel=0.1)


def test_token_at_the_edge_of_the_audio_is_padded_not_refused():
    audio, start, end = synth_vowel((700, 1200, 2500, 3500, 4500), BANDWIDTHS, margin=0.0)
    values = measure_token(audio, SR, start, end, "men", SETTINGS)
    assert values["f1_50"] == pytest.approx(700, rel=0.05)


def test_clipped_audio_does_not_raise():
    audio, start, end = synth_vowel((700, 1200, 2500, 3500, 4500), BANDWIDTHS)
    clipped = np.clip(audio * 20, -1, 1)
    clipped[100] = np.nan  # a broken sample must not poison the analysis
    values = measure_token(clipped, SR, start, end, "men", SETTINGS)
    assert np.isfinite(values["f1_50"]) and np.isfinite(values["f0"])


def test_median_f0_alone_is_safe_on_any_input():
    audio, start, end = synth_vowel((700, 1200, 2500, 3500, 4500), BANDWIDTHS, f0=150.0)
    assert median_f0(audio.astype(np.float32), SR, start, end, SETTINGS) == pytest.approx(150, rel=0.04)
    assert math.isnan(median_f0(np.zeros(SR), SR, 0.2, 0.5, SETTINGS))
    assert math.isnan(median_f0(audio, SR, 0.3, 0.3, SETTINGS))
    assert math.isnan(median_f0(audio, SR, 5.0, 5.2, SETTINGS))  # outside the audio


def test_end_before_start_is_a_programming_error():
    with pytest.raises(ValueError, match="ends before it starts"):
        measure_token(np.zeros(100), SR, 0.5, 0.4, "men", SETTINGS)


def test_candidate_ceilings_centre_on_group_and_widen_when_unknown():
    men = candidate_ceilings("men", SETTINGS)
    women = candidate_ceilings("women", SETTINGS)
    unknown = candidate_ceilings("", SETTINGS)
    assert men.min() < SETTINGS.ceiling_men < men.max()
    assert np.median(women) > np.median(men)
    assert unknown.max() - unknown.min() > women.max() - women.min()
    single = candidate_ceilings("men", MeasureSettings(ceiling_search=False))
    assert single.tolist() == [SETTINGS.ceiling_men]


def test_group_spellings_and_low_sample_rates():
    assert candidate_ceilings("M", SETTINGS).tolist() == candidate_ceilings("men", SETTINGS).tolist()
    formants = (700.0, 1200.0, 2500.0, 3300.0)
    audio, start, end = synth_vowel(formants, BANDWIDTHS[:4], sr=8000)  # every ceiling above the 3900 Hz band
    values = measure_token(audio, 8000, start, end, "women", SETTINGS)
    assert SETTINGS.ceiling_women * 0.8 <= values["ceiling"] <= SETTINGS.ceiling_women * 1.2  # the vocal tract's
    assert values["formants"] < SETTINGS.max_formants  # ... analysed up to the band with fewer formants
    assert values["band_hz"] == 3900.0 and values["sample_rate"] == 8000
    assert values["f1_50"] == pytest.approx(700, rel=0.08)
    assert values["f2_50"] == pytest.approx(1200, rel=0.05)
    assert values["f3_50"] == pytest.approx(2500, rel=0.08)  # held: 3.6 formant slots for a woman at 8 kHz


def test_plain_burg_baseline_measures_a_synthetic_vowel():
    audio, start, end = synth_vowel((730, 1090, 2440, 3400, 4400), BANDWIDTHS)
    values = plain_burg_formants(audio, SR, start, end, 5000.0)
    assert values["f1_50"] == pytest.approx(730, rel=0.05)
    assert values["f2_50"] == pytest.approx(1090, rel=0.05)


def _hillenbrand_tokens(root, count):
    from vowelcam.corpus.textgrids import read_textgrid

    reference = {}
    for line in (root / "measurements" / "vowdata.dat").read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"[mw]\d\d[a-z]{2}", parts[0]):
            reference[parts[0]] = [float(v) for v in parts[10:13]]
    files = sorted((root / "men").glob("*.wav")) + sorted((root / "women").glob("*.wav"))
    for wav in [files[i] for i in np.linspace(0, len(files) - 1, count).astype(int)]:
        tier = read_textgrid(root / "textgrids" / f"{wav.stem}.TextGrid").tier("phones")
        vowel = next(iv for iv in tier.intervals if iv.text not in {"HH", "D", ""})
        audio, sr = sf.read(wav, dtype="float64")
        first = max(0, int((vowel.start - 0.1) * sr))
        last = int((vowel.end + 0.1) * sr)
        group = "men" if wav.stem[0] == "m" else "women"
        yield audio[first:last], sr, vowel.start - first / sr, vowel.end - first / sr, group, reference[wav.stem]


@pytest.mark.slow
def test_real_hillenbrand_tokens_match_hand_measurements(shared_data):
    errors = {1: [], 2: []}
    for audio, sr, start, end, group, ref in _hillenbrand_tokens(shared_data / "hillenbrand1995", 40):
        values = measure_token(audio, sr, start, end, group, SETTINGS)
        for k in (1, 2):
            if ref[k - 1] > 0:
                errors[k].append(abs(values[f"f{k}_50"] - ref[k - 1]) / ref[k - 1])
    assert len(errors[1]) >= 35
    for k in (1, 2):
        assert np.median(errors[k]) < 0.03, f"F{k} median relative error {np.median(errors[k]):.3f}"
