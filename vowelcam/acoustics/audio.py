"""Audio input with soundfile: WAV/FLAC, 8-48 kHz (any rate soundfile reads), 16/24/32-bit int or float,
mono or stereo (averaged to mono). Tokens are read as segments, so long recordings never sit in memory whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import AudioError


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
    first = max(0, int(np.floor(start_s * info.sample_rate)))
    last = min(info.frames, int(np.ceil(end_s * info.sample_rate)))
    try:
        with sf.SoundFile(str(info.path)) as fh:
            fh.seek(first)
            data = fh.read(max(0, last - first), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise AudioError(info.path, "unreadable audio", str(exc).split("\n")[0][:160]) from None
    if len(data) < (last - first) * 0.99:
        raise AudioError(info.path, "truncated audio", f"got {len(data)} of {last - first} samples at {start_s:.3f} s")
    return data.mean(axis=1), first / info.sample_rate


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB re full scale (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def clipped_fraction(samples: np.ndarray, threshold: float = 0.999) -> float:
    """Share of samples at or beyond full scale."""
    return float(np.mean(np.abs(samples) >= threshold)) if len(samples) else 0.0
