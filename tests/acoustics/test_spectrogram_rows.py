"""What a spectrogram row contains: a tone peaks in the row whose Hz label is nearest to it."""

from __future__ import annotations

import numpy as np
import pytest

from vowelcam.acoustics.features import geometry, token_spectrogram
from vowelcam.config import SpectrogramSettings

SR = 16000


def tone(freq: float, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return 0.5 * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize(
    "settings",
    [SpectrogramSettings(), SpectrogramSettings(max_freq=4000.0), SpectrogramSettings(sample_rate=8000, n_fft=256)],
    ids=["full band", "4 kHz band", "8 kHz audio"],
)
@pytest.mark.parametrize("freq", [250.0, 1010.0, 2345.0, 3600.0])
def test_a_tone_peaks_in_the_row_labelled_with_its_frequency(settings, freq):
    geo = geometry(settings)
    spec = token_spectrogram(tone(freq), SR, 0.5, settings, geo)
    assert spec.shape == (len(geo.freqs_hz), settings.n_frames)
    df = settings.sample_rate / settings.n_fft
    assert geo.freqs_hz[0] == 0.0 and np.allclose(np.diff(geo.freqs_hz), df)
    peak_rows = spec.argmax(axis=0)
    assert np.all(peak_rows == peak_rows[settings.n_frames // 2])
    peak_hz = geo.freqs_hz[peak_rows[settings.n_frames // 2]]
    assert abs(peak_hz - freq) <= df / 2 + 1e-9, f"{freq} Hz tone peaks in the row labelled {peak_hz} Hz"


def test_full_scale_tone_on_a_bin_is_0_db_in_its_row():
    """dB re full scale: a full-scale sine exactly on a bin reads 0 dB in that row, its neighbours less."""
    settings = SpectrogramSettings()
    geo = geometry(settings)
    row = 40  # 1250 Hz
    spec = token_spectrogram(2 * tone(geo.freqs_hz[row]), SR, 0.5, settings, geo)
    centre = spec[:, settings.n_frames // 2]
    assert centre[row] == pytest.approx(0.0, abs=0.1)
    assert int(centre.argmax()) == row
    assert centre[row - 1] < -0.5 and centre[row + 1] < -0.5  # the window's main lobe spans a few rows
