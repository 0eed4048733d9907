"""An extracted run in seconds (tokens.csv + a spectrogram store, no audio): what the learn stage starts from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vowelcam import rundir
from vowelcam.acoustics.features import geometry
from vowelcam.config import SpectrogramSettings

from ..spectra import formant_peaks
from .parts import token_row, write_spectrograms, write_tokens

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


def extracted_run(
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
                token_row(
                    token_id=f"spk{s}_{i}:phones:{i + 1}",
                    file=f"spk{s}/utt{i % 3}.wav",
                    speaker=f"spk{s}",
                    interval=i + 1,
                    label=phone,
                    phone="S" if kind == "unvoiced" else phone,
                    kind=kind,
                    duration_ms=100.0,
                    spec_row=len(specs) - 1,
                    frame_start=4,
                    frame_end=12,
                )
            )
    root.mkdir(parents=True, exist_ok=True)
    rundir.RunDir(root).create()
    write_spectrograms(root, settings, np.stack(specs))
    write_tokens(root, rows)
    return root
