"""A tiny trainable CNN and synthetic 'vowel' spectrograms with known bands: ground truth for the CAM methods and
the evidence tests."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

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
