"""Band readings on designed maps: which frames count, where a peak between rows lies, how wide a band is, and
which reference group a spelling reads."""

from __future__ import annotations

import numpy as np
import pytest

from vowelcam.explain.readings.bands import BandSpec, frequency_profile, profile_peaks, reference_for, refine_peak


def test_profile_sums_the_tokens_frames_end_exclusive():
    cam = np.zeros((4, 8))
    cam[1, :] = np.arange(8)  # frame f holds f
    profile, neg = frequency_profile(cam, 2, 5)
    assert profile[1] == 2 + 3 + 4 and profile.sum() == 9 and neg == 0.0


def test_a_peak_between_rows_leans_towards_the_larger_neighbour():
    profile = np.array([0.0, 1.0, 3.0, 2.0, 0.0])
    assert refine_peak(profile, 2) == pytest.approx(2 + 0.5 * (1 - 2) / (1 - 6 + 2))  # the parabola's vertex
    assert refine_peak(profile, 2) > 2 and refine_peak(profile[::-1], 2) < 2
    freqs = np.arange(5) * 100.0
    assert 200.0 < profile_peaks(profile, freqs)[0][0] < 250.0


def test_symmetric_peak_stays_on_its_row():
    assert refine_peak(np.array([0.0, 2.0, 3.0, 2.0, 0.0]), 2) == 2.0


@pytest.mark.parametrize(
    "spec, bandwidth, half",
    [
        (BandSpec(), 160.0, 80.0),  # half the bandwidth
        (BandSpec(), 60.0, 50.0),  # the minimum
        (BandSpec(point_spread_hz=400.0), 160.0, 200.0),  # never narrower than half the point spread
        (BandSpec(point_spread_hz=100.0), 160.0, 80.0),
        (BandSpec(halfwidth_hz=120.0), 400.0, 120.0),  # a fixed half-width
        (BandSpec(halfwidth_hz=120.0, point_spread_hz=300.0), 400.0, 150.0),
    ],
)
def test_band_halfwidth(spec, bandwidth, half):
    assert spec.halfwidth(bandwidth) == half


@pytest.mark.parametrize(
    "spelling, group",
    [("m", "men"), ("male", "men"), ("w", "women"), ("f", "women"), ("c", "children"), ("child", "children")],
)
def test_reference_lookup_reads_each_groups_own_row(spelling, group):
    table = {("IY", g): {"f1_mean": value} for g, value in (("men", 342.0), ("women", 437.0), ("children", 452.0))}
    assert reference_for(table, "iy", spelling) is table[("IY", group)]
