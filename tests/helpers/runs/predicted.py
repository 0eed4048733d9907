"""A run directory as the learn stage leaves it (tokens, spectrogram store, model, predictions), made without audio
or training: an untrained resnet18 and fabricated predictions, for the explain stage's tests."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from vowelcam import rundir
from vowelcam.acoustics.features import geometry
from vowelcam.config import SpectrogramSettings
from vowelcam.learn.metrics import prediction_columns
from vowelcam.learn.models import ModelInfo, SpectrogramResNet, checkpoint_dict, hz_per_row_by_layer

from ..spectra import formant_peaks
from .parts import formant_columns, prediction_row, token_row, write_spectrograms, write_tokens

# 3 vowels, formants in Hz, 125 Hz rows (n_fft 128 at 16 kHz), 48 frames.
RUN_LABELS = ("AA", "IY", "UW")
RUN_FORMANTS = {"AA": (750.0, 1150.0, 2500.0), "IY": (300.0, 2300.0, 3000.0), "UW": (320.0, 900.0, 2300.0)}
RUN_SETTINGS = SpectrogramSettings(n_fft=128, window_ms=8.0, n_frames=48)
STRIDES = [2, 2, 1, 1, 1]


def _token(i: int, vowel: str, with_formants: bool) -> dict:
    formants = formant_columns(RUN_FORMANTS[vowel], (80.0, 160.0, 240.0)) if with_formants else {}
    return token_row(
        token_id=f"s{i % 4}:{vowel}:{i}",
        file=f"s{i % 4}.wav",
        speaker=f"s{i % 4}",
        group="men" if i % 2 else "women",
        interval=i + 1,
        label=f"{vowel}1",
        phone=vowel,
        duration_ms=100.0,
        spec_row=i,
        frame_start=14,
        frame_end=34,
        **formants,
    )


def _write_model(run: rundir.RunDir, freq_step: float, seed: int) -> None:
    info = ModelInfo(
        arch="resnet18",
        labels=list(RUN_LABELS),
        task="vowels",
        max_freq=0.0,
        spectrogram=asdict(RUN_SETTINGS),
        norm={"mean": -60.0, "std": 15.0},
        freq_strides=STRIDES,
        hz_per_row=hz_per_row_by_layer(freq_step, STRIDES),
    )
    torch.manual_seed(seed)
    model = SpectrogramResNet("resnet18", len(RUN_LABELS), STRIDES)
    run.path(rundir.MODEL_DIR).mkdir(exist_ok=True)
    torch.save(checkpoint_dict(model, info), run.path(rundir.MODEL))


def predicted_run(root: Path, n: int = 12, seed: int = 0) -> Path:
    """A complete learn-stage run directory under ``root``: ``n`` tokens (the first without formants), an untrained
    resnet18, predictions with tokens 0, 5, 10, ... misclassified and the last two in the train split."""
    rng = np.random.default_rng(seed)
    geo = geometry(RUN_SETTINGS)
    run = rundir.RunDir(root).create()
    vowels = [RUN_LABELS[i % 3] for i in range(n)]
    specs = rng.normal(-70, 3, (n, len(geo.freqs_hz), RUN_SETTINGS.n_frames))
    for i, v in enumerate(vowels):
        specs[i] += formant_peaks(geo.freqs_hz, RUN_FORMANTS[v], 100.0, 30)[:, None]
    write_spectrograms(root, RUN_SETTINGS, specs)
    tokens = [_token(i, v, i != 0) for i, v in enumerate(vowels)]
    write_tokens(root, tokens)
    _write_model(run, float(geo.freqs_hz[1]), seed)
    preds = []
    for i, (tok, v) in enumerate(zip(tokens, vowels)):
        predicted = v if i % 5 else RUN_LABELS[(RUN_LABELS.index(v) + 1) % 3]
        split = "test" if i < n - 2 else "train"
        preds.append(prediction_row(tok["token_id"], v, predicted, 0.5, 0.5, dict.fromkeys(RUN_LABELS, 1 / 3), split))
    rundir.write_csv(run.path(rundir.PREDICTIONS), preds, prediction_columns(RUN_LABELS))
    return root
