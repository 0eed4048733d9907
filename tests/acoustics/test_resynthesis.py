"""Source–filter resynthesis (vowelcam.acoustics.resynthesis): round trip and moved formants on real tokens."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from vowelcam.acoustics.praat import measure_token
from vowelcam.acoustics.resynthesis import (
    NONE,
    ResynthesisError,
    SourceFilter,
    bark_to_hz,
    hz_to_bark,
    match_level,
    parse_manipulations,
)
from vowelcam.config import MeasureSettings

SETTINGS = MeasureSettings()


def test_bark_scale_is_praats_and_invertible():
    assert hz_to_bark(650.0) == pytest.approx(7 * np.arcsinh(1.0))
    assert bark_to_hz(hz_to_bark(1234.5)) == pytest.approx(1234.5)


def test_manipulations_parse_and_name_their_targets():
    f1_up, f2_down, vtl = parse_manipulations("F1+1, f2-0.5bark, vtl0.9")
    assert (f1_up.name, f1_up.formant, f1_up.bark) == ("F1+1bark", 1, 1.0)
    assert f2_down.target(1500.0, 2) == pytest.approx(float(bark_to_hz(hz_to_bark(1500.0) - 0.5)))
    assert f2_down.target(500.0, 1) == 500.0  # other formants kept
    assert vtl.name == "vtl*0.9" and vtl.target(2000.0, 3) == pytest.approx(1800.0)
    assert "row = 1" in f1_up.praat_formula() and vtl.praat_formula() == "self * 0.9"
    low = parse_manipulations("F1-1")[0]  # a spurious 30 Hz pole moved down stays a valid frequency
    assert low.target(30.0, 1) == 50.0 and "max(50," in low.praat_formula()
    assert NONE.is_none and NONE.praat_formula() == ""
    with pytest.raises(ValueError, match="F7"):
        parse_manipulations("F7+1")


def test_level_matching_and_refusals():
    ref = np.r_[np.zeros(100), np.full(100, 0.5)]
    out = match_level(np.full(200, 2.0), ref, (100, 200))
    assert np.sqrt(np.mean(out[100:] ** 2)) == pytest.approx(0.5)
    with pytest.raises(ResynthesisError, match="tok7"):
        SourceFilter(np.zeros(16000), 16000, 5500.0, where="tok7")


def _tokens(root, count):
    from vowelcam.corpus.textgrids import read_textgrid

    files = sorted((root / "men").glob("*.wav")) + sorted((root / "women").glob("*.wav"))
    for wav in [files[i] for i in np.linspace(0, len(files) - 1, count).astype(int)]:
        tier = read_textgrid(root / "textgrids" / f"{wav.stem}.TextGrid").tier("phones")
        vowel = next(iv for iv in tier.intervals if iv.text not in {"HH", "D", ""})
        audio, sr = sf.read(wav, dtype="float64")
        yield audio, sr, vowel.start, vowel.end, "men" if wav.stem[0] == "m" else "women"


@pytest.mark.slow
def test_round_trip_and_moved_formants_on_hillenbrand(shared_data):
    """'none' reproduces the measured F1–F3; F1/F2 moved by 1 Bark and a x1.1 length warp are measured where they
    were put (measured with the same Praat measurement as extraction)."""
    f1_up, f2_down, vtl = parse_manipulations("F1+1,F2-1,vtl1.1")
    round_trip, moved, warped = [], {1: [], 2: []}, []
    for audio, sr, start, end, group in _tokens(shared_data / "hillenbrand1995", 24):
        original = measure_token(audio, sr, start, end, group, SETTINGS)
        source_filter = SourceFilter(audio, sr, original["ceiling"])
        span = (int(start * sr), int(end * sr))
        none = measure_token(source_filter.render(NONE, span), sr, start, end, group, SETTINGS)
        round_trip.append([none[f"f{k}_50"] / original[f"f{k}_50"] - 1 for k in (1, 2, 3)])
        for k, manipulation in ((1, f1_up), (2, f2_down)):
            got = measure_token(source_filter.render(manipulation, span), sr, start, end, group, SETTINGS)
            target = manipulation.target(none[f"f{k}_50"], k)
            moved[k].append(float(hz_to_bark(got[f"f{k}_50"]) - hz_to_bark(target)))
        got = measure_token(source_filter.render(vtl, span), sr, start, end, group, SETTINGS)
        warped.append([got[f"f{k}_50"] / none[f"f{k}_50"] for k in (2, 3)])
    errors = np.abs(np.array(round_trip))
    assert np.nanmedian(errors, axis=0).max() < 0.03, np.nanmedian(errors, axis=0)
    assert np.nanmean(errors > 0.10) < 0.05
    for k in (1, 2):
        assert abs(np.nanmedian(moved[k])) < 0.1, (k, np.nanmedian(moved[k]))
        assert np.nanmedian(np.abs(moved[k])) < 0.25, (k, np.nanmedian(np.abs(moved[k])))
    assert np.nanmedian(np.array(warped), axis=0) == pytest.approx([1.1, 1.1], abs=0.03)


def test_an_unmoved_resynthesis_of_a_synthetic_vowel_keeps_its_spectrum_shape():
    """No real data needed: a KlattGrid-free two-formant vowel (impulse train through resonators) survives the
    round trip with its F1 where it was."""
    from scipy.signal import lfilter

    sr, f0, dur = 16000, 120.0, 0.5
    source = np.zeros(int(sr * dur))
    source[:: int(sr / f0)] = 1.0
    x = source
    for f, b in ((700.0, 80.0), (1200.0, 100.0), (2500.0, 150.0), (3500.0, 200.0)):
        r = np.exp(-np.pi * b / sr)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r], x)
    x = 0.3 * x / np.abs(x).max()
    before = measure_token(x, sr, 0.1, 0.4, "men", SETTINGS)
    after = measure_token(SourceFilter(x, sr, before["ceiling"]).render(), sr, 0.1, 0.4, "men", SETTINGS)
    assert after["f1_50"] == pytest.approx(before["f1_50"], rel=0.05)
    assert after["f2_50"] == pytest.approx(before["f2_50"], rel=0.05)
    assert after["f0"] == pytest.approx(before["f0"], rel=0.02)
