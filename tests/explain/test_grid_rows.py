"""A CAM layer row maps to the Hz rows it is centred on (no flip, no shift of the frequency axis)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vowelcam.explain.maps.grid import make_grid

FREQS = np.arange(129) * 31.25  # 0 .. 4000 Hz, the default 16 kHz / 512-point rows up to 4 kHz
FRAMES = 96


@pytest.mark.parametrize("layer_row", [0, 3, 10, 15])
@pytest.mark.parametrize("pool", [1, 2])
def test_a_map_at_one_layer_row_lands_on_that_rows_hz(layer_row, pool):
    layer_rows = -(-len(FREQS) // (4 * pool))
    grid = make_grid("layer4", (layer_rows, 12), FREQS, FRAMES, input_pool=(pool, 1), measured_strides=(4 * pool, 8))
    centres = grid.layer_row_freqs()
    assert np.all(np.diff(centres) > 0), "layer rows must rise in frequency"
    assert centres[layer_row] == pytest.approx(FREQS[0] + ((pool - 1) / 2 + layer_row * 4 * pool) * 31.25)

    maps = torch.zeros(1, layer_rows, 12)
    maps[0, layer_row, :] = 1.0
    up = grid.upsample(maps)[0].numpy()  # [F, T]
    assert up.shape == (len(FREQS), FRAMES)
    profile = up.mean(axis=1)
    peak_hz = FREQS[int(profile.argmax())]
    assert abs(peak_hz - centres[layer_row]) <= 31.25 / 2 + 1e-9, (peak_hz, centres[layer_row])
    # the weight centroid over the rows the cell touches sits on the cell's centre (linear interpolation)
    touched = profile > 0
    centroid = float((FREQS[touched] * profile[touched]).sum() / profile[touched].sum())
    if layer_row > 0:
        assert centroid == pytest.approx(centres[layer_row], abs=31.25 / 2)


def test_low_and_high_halves_stay_low_and_high():
    grid = make_grid("layer4", (33, 12), FREQS, FRAMES, measured_strides=(4, 8))
    maps = torch.zeros(1, 33, 12)
    maps[0, :5, :] = 1.0  # the five lowest layer rows: 0 .. 500 Hz
    up = grid.upsample(maps)[0].numpy()
    assert up[FREQS <= 500].min() == pytest.approx(1.0)
    assert up[FREQS >= 625].max() == pytest.approx(0.0)
