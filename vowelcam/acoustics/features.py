"""Token spectrograms: linear frequency, dB, explicit Hz axis, a fixed number of frames centred on the token.

No per-token normalisation and no image resizing: a row is a frequency (``freqs_hz``), a column a time step
(``times_s``, relative to the token's centre). See :class:`vowelcam.config.SpectrogramSettings` for the
defaults and why.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, resample_poly

from ..config import SpectrogramSettings


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


@lru_cache(maxsize=16)
def _antialias_filter(up: int, down: int) -> np.ndarray:
    """scipy's default resample_poly filter (Kaiser, beta 5), designed once per ratio instead of per call."""
    max_rate = max(up, down)
    half_len = 10 * max_rate
    return firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * up


def resample(samples: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (exact rational ratio)."""
    if sr_in == sr_out:
        return samples
    ratio = Fraction(sr_out, sr_in).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    return resample_poly(samples, up, down, window=_antialias_filter(up, down) / up)


def token_spectrogram(
    samples: np.ndarray, sr: int, centre_s: float, settings: SpectrogramSettings, geo: SpectrogramGeometry | None = None
) -> np.ndarray:
    """dB spectrogram ``[F, T]`` of ``samples`` (float, -1..1) with frame ``T//2`` centred at ``centre_s``.

    ``centre_s`` is relative to the first sample. Audio missing at the edges (token near the start or end of the
    recording) is zero, which shows as the dB floor.
    """
    geo = geo or geometry(settings)
    x = resample(np.asarray(samples, dtype=np.float64), sr, settings.sample_rate)
    sr_out = settings.sample_rate
    centres = np.round((centre_s + geo.times_s) * sr_out).astype(np.int64)
    starts = centres - geo.win // 2
    pad = int(max(0, -starts.min())) + 1
    right = int(max(0, starts.max() + geo.win - len(x))) + 1
    x = np.pad(x, (pad, right))
    idx = (starts + pad)[:, None] + np.arange(geo.win)[None, :]
    frames = x[idx] * np.hanning(geo.win + 2)[1:-1]
    power = np.abs(np.fft.rfft(frames, n=settings.n_fft, axis=1)) ** 2
    power = power[:, : len(geo.freqs_hz)]
    # dB re a full-scale sine analysed with the same window: 0 dB = full scale
    ref = (np.hanning(geo.win + 2)[1:-1].sum() / 2) ** 2
    db = 10 * np.log10(np.maximum(power / ref, 10 ** (settings.db_floor / 10)))
    return db.T.astype(np.float32)


def token_frames(start_s: float, end_s: float, settings: SpectrogramSettings) -> tuple[int, int]:
    """The token's own interval in spectrogram frames (end exclusive), clipped to the frame range."""
    geo = geometry(settings)
    half = (end_s - start_s) / 2
    hop_s = geo.hop / settings.sample_rate
    first = int(np.searchsorted(geo.times_s, -half - hop_s / 2))
    last = int(np.searchsorted(geo.times_s, half + hop_s / 2))
    return max(0, first), min(settings.n_frames, max(last, first + 1))
