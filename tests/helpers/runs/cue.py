"""A run directory whose three vowel classes differ in F2 alone (F1 and F3 jittered, uninformative), made without
audio, for the sceptic's tests of the controls: a model trained on it must be seen to use F2 and nothing else.

The formants lie further apart than a layer4 cell's point spread (~0.6 kHz here: F2 - F1 >= 0.63 kHz, F3 - F2 >=
0.7 kHz after the speaker's scaling), so that "the map sits on F2, not F1 or F3" is a question the map can answer;
closer formants have overlapping bands and are not read at all (vowelcam.explain.readings.bands)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vowelcam import rundir
from vowelcam.acoustics.features import geometry
from vowelcam.config import SpectrogramSettings

from ..spectra import formant_peaks
from .parts import formant_columns, token_row, write_spectrograms, write_tokens

CUE_SETTINGS = SpectrogramSettings(n_fft=256, window_ms=12.0, hop_ms=10.0, n_frames=16, max_freq=4000.0)
CUE_CLASSES = {"UH": 1100.0, "IH": 1650.0, "IY": 2200.0}  # F2 (Hz) of each class; F1 and F3 drawn from the same ranges
F1_RANGE, F3_RANGE = (250.0, 430.0), (2950.0, 3400.0)
BANDWIDTHS = (120.0, 160.0, 200.0)
FRAMES = (4, 12)  # the vowel's frames within the window


def cue_spectrogram(formants: tuple[float, float, float], freqs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """dB spectrogram ``[F, T]``: noise on a -6 dB/octave-like tilt, formant peaks (F1 strongest) in the vowel's
    frames, a weaker copy of the tilt outside them."""
    n_frames = CUE_SETTINGS.n_frames
    tilt = -45.0 - 12.0 * np.log2(1 + freqs / 500.0)
    envelope = formant_peaks(freqs, formants, [bw / 1.5 for bw in BANDWIDTHS], (30.0, 24.0, 18.0))
    spec = tilt[:, None] + rng.normal(0.0, 2.0, (len(freqs), n_frames)) - 20.0
    spec[:, FRAMES[0] : FRAMES[1]] += 20.0 + envelope[:, None]
    return np.maximum(spec, CUE_SETTINGS.db_floor)


def cue_run(root: Path, n_speakers: int = 9, per_class: int = 6, seed: int = 0) -> Path:
    """A run directory (tokens.csv + spectrogram store, no model) with the F2-only cue, ``per_class`` tokens of
    each class per speaker. Each speaker shifts all formants by a common factor (vocal-tract length)."""
    rng = np.random.default_rng(seed)
    geo = geometry(CUE_SETTINGS)
    rundir.RunDir(root).create()
    tokens, specs = [], []
    for s in range(n_speakers):
        speaker, scale = f"s{s}", rng.uniform(0.94, 1.06)
        for vowel, f2 in CUE_CLASSES.items():
            for _ in range(per_class):
                formants = (
                    rng.uniform(*F1_RANGE) * scale,
                    (f2 + rng.normal(0, 60)) * scale,
                    rng.uniform(*F3_RANGE) * scale,
                )
                i = len(tokens)
                tokens.append(
                    token_row(
                        token_id=f"{speaker}:{vowel}:{i}",
                        file=f"{speaker}/{i}.wav",
                        speaker=speaker,
                        group="men",
                        interval=1,
                        label=f"{vowel}1",
                        phone=vowel,
                        duration_ms=80.0,
                        spec_row=i,
                        frame_start=FRAMES[0],
                        frame_end=FRAMES[1],
                        **formant_columns(formants, BANDWIDTHS),
                    )
                )
                specs.append(cue_spectrogram(formants, geo.freqs_hz, rng))
    write_spectrograms(root, CUE_SETTINGS, np.array(specs))
    write_tokens(root, tokens)
    return root
