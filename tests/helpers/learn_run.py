"""Tiny synthetic run directories for the learn tests: tokens.csv + a spectrogram store in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vowelcam import rundir
from vowelcam.acoustics.features import geometry
from vowelcam.acoustics.store import write_axes, write_shard
from vowelcam.config import SpectrogramSettings
from vowelcam.tokens import TOKEN_COLUMNS

from .spectra import formant_peaks

# Two "formant" bands (Hz) per class; unvoiced tokens get broadband high-frequency noise.
BANDS = {"IY": (300, 2300), "AA": (750, 1100), "UW": (320, 900), "AE": (650, 1700)}
SMALL = SpectrogramSettings(sample_rate=8000, n_fft=128, window_ms=15.0, hop_ms=10.0, n_frames=16)


def synthetic_spectrogram(
    phone: str, freqs: np.ndarray, n_frames: int, rng: np.random.Generator, shift: float = 1.0
) -> np.ndarray:
    """dB spectrogram [F, T]: a floor with noise, bright bands at the class's frequencies (scaled by ``shift``)."""
    spec = -70 + 3 * rng.standard_normal((len(freqs), n_frames))
    mid = slice(n_frames // 4, 3 * n_frames // 4)
    if phone == "unvoiced":
        spec[freqs > 2500, mid] += 40
        return spec
    spec[:, mid] += formant_peaks(freqs, [centre * shift for centre in BANDS[phone]], 120, 45)[:, None]
    return spec


def make_run(
    root: Path,
    phones=("IY", "AA", "UW"),
    speakers: int = 6,
    per_class: int = 6,
    unvoiced: int = 0,
    settings: SpectrogramSettings = SMALL,
    seed: int = 0,
) -> Path:
    """A run directory with ``speakers`` x ``per_class`` tokens per class (and ``unvoiced`` per speaker)."""
    rng = np.random.default_rng(seed)
    geo = geometry(settings)
    rows, specs = [], []
    for s in range(speakers):
        shift = 1.0 + 0.04 * (s - speakers / 2) / speakers
        items = [(p, "vowel") for p in phones for _ in range(per_class)] + [("unvoiced", "unvoiced")] * unvoiced
        for i, (phone, kind) in enumerate(items):
            specs.append(synthetic_spectrogram(phone, geo.freqs_hz, settings.n_frames, rng, shift))
            rows.append(
                {
                    "token_id": f"spk{s}_{i}:phones:{i + 1}",
                    "file": f"spk{s}/utt{i % 3}.wav",
                    "speaker": f"spk{s}",
                    "tier": "phones",
                    "interval": i + 1,
                    "label": phone,
                    "phone": "S" if kind == "unvoiced" else phone,
                    "kind": kind,
                    "start": 0.1,
                    "end": 0.2,
                    "duration_ms": 100.0,
                    "spec_shard": 0,
                    "spec_row": len(specs) - 1,
                    "frame_start": 4,
                    "frame_end": 12,
                }
            )
    root.mkdir(parents=True, exist_ok=True)
    rundir.RunDir(root).create()
    store = root / rundir.SPECTROGRAMS
    write_axes(store, settings, geo.freqs_hz, geo.times_s)
    write_shard(store, 0, np.stack(specs).astype(np.float16))
    rundir.write_csv(root / rundir.TOKENS, rows, TOKEN_COLUMNS)
    return root
