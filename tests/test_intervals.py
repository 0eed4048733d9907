"""Speaker-level (cluster) bootstrap: wider than a token bootstrap when speakers differ, and honest about units."""

import math

import numpy as np

from vowelcam.intervals import (
    RECORDING_UNIT,
    SPEAKER_UNIT,
    TOKEN_UNIT,
    cluster_bootstrap_mean,
    cluster_bootstrap_paired_difference,
    resampling_clusters,
)


def _speaker_effect_data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    speakers = np.repeat([f"s{i}" for i in range(6)], 100)
    values = np.repeat(rng.normal(0, 1, 6), 100) + rng.normal(0, 1, 600)
    return values, speakers


def test_speaker_bootstrap_is_much_wider_than_token_bootstrap_with_a_speaker_effect():
    values, speakers = _speaker_effect_data()
    _, lo_s, hi_s, n, n_clusters = cluster_bootstrap_mean(values, speakers, 2000, 0)
    _, lo_t, hi_t, _, _ = cluster_bootstrap_mean(values, [str(i) for i in range(len(values))], 2000, 0)
    assert (n, n_clusters) == (600, 6)
    assert (hi_s - lo_s) > 4 * (hi_t - lo_t)


def test_interval_covers_the_mean_and_is_nan_with_one_cluster():
    values, speakers = _speaker_effect_data()
    mean, lo, hi, _, _ = cluster_bootstrap_mean(values, speakers, 500, 0)
    assert lo <= mean <= hi
    mean1, lo1, hi1, n1, k1 = cluster_bootstrap_mean(values[:100], speakers[:100], 500, 0)
    assert math.isfinite(mean1) and math.isnan(lo1) and math.isnan(hi1) and (n1, k1) == (100, 1)


def test_non_finite_values_are_left_out_and_pairs_stay_together():
    a = np.array([1.0, np.nan, 3.0, 5.0])
    b = np.array([0.0, 1.0, 1.0, np.nan])
    mean, _, _, n, k = cluster_bootstrap_paired_difference(a, b, ["x", "x", "y", "z"], 100, 0)
    assert (mean, n, k) == (1.5, 2, 2)


def test_resampling_unit_speakers_then_recordings_then_tokens():
    assert resampling_clusters(["a", "b", ""], ["f1", "f2", "f3"]) == (["a", "b", "recording:f3"], SPEAKER_UNIT)
    assert resampling_clusters(["a", "a"], ["f1", "f2"]) == (["f1", "f2"], RECORDING_UNIT)
    assert resampling_clusters(["a", "a"], ["f1", "f1"]) == (["token:0", "token:1"], TOKEN_UNIT)
