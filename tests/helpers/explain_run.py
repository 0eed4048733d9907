"""Builders for the explain tests: a tiny trainable CNN, synthetic 'vowel' spectrograms with known bands, and a
complete run directory (tokens, spectrogram store, model, predictions) made without audio."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vowelcam import rundir
from vowelcam.acoustics.features import geometry
from vowelcam.acoustics.store import write_axes, write_shard
from vowelcam.config import SpectrogramSettings
from vowelcam.learn.metrics import prediction_columns
from vowelcam.learn.models import ModelInfo, SpectrogramResNet, checkpoint_dict, hz_per_row_by_layer
from vowelcam.tokens import TOKEN_COLUMNS

from .spectra import formant_peaks

# Ground-truth data: 48 rows x 8 frames; F1 and F3 bumps shared by all classes, F2 row tells the class.
GT_ROWS, GT_FRAMES = 48, 8
GT_F2_ROWS = (14, 24, 34)
GT_SHARED_ROWS = (5, 44)


def band_spectrograms(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(specs [n, 48, 8] dB, class [n], F2 row [n])``: noise on a spectral tilt (1 dB per row, so a row's floor
    level tells its frequency, as in speech) plus 20 dB bumps at the shared rows and the class's F2 row (+-1)."""
    y = rng.integers(0, len(GT_F2_ROWS), n)
    rows = np.arange(GT_ROWS)[None, :, None]
    specs = rng.normal(-40.0, 2.0, (n, GT_ROWS, GT_FRAMES)) - 1.0 * rows
    f2 = np.array(GT_F2_ROWS)[y] + rng.integers(-1, 2, n)
    for centre in (*GT_SHARED_ROWS, f2[:, None, None]):
        specs = specs + 20.0 * np.exp(-0.5 * (rows - centre) ** 2)
    return specs.astype(np.float32), y, f2


class TinyCnn(nn.Module):
    """Three 3x3 conv + batch-norm + ReLU (no stride), global average pooling, ``fc``; the CAM layer is
    ``features``. Batch norm makes training reliable across seeds (5 of 5 reach 100 %)."""

    def __init__(self, n_classes: int = 3, channels: int = 16):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in in (1, channels, channels):
            layers += [nn.Conv2d(c_in, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


def to_input(specs: np.ndarray) -> torch.Tensor:
    """Fixed normalisation (same for every token, as the real models use)."""
    return torch.from_numpy((specs + 60.0) / 15.0)[:, None]


def train_tiny(seed: int = 0, n: int = 400, epochs: int = 6) -> TinyCnn:
    """A TinyCnn trained on :func:`band_spectrograms` (a few seconds on one core)."""
    torch.manual_seed(seed)
    specs, y, _ = band_spectrograms(n, np.random.default_rng(seed))
    x, target = to_input(specs), torch.from_numpy(y)
    model = TinyCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for idx in torch.randperm(n).split(40):
            loss = nn.functional.cross_entropy(model(x[idx]), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


# A run directory: 3 vowels, formants in Hz, 125 Hz rows (n_fft 128 at 16 kHz), 48 frames.
RUN_LABELS = ("AA", "IY", "UW")
RUN_FORMANTS = {"AA": (750.0, 1150.0, 2500.0), "IY": (300.0, 2300.0, 3000.0), "UW": (320.0, 900.0, 2300.0)}
RUN_SETTINGS = SpectrogramSettings(n_fft=128, window_ms=8.0, n_frames=48)


def _token_row(i: int, vowel: str, formants: tuple[float, ...] | None) -> dict:
    row = {c: "" for c in TOKEN_COLUMNS}
    row.update(
        token_id=f"s{i % 4}:{vowel}:{i}",
        file=f"s{i % 4}.wav",
        speaker=f"s{i % 4}",
        group="men" if i % 2 else "women",
        tier="phones",
        interval=i + 1,
        label=f"{vowel}1",
        phone=vowel,
        kind="vowel",
        start=0.1,
        end=0.2,
        duration_ms=100.0,
        spec_shard=0,
        spec_row=i,
        frame_start=14,
        frame_end=34,
    )
    if formants:
        for k, f in enumerate(formants, start=1):
            for p in (20, 50, 80):
                row[f"f{k}_{p}"] = f
            row[f"b{k}_50"] = 80.0 * k
    return row


def make_run(root: Path, n: int = 12, seed: int = 0) -> Path:
    """A complete run directory (untrained resnet18 model, fabricated predictions) under ``root``."""
    rng = np.random.default_rng(seed)
    geo = geometry(RUN_SETTINGS)
    run = rundir.RunDir(root).create()
    vowels = [RUN_LABELS[i % 3] for i in range(n)]
    specs = rng.normal(-70, 3, (n, len(geo.freqs_hz), RUN_SETTINGS.n_frames))
    for i, v in enumerate(vowels):
        specs[i] += formant_peaks(geo.freqs_hz, RUN_FORMANTS[v], 100.0, 30)[:, None]
    write_axes(run.path(rundir.SPECTROGRAMS), RUN_SETTINGS, geo.freqs_hz, geo.times_s)
    write_shard(run.path(rundir.SPECTROGRAMS), 0, specs.astype(np.float16))
    tokens = [_token_row(i, v, None if i == 0 else RUN_FORMANTS[v]) for i, v in enumerate(vowels)]
    rundir.write_csv(run.path(rundir.TOKENS), tokens, TOKEN_COLUMNS)
    strides = [2, 2, 1, 1, 1]
    info = ModelInfo(
        arch="resnet18",
        labels=list(RUN_LABELS),
        task="vowels",
        max_freq=0.0,
        spectrogram=asdict(RUN_SETTINGS),
        norm={"mean": -60.0, "std": 15.0},
        freq_strides=strides,
        hz_per_row=hz_per_row_by_layer(float(geo.freqs_hz[1]), strides),
    )
    torch.manual_seed(seed)
    model = SpectrogramResNet("resnet18", len(RUN_LABELS), strides)
    run.path(rundir.MODEL_DIR).mkdir(exist_ok=True)
    torch.save(checkpoint_dict(model, info), run.path(rundir.MODEL))
    preds = []
    for i, (tok, v) in enumerate(zip(tokens, vowels)):
        predicted = v if i % 5 else RUN_LABELS[(RUN_LABELS.index(v) + 1) % 3]  # tokens 0, 5, 10 misclassified
        row = {
            "token_id": tok["token_id"],
            "true": v,
            "predicted": predicted,
            "prob_true": 0.5,
            "prob_predicted": 0.5,
            "split": "test" if i < n - 2 else "train",
            "fold": 0,
            "correct": int(v == predicted),
        }
        row.update({f"p_{lab}": 1 / 3 for lab in RUN_LABELS})
        preds.append(row)
    rundir.write_csv(run.path(rundir.PREDICTIONS), preds, prediction_columns(RUN_LABELS))
    return root
