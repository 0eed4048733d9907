"""Faithfulness tests that can fail: envelope in-fill, energy-matched random bands, the sceptic's explainers
(energy map, flat map) against a CAM, randomisation cascade and label permutation, the vocal-tract-length warp."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.tiny_cnn import GT_FRAMES, GT_ROWS, band_spectrograms, to_input, train_tiny
from vowelcam.explain.evidence.common import (
    FaithInputs,
    FaithSpec,
    energy_profiles,
    interval_profiles,
    layer_maps,
    predict,
    stat_row,
)
from vowelcam.explain.evidence.deletion import (
    band_deletion,
    deletion_arm,
    infill_band,
    matched_random_starts,
    top_band_starts,
)
from vowelcam.explain.evidence.faithfulness import deletion_passes
from vowelcam.explain.evidence.randomisation import randomisation, resnet_cascade, spearman_rows
from vowelcam.explain.evidence.warp import envelope_split, profile_scale, stretch_rows, warp_envelope
from vowelcam.explain.maps.grid import make_grid

pytestmark = pytest.mark.usefixtures("one_torch_thread")
DF = 31.25  # Hz per row of the ground-truth spectrograms
SPEC = FaithSpec(
    width_hz=4 * DF,
    widths_hz=(4 * DF, 8 * DF),
    random_draws=3,
    n_boot=400,
    batch_size=64,
    randomisation_seeds=2,
    randomisation_max_tokens=40,
)


def _inputs(model, n=96, seed=5, cascade=()):
    specs, y, _ = band_spectrograms(n, np.random.default_rng(seed))
    layer = model.features
    grid = make_grid("features", (GT_ROWS, GT_FRAMES), np.arange(GT_ROWS) * DF, GT_FRAMES)
    return FaithInputs(
        model,
        layer,
        cascade,
        grid,
        lambda s: to_input(np.asarray(s, np.float32)),
        specs,
        y,
        np.tile([0, GT_FRAMES], (n, 1)),
        "gradcam",
        torch.device("cpu"),
        speakers=[f"s{i % 12}" for i in range(n)],
        recordings=[f"f{i}" for i in range(n)],
    )


@pytest.fixture(scope="module")
def trained():
    return train_tiny()


# ------------------------------------------------------------------------------------------------ helpers
def test_infill_removes_a_peak_and_keeps_level_tilt_and_texture():
    rng = np.random.default_rng(0)
    rows = np.arange(40)[:, None]
    spec = (-1.0 * rows + rng.normal(0, 2.0, (40, 50)) + 25 * np.exp(-0.5 * ((rows - 20) / 1.5) ** 2)).astype(
        np.float32
    )
    out = infill_band(spec[None], np.array([16]), 8, np.random.default_rng(1))[0]
    band = out[16:24]
    assert np.abs(band.mean(axis=1) - (-rows[16:24, 0])).max() < 1.5  # the line of the tilt, not the peak
    assert np.std(band - (-rows[16:24])) == pytest.approx(2.0, rel=0.25)  # texture matched to the neighbours
    assert np.array_equal(out[:16], spec[:16]) and np.array_equal(out[24:], spec[24:])
    edge = infill_band(spec[None], np.array([0]), 4, np.random.default_rng(1))[0]
    assert abs(edge[:4].mean() - spec[4:6].mean()) < 1.5  # one-sided at the axis' edge


def test_random_bands_never_overlap_the_top_band_and_match_its_energy():
    means = np.array([[0.0, 10, 10, 0, 9.0, 0, 0, 8.5, 0, 0]])
    starts, mismatch, matched = matched_random_starts(means, np.array([1]), 2, 50, 2.0, np.random.default_rng(0))
    assert set(starts[:, 0]) == {4, 7} and matched[0] and mismatch[0] <= 1.5
    starts, mismatch, matched = matched_random_starts(means, np.array([1]), 2, 2, 0.1, np.random.default_rng(0))
    assert not matched[0] and set(starts[:, 0]) == {4, 7} and mismatch[0] >= 1.0  # closest, mismatch reported
    assert list(top_band_starts(np.array([[0, 5, 5, 0, 1, 0.0], [0, 0, 0, 1, 9, 9.0]]), 2)) == [1, 4]


def test_stat_rows_resample_speakers_and_say_so():
    values = np.r_[np.zeros(50), np.ones(50)]
    clusters = [f"s{i // 50}" for i in range(100)]  # two speakers, each constant: a wide interval
    row = stat_row("t", "c", "m", values, clusters, "speaker", FaithSpec(n_boot=500))
    assert (row["value"], row["n"], row["n_clusters"], row["unit"]) == (0.5, 100, 2, "speaker")
    assert row["ci_lo"] == 0.0 and row["ci_hi"] == 1.0
    assert deletion_passes(
        [{"test": "band_deletion", "condition": "top_minus_random", "metric": "prob_drop", "ci_lo": 0.01}]
    ) and not deletion_passes([])


# ------------------------------------------------------------------------------- the sceptic's explainers
@pytest.mark.slow
def test_band_deletion_passes_the_cam_and_fails_energy_and_flat_maps(trained):
    """On data whose class lives in one band (F2) while louder bands (F1, F3) are shared, the trained model's CAM
    passes band deletion against energy-matched random bands; the model-free energy map and a flat map do not."""
    inp = _inputs(trained)
    base = predict(inp, inp.specs, SPEC)
    assert (base.argmax(1) == inp.true_idx).mean() > 0.95
    cam = interval_profiles(layer_maps(inp, inp.specs, SPEC), inp)
    explainers = {"cam": cam, "energy": energy_profiles(inp.specs, inp.frames), "flat": np.ones_like(cam)}
    p0 = base[np.arange(len(base)), inp.true_idx]
    verdicts, effects = {}, {}
    for name, profiles in explainers.items():
        arm = deletion_arm(inp, profiles, 4, SPEC, np.random.default_rng(0), energy_arm=False)
        row = stat_row(
            "band_deletion", "top_minus_random", "prob_drop", arm["random"] - arm["top"], inp.clusters, inp.unit, SPEC
        )
        verdicts[name], effects[name] = deletion_passes([row]), row["value"]
        if name == "cam":
            assert np.mean(p0 - arm["top"]) > 0.3  # deleting the CAM band removes the class
    assert verdicts == {"cam": True, "energy": False, "flat": False}, effects
    assert effects["cam"] > 0.3 and effects["energy"] < 0.05


@pytest.mark.slow
def test_band_deletion_rows_cover_arms_widths_and_intervals(trained):
    inp = _inputs(trained, n=48)
    base = predict(inp, inp.specs, SPEC)
    profiles = interval_profiles(layer_maps(inp, inp.specs, SPEC), inp)
    rows = band_deletion(inp, base, profiles, SPEC)
    got = {(r["test"], r["condition"], r["metric"]): r for r in rows}
    for arm in ("top_cam_band", "top_energy_band", "random_band"):
        assert ("band_deletion", arm, "prob_drop") in got
    assert {("deletion_curve", f"top_minus_random@{w:g}Hz", "prob_drop") for w in (125, 250)} <= set(got)
    energy_arm = got[("band_deletion", "top_minus_energy", "prob_drop")]
    assert energy_arm["value"] > 0 and energy_arm["unit"] == "speaker" and energy_arm["n_clusters"] == 12
    assert got[("band_deletion", "top_cam_band", "overlap_share")]["value"] < 0.2  # CAM band != loudest band
    assert deletion_passes(rows)


# ----------------------------------------------------------------------------------------- randomisation
@pytest.mark.slow
def test_cascading_randomisation_decorrelates_maps(trained):
    import copy

    model = copy.deepcopy(trained)
    inp = _inputs(model, n=40, cascade=[("fc", [model.fc]), ("features", [model.features])])
    maps = layer_maps(inp, inp.specs, SPEC)
    rows = {r["condition"]: r for r in randomisation(inp, maps, SPEC) if r["metric"] == "spearman"}
    assert list(rows) == ["fc", "fc+features"]
    assert rows["fc+features"]["value"] < 0.5 and rows["fc+features"]["unit"] == "speaker"
    assert spearman_rows(maps, maps) == pytest.approx(np.ones(len(maps)))


@pytest.mark.slow
def test_label_permutation_copy_memorises_and_its_maps_are_compared():
    from vowelcam.learn.models import SpectrogramResNet

    torch.manual_seed(0)
    model = SpectrogramResNet("resnet18", 3, [2, 2, 1, 1, 1]).eval()
    specs, y, _ = band_spectrograms(32, np.random.default_rng(3))
    grid_model = make_grid("layer4", (12, 1), np.arange(GT_ROWS) * DF, GT_FRAMES, measured_strides=(4, 8))
    inp = FaithInputs(
        model,
        model.layer4,
        resnet_cascade(model)[:1],
        grid_model,
        lambda s: to_input(np.asarray(s, np.float32)),
        specs[:8],
        y[:8],
        np.tile([0, 8], (8, 1)),
        "gradcam",
        torch.device("cpu"),
        speakers=[f"s{i % 4}" for i in range(8)],
        train_specs=specs[8:],
        train_idx=y[8:],
    )
    spec = FaithSpec(label_permutation=True, permutation_epochs=15, randomisation_seeds=1, n_boot=100, batch_size=8)
    rows = {(r["condition"], r["metric"]): r for r in randomisation(inp, layer_maps(inp, inp.specs, spec), spec)}
    assert rows[("label_permutation", "permuted_train_accuracy")]["value"] >= 0.9  # it memorised random labels
    assert -1 <= rows[("label_permutation", "spearman")]["value"] <= 1
    assert [s for s, _ in resnet_cascade(model)] == ["fc", "layer4", "layer3", "layer2", "layer1", "conv1"]


# ------------------------------------------------------------------------------------------------- warp
def test_envelope_warp_moves_formants_by_the_factor_and_keeps_harmonics():
    rows = np.arange(128)
    envelope = 30 * np.exp(-0.5 * ((rows - 40) / 3) ** 2) - 0.1 * rows
    harmonics = 4 * np.cos(2 * np.pi * rows / 4.0)  # fine structure every 4 rows (F0), above the envelope's scale
    spec = np.tile((envelope + harmonics)[:, None], (1, 3))[None].astype(np.float32)
    env, rest = envelope_split(spec, DF)
    assert np.allclose(env + rest, spec, atol=1e-4)
    warped = warp_envelope(spec, 1.1, DF)
    env_w, rest_w = envelope_split(warped, DF)
    assert abs(np.argmax(env_w[0, :, 0]) - 44) <= 1  # the peak at row 40 now at 44 (x1.1)
    assert np.allclose(rest_w[0, 60:120, 0], rest[0, 60:120, 0], atol=0.6)  # harmonics stay put
    profile = np.exp(-0.5 * ((rows - 50) / 4.0) ** 2)[None]
    assert profile_scale(profile, stretch_rows(profile, 0.9))[0] == pytest.approx(0.9, abs=0.01)
    assert np.isnan(profile_scale(np.ones((1, 128)), profile)[0])
