"""Token spectrograms: linear frequency, dB, explicit Hz axis, a fixed number of frames centred on the token.

No per-token normalisation and no image resizing: a row is a frequency (``freqs_hz``), a column a time step
(``times_s``, relative to the token's centre). See :class:`vowelcam.config.SpectrogramSettings` for the
defaults and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.fft import rfft

from ..config import SpectrogramSettings
from .audio import Recording, resample


@dataclass(frozen=True)
class SpectrogramGeometry:
    """The axes every spectrogram of a run shares."""

    freqs_hz: np.ndarray  # [F]
    times_s: np.ndarray  # [T] relative to the token centre
    hop: int  # samples at settings.sample_rate
    win: int


def geometry(settings: SpectrogramSettings) -> SpectrogramGeometry:
    """The Hz and time axes for ``settings`` (band limit applied)."""
    sr = settings.sample_rate
    hop = int(round(settings.hop_ms * sr / 1000))
    win = int(round(settings.window_ms * sr / 1000))
    if win > settings.n_fft:
        raise ValueError(f"window ({win} samples) longer than n_fft ({settings.n_fft})")
    freqs = np.arange(settings.n_fft // 2 + 1) * sr / settings.n_fft
    if settings.max_freq:
        freqs = freqs[freqs <= settings.max_freq + 1e-9]
    times = (np.arange(settings.n_frames) - (settings.n_frames - 1) / 2) * hop / sr
    return SpectrogramGeometry(freqs, times, hop, win)


def context_seconds(settings: SpectrogramSettings) -> float:
    """Audio needed on each side of the token centre to fill all frames (plus half a window)."""
    geo = geometry(settings)
    return float(geo.times_s[-1]) + geo.win / settings.sample_rate


def token_spectrogram(
    samples: np.ndarray, sr: int, centre_s: float, settings: SpectrogramSettings, geo: SpectrogramGeometry | None = None
) -> np.ndarray:
    """dB spectrogram ``[F, T]`` (C-contiguous float32) of ``samples`` (float, -1..1), frame ``T//2`` at ``centre_s``.

    ``centre_s`` is relative to the first sample. Audio missing at the edges (token near the start or end of the
    recording) is zero, which shows as the dB floor.
    """
    geo = geo or geometry(settings)
    x = resample(np.asarray(samples, dtype=np.float64), sr, settings.sample_rate)
    centres = np.round((centre_s + geo.times_s) * settings.sample_rate).astype(np.int64)
    starts = centres - geo.win // 2
    pad = int(max(0, -starts.min())) + 1
    right = int(max(0, starts.max() + geo.win - len(x))) + 1
    x = np.pad(x, (pad, right))
    idx = (starts + pad)[:, None] + np.arange(geo.win)[None, :]
    window, full_scale = _hann(geo.win)
    # float32 FFT: its round-off (~-140 dB re the frame's peak) is far below the dB floor and float16 storage
    spectrum = rfft(x[idx].astype(np.float32) * window, n=settings.n_fft, axis=1)[:, : len(geo.freqs_hz)]
    power = spectrum.real**2 + spectrum.imag**2
    # dB re a full-scale sine analysed with the same window: 0 dB = full scale
    db = 10 * np.log10(np.maximum(power / np.float32(full_scale), np.float32(10 ** (settings.db_floor / 10))))
    return np.ascontiguousarray(db.T, dtype=np.float32)  # C order: shards are written and read row-wise


def recording_spectrogram(
    recording: Recording, centre_s: float, settings: SpectrogramSettings, geo: SpectrogramGeometry | None = None
) -> np.ndarray:
    """The spectrogram of the token centred at ``centre_s`` (s from the start of the recording).

    A short recording is resampled once as a whole and every token is cut from it (no filter edges at the
    context's borders); a long one is read and resampled around each token.
    """
    geo = geo or geometry(settings)
    ctx = context_seconds(settings)
    samples, first_s, rate = recording.resampled_segment(centre_s - ctx, centre_s + ctx, settings.sample_rate)
    return token_spectrogram(samples, rate, centre_s - first_s, settings, geo)


@lru_cache(maxsize=8)
def _hann(win: int) -> tuple[np.ndarray, float]:
    """Praat-style Hann window of ``win`` samples (no zero end points) and the power of a full-scale sine in it."""
    window = np.hanning(win + 2)[1:-1]
    full_scale = float((window.sum() / 2) ** 2)
    window = window.astype(np.float32)
    window.setflags(write=False)
    return window, full_scale


def token_frames(
    start_s: float, end_s: float, settings: SpectrogramSettings, geo: SpectrogramGeometry | None = None
) -> tuple[int, int]:
    """The token's own interval in spectrogram frames (end exclusive), clipped to the frame range."""
    geo = geo or geometry(settings)
    half = (end_s - start_s) / 2
    hop_s = geo.hop / settings.sample_rate
    first = int(np.searchsorted(geo.times_s, -half - hop_s / 2))
    last = int(np.searchsorted(geo.times_s, half + hop_s / 2))
    return max(0, first), min(settings.n_frames, max(last, first + 1))
