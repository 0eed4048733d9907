"""No NumPy warning reaches the user from the evidence tests: an all-NaN statistic is NaN in the table, quietly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests.helpers.tiny_cnn import GT_FRAMES, GT_ROWS, TinyCnn, band_spectrograms, to_input
from vowelcam.checks.finite import mean_of_finite, sd_of_finite
from vowelcam.explain.evidence.common import FaithInputs, FaithSpec
from vowelcam.explain.evidence.randomisation import randomisation
from vowelcam.explain.maps.grid import make_grid

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_mean_and_sd_of_finite_values_match_numpy_and_stay_quiet():
    values = np.array([[1.0, np.nan, np.inf], [3.0, np.nan, 2.0], [2.0, np.nan, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, sd = mean_of_finite(values), sd_of_finite(values)
    assert mean[0] == pytest.approx(2.0) and np.isnan(mean[1]) and mean[2] == pytest.approx(3.0)
    assert sd[0] == pytest.approx(np.std([1.0, 3.0, 2.0])) and np.isnan(sd[1]) and sd[2] == pytest.approx(1.0)


def test_randomisation_of_constant_maps_gives_nan_rows_without_runtime_warnings():
    """Constant maps have no rank correlation (NaN for every token and seed): the mean over seeds used to warn
    "Mean of empty slice" and the seed sd "Degrees of freedom <= 0"."""
    torch.manual_seed(0)
    model = TinyCnn()
    n = 12
    specs, y, _ = band_spectrograms(n, np.random.default_rng(0))
    grid = make_grid("features", (GT_ROWS, GT_FRAMES), np.arange(GT_ROWS) * 31.25, GT_FRAMES)
    inp = FaithInputs(
        model,
        model.features,
        [("fc", [model.fc])],
        grid,
        lambda s: to_input(np.asarray(s, np.float32)),
        specs,
        y,
        np.tile([0, GT_FRAMES], (n, 1)),
        "gradcam",
        torch.device("cpu"),
        speakers=[f"s{i % 4}" for i in range(n)],
        recordings=[f"f{i}" for i in range(n)],
    )
    spec = FaithSpec(randomisation_seeds=2, randomisation_max_tokens=n, n_boot=50, batch_size=n)
    constant = np.zeros((n, GT_ROWS, GT_FRAMES), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rows = randomisation(inp, constant, spec)
    assert {r["metric"] for r in rows} == {"spearman", "spearman_seed_sd"}
    assert all(np.isnan(r["value"]) and r["n"] == 0 for r in rows)
