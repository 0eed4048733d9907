"""Audio input with soundfile: WAV/FLAC, 8-48 kHz (any rate soundfile reads), 16/24/32-bit int or float,
mono or stereo (averaged to mono), and sample-rate conversion.

A :class:`Recording` serves the many tokens of one file: a recording of up to ``WHOLE_FILE_MAX_SAMPLES`` samples is
read (and, when asked, resampled) once; a longer one is read segment by segment, so it never sits in memory whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import firwin, resample_poly

from ..errors import AudioError

WHOLE_FILE_MAX_SAMPLES = 4_000_000  # frames x channels (32 MB as float64: 250 s at 16 kHz, 83 s at 48 kHz)


@dataclass(frozen=True)
class AudioInfo:
    """What the header says."""

    path: Path
    sample_rate: int
    frames: int
    channels: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def audio_info(path: str | Path) -> AudioInfo:
    """Read the header; raises AudioError naming the file when it is not readable audio."""
    path = Path(path)
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise AudioError(path, "unreadable audio", str(exc).split("\n")[0][:160]) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError(path, "empty audio", f"{info.frames} frames at {info.samplerate} Hz")
    return AudioInfo(path, int(info.samplerate), int(info.frames), int(info.channels))


def read_segment(info: AudioInfo, start_s: float, end_s: float) -> tuple[np.ndarray, float]:
    """Mono float64 samples from ``start_s`` to ``end_s`` (clipped to the file) and the actual start time.

    Raises AudioError when the data cannot be read (e.g. a truncated file whose header promises more).
    """
    first, last = _sample_range(info, start_s, end_s)
    try:
        with sf.SoundFile(str(info.path)) as fh:
            fh.seek(first)
            data = fh.read(max(0, last - first), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise AudioError(info.path, "unreadable audio", str(exc).split("\n")[0][:160]) from None
    _check_complete(info, len(data), last - first, start_s)
    return data.mean(axis=1), first / info.sample_rate


def _sample_range(info: AudioInfo, start_s: float, end_s: float) -> tuple[int, int]:
    first = max(0, int(np.floor(start_s * info.sample_rate)))
    return first, min(info.frames, int(np.ceil(end_s * info.sample_rate)))


def _check_complete(info: AudioInfo, got: int, wanted: int, start_s: float) -> None:
    if got < wanted * 0.99:
        raise AudioError(info.path, "truncated audio", f"got {got} of {wanted} samples at {start_s:.3f} s")


class Recording:
    """Segments of one recording for many tokens: read whole once when short, else around each token."""

    def __init__(self, info: AudioInfo, whole_max_samples: int | None = None) -> None:
        self.info = info
        limit = WHOLE_FILE_MAX_SAMPLES if whole_max_samples is None else whole_max_samples
        self.whole = info.frames * info.channels <= limit
        self._samples: np.ndarray | None = None
        self._error: AudioError | None = None
        self._resampled: dict[int, np.ndarray] = {}

    def segment(self, start_s: float, end_s: float) -> tuple[np.ndarray, float]:
        """Like :func:`read_segment` (same errors); a view into the recording when it is held whole."""
        if not self.whole:
            return read_segment(self.info, start_s, end_s)
        samples = self._all()
        first, last = _sample_range(self.info, start_s, end_s)
        _check_complete(self.info, max(0, min(last, len(samples)) - first), last - first, start_s)
        return samples[first:last], first / self.info.sample_rate

    def resampled_segment(self, start_s: float, end_s: float, rate: int) -> tuple[np.ndarray, float, int]:
        """Samples at ``rate`` from ``start_s`` to ``end_s`` (clipped to the file), their start time and rate."""
        if not self.whole or rate == self.info.sample_rate:
            samples, first_s = self.segment(start_s, end_s)
            return resample(samples, self.info.sample_rate, rate), first_s, rate
        self.segment(start_s, end_s)  # the same truncation errors as at the native rate
        if rate not in self._resampled:
            self._resampled[rate] = resample(self._all(), self.info.sample_rate, rate)
        signal = self._resampled[rate]
        first = max(0, int(np.floor(start_s * rate)))
        return signal[first : max(first, int(np.ceil(end_s * rate)))], first / rate, rate

    def _all(self) -> np.ndarray:
        if self._error is not None:
            raise self._error
        if self._samples is None:
            try:
                data, _ = sf.read(str(self.info.path), dtype="float64", always_2d=True)
            except (RuntimeError, sf.LibsndfileError, OSError) as exc:
                self._error = AudioError(self.info.path, "unreadable audio", str(exc).split("\n")[0][:160])
                raise self._error from None
            self._samples = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
        return self._samples


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


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB re full scale (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def clipped_fraction(samples: np.ndarray, threshold: float = 0.999) -> float:
    """Share of samples at or beyond full scale."""
    return float(np.mean(np.abs(samples) >= threshold)) if len(samples) else 0.0
