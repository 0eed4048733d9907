"""The cluster bootstrap's interval has the width its level promises (checked against normal theory)."""

from __future__ import annotations

import numpy as np
import pytest

from vowelcam.intervals import Z95, cluster_bootstrap_mean

Z80 = 1.2815515655446004


def _clustered(n_clusters: int = 60, per_cluster: int = 5, seed: int = 1) -> tuple[np.ndarray, list[str]]:
    """Equal-sized clusters whose tokens share their cluster's mean (so only the clusters vary)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 1.0, n_clusters)
    values = np.repeat(means, per_cluster) + 0.01 * rng.standard_normal(n_clusters * per_cluster)
    clusters = [f"s{i}" for i in range(n_clusters) for _ in range(per_cluster)]
    return values, clusters


def _normal_width(values: np.ndarray, clusters: list[str], z: float) -> float:
    """Width of the normal-theory interval of the mean of equal-sized cluster means (bootstrap's plug-in SD)."""
    names = sorted(set(clusters))
    means = np.array([values[[c == n for c in clusters]].mean() for n in names])
    return 2 * z * means.std(ddof=0) / np.sqrt(len(names))


@pytest.mark.parametrize("level, z", [(0.95, Z95), (0.80, Z80)])
def test_width_matches_the_level(level, z):
    values, clusters = _clustered()
    mean, lo, hi, n, k = cluster_bootstrap_mean(values, clusters, n_boot=4000, seed=0, level=level)
    assert (n, k) == (300, 60)
    assert lo < mean < hi
    expected = _normal_width(values, clusters, z)
    assert hi - lo == pytest.approx(expected, rel=0.10), (
        f"{100 * level:.0f} % interval: {hi - lo:.3f} vs {expected:.3f}"
    )


def test_default_level_is_95_percent():
    values, clusters = _clustered()
    _, lo, hi, _, _ = cluster_bootstrap_mean(values, clusters, n_boot=4000, seed=0)
    assert hi - lo == pytest.approx(_normal_width(values, clusters, Z95), rel=0.10)


def test_interval_resamples_clusters_not_tokens():
    """Many tokens per cluster: a token bootstrap would be about sqrt(tokens per cluster) times narrower."""
    values, clusters = _clustered(n_clusters=20, per_cluster=50)
    _, lo, hi, _, _ = cluster_bootstrap_mean(values, clusters, n_boot=2000, seed=0)
    assert hi - lo == pytest.approx(_normal_width(values, clusters, Z95), rel=0.15)


def test_replicates_weight_tokens_like_the_point_estimate():
    """One big cluster of 1s and nine one-token clusters of 0s: the token mean is 0.92. A replicate that holds the
    big cluster is near 0.92 too (token-weighted); averaging cluster means instead would give about 0.1."""
    values = [1.0] * 100 + [0.0] * 9
    clusters = ["big"] * 100 + [f"small{i}" for i in range(9)]
    mean, lo, hi, _, _ = cluster_bootstrap_mean(values, clusters, n_boot=2000, seed=0)
    assert mean == pytest.approx(100 / 109)
    assert lo == 0.0 and hi > 0.9


def test_every_cluster_can_be_drawn():
    """Two clusters, one all 0 and one all 1: replicates are 0, 0.5 or 1, so the 95 % interval is [0, 1]."""
    values = [0.0] * 10 + [1.0] * 10
    clusters = ["a"] * 10 + ["b"] * 10
    mean, lo, hi, _, k = cluster_bootstrap_mean(values, clusters, n_boot=2000, seed=0)
    assert (mean, lo, hi, k) == (0.5, 0.0, 1.0, 2)
