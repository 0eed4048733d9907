"""Tests of vowelcam.explain: CAM methods, the Hz mapping, band metrics, agreement, faithfulness, the cam command."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from tests.helpers.tiny_cnn import (
    GT_FRAMES,
    GT_ROWS,
    GT_SHARED_ROWS,
    TinyCnn,
    band_spectrograms,
    to_input,
    train_tiny,
)
from vowelcam import rundir
from vowelcam.cli import app
from vowelcam.config import CamSettings
from vowelcam.errors import ConfigError, RunDirError
from vowelcam.explain.errors import CamError, UnknownLayerError, UnknownMethodError
from vowelcam.explain.evidence.deletion import top_band_starts
from vowelcam.explain.evidence.randomisation import spearman_rows
from vowelcam.explain.maps.cam import compute_cams, compute_layer_cams, layer_grid
from vowelcam.explain.maps.grid import interpolation_matrix, make_grid
from vowelcam.explain.maps.store import read_cams
from vowelcam.explain.readings.agreement import agreement_table, bootstrap_mean
from vowelcam.explain.readings.agreement_tidy import TIDY_COLUMNS, tidy_rows
from vowelcam.explain.readings.bands import BandSpec, frequency_profile, reference_for, token_band_row
from vowelcam.explain.stage import explain_run
from vowelcam.learn.models import SpectrogramResNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def resnet() -> SpectrogramResNet:
    torch.manual_seed(0)
    return SpectrogramResNet("resnet18", 4, [2, 2, 1, 1, 1]).eval()


@pytest.fixture(scope="module")
def tiny_trained() -> TinyCnn:
    return train_tiny()


FREQS_129 = np.arange(129) * 31.25


# ---------------------------------------------------------------- the Hz mapping
@pytest.mark.parametrize("pool", [1, 2])
def test_layer_row_centres_match_receptive_field_centres(pool):
    """Row r of layer1 must be centred on input row offset + r * stride: 0 + 4r without input pooling (125 Hz per
    row at 31.25 Hz input rows), 0.5 + 8r with the model's 2-row input average pooling."""
    torch.manual_seed(0)
    model = SpectrogramResNet("resnet18", 4, [2, 2, 1, 1, 1], input_pool=(pool, 1)).eval()
    grid = layer_grid(model, model.layer1, "layer1", FREQS_129, 96, 125.0 * pool, (pool, 1))
    assert (grid.stride_rows, grid.hz_per_row, grid.offset_rows) == (4 * pool, 125.0 * pool, (pool - 1) / 2)
    x = torch.randn(4, 1, 129, 96, requires_grad=True)
    act = model.layer1(model.maxpool(model.relu(model.bn1(model.conv1(model.pool(x))))))
    for r in (6, 8):
        (g,) = torch.autograd.grad(act[:, :, r, 12].abs().sum(), x, retain_graph=True)
        rows = np.flatnonzero(g.abs().sum(dim=(0, 1, 3)).numpy() > 0)
        assert (rows[0] + rows[-1]) / 2 == pytest.approx(grid.offset_rows + r * grid.stride_rows)
        assert grid.layer_row_freqs()[r] == pytest.approx((grid.offset_rows + r * 4 * pool) * 31.25)


def test_interpolation_is_linear_between_centres_and_constant_beyond():
    m = interpolation_matrix(10, 3, 4)  # centres at 0, 4, 8
    values = m @ np.array([0.0, 4.0, 8.0])
    assert np.allclose(values, [0, 1, 2, 3, 4, 5, 6, 7, 8, 8])
    assert np.allclose(m.sum(1), 1)
    shifted = interpolation_matrix(6, 2, 4, offset=1.5) @ np.array([1.5, 5.5])  # centres at 1.5, 5.5
    assert np.allclose(shifted, [1.5, 1.5, 2, 3, 4, 5])


def test_strides_are_measured_and_checked_against_the_checkpoint(resnet):
    """96 frames -> 3 layer4 columns fits strides 24-47; the probe finds the true 32. A checkpoint's hz_per_row
    that disagrees with the network is refused."""
    grid = layer_grid(resnet, resnet.layer4, "layer4", FREQS_129, 96)
    assert (grid.layer_rows, grid.layer_cols, grid.stride_rows, grid.stride_cols) == (33, 3, 4, 32)
    with pytest.raises(CamError, match="declared stride 8 does not map 129 input cells onto 33"):
        layer_grid(resnet, resnet.layer4, "layer4", FREQS_129, 96, hz_per_row=250.0)
    with pytest.raises(CamError, match="does not map"):
        make_grid("layer4", (33, 3), FREQS_129, 96, hz_per_row=500.0)


# ---------------------------------------------------------------- CAM methods
def test_cam_gradcam_hirescam_agree_at_the_last_layer(resnet):
    """At the layer feeding GAP + fc, Grad-CAM = HiResCAM = CAM / (h*w), and CAM's mean = logit - bias."""
    x, t = torch.randn(3, 1, 129, 96), torch.tensor([[0, 1], [2, 2], [3, 0]])
    cam = compute_layer_cams(resnet, resnet.layer4, x, t, "cam")
    area = cam.layer_maps.shape[-1] * cam.layer_maps.shape[-2]
    for method in ("gradcam", "hirescam"):
        other = compute_layer_cams(resnet, resnet.layer4, x, t, method)
        assert torch.allclose(other.raw_maps, cam.layer_maps / area, atol=1e-5)
        assert torch.allclose(other.layer_maps, (cam.layer_maps / area).clamp(min=0), atol=1e-5)  # ReLU on the grid
    expected = cam.logits.gather(1, t) - resnet.fc.bias.detach()[t]
    assert torch.allclose(cam.layer_maps.mean(dim=(2, 3)), expected, atol=1e-4)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "hirescam", "layercam"])
def test_matches_grad_cam_package(method):
    """Our raw layer maps, put through the package's ReLU + per-map min-max, equal its documented output."""
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from torchvision.models import resnet18

    torch.manual_seed(1)
    model = resnet18(num_classes=5)
    model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    with torch.no_grad():
        model.fc.weight *= 1000  # gradients >> 1e-3, so the package's Grad-CAM++ eps (1e-6) does not matter
    model.eval()
    x, classes = torch.randn(2, 1, 64, 64), [1, 3]
    ours = compute_layer_cams(model, model.layer3, x, torch.tensor(classes)[:, None], method).layer_maps[:, 0]
    expected = scale_cam_image(scale_cam_image(ours.clamp(min=0).numpy(), (64, 64)))
    package = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM, "layercam": LayerCAM}[method]
    with package(model=model, target_layers=[model.layer3]) as cam:
        theirs = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])
    assert np.allclose(expected, theirs, atol=1e-4)


def test_each_token_gets_its_own_map(resnet):
    """Two different tokens give different maps, and a token's map does not depend on its batch-mates."""
    torch.manual_seed(2)
    x = torch.randn(3, 1, 129, 96)
    t = torch.tensor([[1], [1], [1]])
    batch = compute_layer_cams(resnet, resnet.layer4, x, t, "layercam").layer_maps
    alone = compute_layer_cams(resnet, resnet.layer4, x[1:2], t[1:2], "layercam").layer_maps
    assert not torch.allclose(batch[0], batch[1], atol=1e-3)
    assert torch.allclose(batch[1], alone[0], atol=1e-5)


def test_hooks_released_and_mode_restored_even_on_error(resnet):
    resnet.train()
    try:
        compute_layer_cams(resnet, resnet.layer4, torch.randn(2, 1, 129, 96), torch.tensor([[0], [1]]), "gradcam")
        assert resnet.training and not resnet.layer4._forward_hooks
        with pytest.raises(CamError, match="feeding 'fc'"):
            compute_layer_cams(resnet, resnet.layer3, torch.randn(1, 1, 129, 96), torch.tensor([[0]]), "cam")
        assert resnet.training and not resnet.layer3._forward_hooks
    finally:
        resnet.eval()


def test_scorecam_equals_its_definition_token_by_token():
    torch.manual_seed(3)
    model = TinyCnn(channels=4).eval()
    x, t = torch.randn(2, 1, GT_ROWS, GT_FRAMES), torch.tensor([[0], [2]])
    grid = layer_grid(model, model.features, "features", np.arange(GT_ROWS) * 62.5, GT_FRAMES)
    maps = compute_layer_cams(model, model.features, x, t, "scorecam", grid).layer_maps
    for n in range(2):
        act = model.features(x[n : n + 1])[0].detach()
        scores = []
        floor = torch.quantile(x[n].flatten(), 0.05)
        for mask in act:
            mask = (mask - mask.min()) / (mask.max() - mask.min())
            masked = floor + mask * (x[n : n + 1] - floor)  # masked-out cells at the token's floor
            scores.append(torch.softmax(model(masked), 1)[0, t[n, 0]].item())  # a probability (Wang et al.)
        weights = torch.tensor(scores)
        assert torch.allclose(maps[n, 0], (weights[:, None, None] * act).sum(0).clamp(min=0), atol=1e-5)
    assert not torch.allclose(maps[0], maps[1])


def test_unknown_method_is_a_config_error(resnet):
    with pytest.raises(UnknownMethodError, match="unknown CAM method 'gradcam3'; choose one of cam, gradcam"):
        compute_layer_cams(resnet, resnet.layer4, torch.randn(1, 1, 129, 96), torch.tensor([[0]]), "gradcam3")
    assert issubclass(UnknownMethodError, ConfigError)


# ---------------------------------------------------------------- ground truth
@pytest.mark.slow
def test_ground_truth_cam_mass_sits_on_the_distinguishing_band(tiny_trained):
    """Classes differ only in the F2 row; the maps must put their mass there, not on the shared bands.

    Band = the token's F2 row +-2 rows (5 of 48 rows), so a map without preference scores enrichment 1.0.
    Measured over 5 training seeds (before Score-CAM followed Wang et al.'s probability weights): 2.3-4.1 (mean
    over 90 tokens) on the F2 band, 0.1-0.4 on the shared F1/F3 bands. We require more than 2.0 ("twice chance") on
    F2 (1.5 for Score-CAM, see below) and less than 1.0 (below chance) on the shared bands; an untrained model fails
    the first (about 0.5-1).
    """
    specs, y, f2 = band_spectrograms(90, np.random.default_rng(7))
    x = to_input(specs)
    assert (tiny_trained(x).argmax(1).numpy() == y).mean() >= 0.9  # precondition: the model learned the task
    freqs = np.arange(GT_ROWS) * 62.5
    grid = layer_grid(tiny_trained, tiny_trained.features, "features", freqs, GT_FRAMES)
    rows = np.arange(GT_ROWS)
    for method in ("cam", "gradcam", "gradcam++", "hirescam", "layercam", "scorecam"):
        maps, _ = compute_cams(tiny_trained, tiny_trained.features, x, torch.from_numpy(y)[:, None], method, grid)
        profiles = np.array([frequency_profile(m, 0, GT_FRAMES)[0] for m in maps[:, 0].numpy()])
        share = profiles / profiles.sum(1, keepdims=True)
        on_f2 = np.array([(s[np.abs(rows - c) <= 2]).sum() for s, c in zip(share, f2)]) / (5 / GT_ROWS)
        shared = np.mean([share[:, np.abs(rows - c) <= 2].sum(1) / (5 / GT_ROWS) for c in GT_SHARED_ROWS], 0)
        # Score-CAM per Wang et al. weights channels by probabilities (all >= 0), so part of its map is the plain
        # sum of activations: 1.97 on F2 / 0.37 on the shared bands here (seed 0), against 3.6-4.2 / 0.14-0.18 for
        # the gradient methods; its bar is 1.5 ("half again chance"), everything else's 2.0
        assert on_f2.mean() > (1.5 if method == "scorecam" else 2.0), method
        assert shared.mean() < 1.0, method
    untrained = TinyCnn().eval()
    maps, _ = compute_cams(untrained, untrained.features, x, torch.from_numpy(y)[:, None], "gradcam", grid)
    profiles = np.array([frequency_profile(m, 0, GT_FRAMES)[0] for m in maps[:, 0].numpy()]) + 1e-12
    on_f2 = [(p[np.abs(rows - c) <= 2]).sum() / p.sum() / (5 / GT_ROWS) for p, c in zip(profiles, f2)]
    assert np.mean(on_f2) < 2.0  # the same test fails an untrained model


# ---------------------------------------------------------------- bands
FREQS = np.arange(65) * 125.0  # 0..8000 Hz


def _token(**kw):
    base = {
        "frame_start": 2,
        "frame_end": 6,
        "f1_50": 500.0,
        "f2_50": 1500.0,
        "f3_50": 2500.0,
        "b1_50": 60.0,
        "b2_50": 300.0,
        "b3_50": float("nan"),
    }
    return {**base, **kw}


def test_band_metrics_on_a_map_with_all_mass_at_f2():
    cam = np.zeros((65, 8))
    cam[12, 2:6] = 1.0  # 1500 Hz, inside the token's frames
    cam[30, 0] = 50.0  # outside the token's frames: ignored
    cam[40, 3] = -1.0  # negative: clipped, reported in neg_share
    row = token_band_row(cam, FREQS, _token(), BandSpec(), {"f1_mean": 600.0, "f2_mean": 1400.0, "f3_mean": 2600.0})
    # F2 band = 1500 +- 150 Hz -> rows 1375..1625 = 3 of 65 rows
    assert row["mass_f2"] == 1.0 and row["enrich_f2"] == pytest.approx(65 / 3)
    assert row["mass_f1"] == 0.0 and row["band1_lo_hz"] == 450.0  # half of 60 Hz < 50 Hz minimum
    assert (row["band3_lo_hz"], row["band3_hi_hz"]) == (2450.0, 2550.0)  # bandwidth unknown -> minimum
    assert row["peak1_hz"] == 1500.0 and row["peak1_nearest"] == "F2" and row["peak1_on_formant"] == 1.0
    assert row["peak1_nearest_ref"] == "F2" and row["peak1_dist_hz_ref"] == 100.0
    assert row["mass_f2_ref"] == 1.0  # 1400 +- 150 Hz = rows 1250, 1375, 1500
    assert row["hf_share_above_f3"] == 0.0 and row["hf_share_above_4k"] == 0.0
    assert row["neg_share"] == pytest.approx(1 / 5)
    assert row["n_formants_measured"] == 3


def test_overlapping_formant_bands_are_not_read_for_either_formant():
    """A back vowel whose F1 and F2 bands overlap at the map's point spread: a map with all its mass at F2 must not
    credit F1 with it (nor F2 with F1's), so both readings are empty and flagged; F3, apart, is still read."""
    cam = np.zeros((65, 8))
    cam[7, 2:6] = 1.0  # 875 Hz = F2
    token = _token(f1_50=600.0, f2_50=900.0, f3_50=2500.0)
    row = token_band_row(cam, FREQS, token, BandSpec(point_spread_hz=500.0), None)
    assert math.isnan(row["enrich_f1"]) and math.isnan(row["enrich_f2"]) and math.isnan(row["mass_f1"])
    assert (row["band1_overlap"], row["band2_overlap"], row["band3_overlap"]) == (1, 1, 0)
    assert row["enrich_f3"] == 0.0
    apart = token_band_row(cam, FREQS, token, BandSpec(point_spread_hz=100.0), None)  # a finer map tells them apart
    assert apart["band1_overlap"] == 0 and apart["mass_f2"] == 1.0 and apart["mass_f1"] == 0.0


def test_token_without_formants_keeps_the_rest():
    cam = np.zeros((65, 8))
    cam[40, 2:6] = 2.0  # 5000 Hz
    nan = float("nan")
    row = token_band_row(cam, FREQS, _token(f1_50=nan, f2_50=nan, f3_50=nan), BandSpec(halfwidth_hz=100), None)
    assert row["n_formants_measured"] == 0 and row["has_reference"] == 0
    assert all(
        math.isnan(row[k])
        for k in ("enrich_f1", "enrich_f2", "enrich_f3", "hf_share_above_f3", "enrich_f1_ref", "peak1_dist_hz")
    )
    assert row["peak1_nearest"] == "" and row["peak1_hz"] == 5000.0
    assert row["hf_share_above_4k"] == 1.0 and row["mass_total"] == 8.0


def test_high_frequency_shares_count_mass_above_the_f3_band_and_4k():
    cam = np.zeros((65, 8))
    cam[4, 2:6] = 1.0  # 500 Hz = F1
    cam[24, 2:6] = 1.0  # 3000 Hz: above the F3 band (2450-2550 Hz)
    cam[48, 2:6] = 2.0  # 6000 Hz: above F3 and above 4 kHz
    row = token_band_row(cam, FREQS, _token(), BandSpec(), None)
    assert row["hf_share_above_f3"] == pytest.approx(0.75) and row["hf_share_above_4k"] == pytest.approx(0.5)
    assert row["enrich_f1"] == pytest.approx(0.25 / (1 / 65))  # F1 band 450-550 Hz holds one row
    assert row["peak1_hz"] == 6000.0 and row["peak1_nearest"] == "F3" and row["peak1_on_formant"] == 0.0
    assert math.isnan(row["enrich_f1_ref"])


def test_reference_lookup_accepts_group_aliases():
    table = {("IY", "men"): {"f1_mean": 342.7}}
    assert reference_for(table, "iy", "m")["f1_mean"] == 342.7
    assert reference_for(table, "IY", "") is None


# ---------------------------------------------------------------- agreement and faithfulness helpers
def test_bootstrap_interval_brackets_the_mean_and_skips_nan():
    mean, lo, hi, n = bootstrap_mean([1.0, 2.0, 3.0, 4.0, float("nan")], 500, np.random.default_rng(0))
    assert (mean, n) == (2.5, 4) and 1.0 <= lo < 2.5 < hi <= 4.0


def test_agreement_table_subsets():
    rows = [
        {
            "vowel": "IY",
            "correct": c,
            "n_formants_measured": 3,
            "has_reference": 1,
            "enrich_f1": e,
            "enrich_f2": 1.0,
            "enrich_f3": 1.0,
            "peak1_on_formant": float(c),
            "hf_share_above_f3": 0.1,
            "hf_share_above_4k": float("nan"),
            "enrich_f1_ref": e,
            "enrich_f2_ref": 1.0,
            "enrich_f3_ref": 1.0,
            "peak1_on_formant_ref": 0.0,
            "hf_share_above_f3_ref": 0.0,
        }
        for c, e in ((1, 2.0), (1, 4.0), (0, 9.0))
    ]
    table = {(r["vowel"], r["subset"]): r for r in agreement_table(rows, 200)}
    assert table[("IY", "all")]["n"] == 3 and table[("IY", "all")]["accuracy"] == pytest.approx(2 / 3)
    assert table[("IY", "correct")]["enrich_f1"] == 3.0
    assert table[("IY", "misclassified")]["enrich_f1"] == 9.0
    assert table[("ALL", "all")]["peak_on_formant_share"] == pytest.approx(2 / 3)
    assert table[("IY", "all")]["hf_share_above_4k_n"] == 0


def test_tidy_agreement_has_one_row_per_key_with_the_documented_columns():
    wide = [
        {"vowel": v, "subset": s, "n": 4, "verdict_f2": "support", "enrich_f2_minus_null_lo": lo}
        for v in ("IY", "ALL")
        for s, lo in (("all", 0.5), ("correct", -0.1))
    ]
    tidy = tidy_rows(wide, "gradcam@layer3")
    keys = [(r["vowel"], r["subset"], r["formant"], r["instrument"], r["control"]) for r in tidy]
    assert len(keys) == len(set(keys)) == 2 * 2 * 3 * 3 and all(list(r) == TIDY_COLUMNS for r in tidy)
    row = {k[:2] + (k[2], k[4]): r for k, r in zip(keys, tidy)}
    assert row[("IY", "all", 2, "null")]["beats_control"] == "yes" and row[("IY", "all", 2, "null")]["n"] == 4
    assert row[("IY", "correct", 2, "null")]["beats_control"] == "no"
    assert row[("IY", "all", 2, "energy")]["beats_control"] == "" and row[("IY", "all", 2, "energy")]["verdict"]


def test_deletion_and_randomisation_helpers():
    assert list(top_band_starts(np.array([[0, 5, 5, 0, 1, 0.0], [0, 0, 0, 1, 9, 9.0]]), 2)) == [1, 4]
    a = np.random.default_rng(0).normal(size=(3, 20))
    assert np.allclose(spearman_rows(a, a), 1) and np.allclose(spearman_rows(a, -a), -1)


# ---------------------------------------------------------------- the run directory and the command
@pytest.fixture(scope="module")
def run_dir(predicted_run_dir, tmp_path_factory):
    """This module's copy of the predicted run: its tests explain it in turn."""
    return Path(shutil.copytree(predicted_run_dir, tmp_path_factory.mktemp("camrun") / "run"))


@pytest.mark.slow
def test_explain_run_writes_documented_outputs(run_dir):
    summary = explain_run(run_dir, CamSettings(bootstrap=200, method="hirescam"))
    assert (summary.hz_per_row, summary.n_tokens, summary.n_no_formants) == (500.0, 10, 1)
    assert summary.accuracy == pytest.approx(0.8)  # tokens 0 and 5 misclassified among the 10 test tokens
    cams = read_cams(run_dir)
    assert cams.meta["hz_per_row"] == 500.0 and cams.meta["method"] == "hirescam"
    assert cams.true.shape == (10, 65, 48) and len(cams.freqs) == 65 and cams.freqs[1] == 125.0
    assert np.allclose(cams.true_norm * cams.meta["normalisation"]["norm_scale"], cams.true, atol=1e-5)
    assert not np.allclose(cams.true[0], cams.true[1])
    assert [r["token_id"] for r in cams.index] == [r["token_id"] for r in rundir.read_csv(run_dir / "bands.csv")]
    bands = rundir.read_csv(run_dir / "bands.csv")
    assert bands[0]["n_formants_measured"] == "0" and bands[0]["enrich_f1"] == "" and bands[0]["mass_total"]
    assert all(b["hz_per_row"] == "500" for b in bands)
    agreement = {(r["vowel"], r["subset"]): r for r in rundir.read_csv(run_dir / "agreement.csv")}
    assert agreement[("AA", "all")]["n_no_formants"] == "1" and agreement[("ALL", "all")]["n"] == "10"
    tidy = rundir.read_csv(run_dir / "agreement_tidy.csv")
    assert list(tidy[0]) == [*TIDY_COLUMNS, "hz_per_row"] and len(tidy) == len(agreement) * 3 * 3
    assert {r["instrument"] for r in tidy} == {"hirescam@layer4"}
    assert {(r["vowel"], r["subset"], r["formant"], r["control"]) for r in tidy} == {
        (v, s, str(k), c) for v, s in agreement for k in (1, 2, 3) for c in ("energy", "envelope", "null")
    }
    faith = {(r["test"], r["condition"], r["metric"]) for r in rundir.read_csv(run_dir / "faithfulness.csv")}
    assert {
        ("band_deletion", "top_cam_band", "prob_drop"),
        ("band_deletion", "random_band", "prob_drop"),
        ("band_deletion", "top_energy_band", "prob_drop"),
        ("deletion_curve", "top_minus_random@1000Hz", "prob_drop"),
        ("randomisation", "fc+layer4", "spearman"),
        ("vtl_warp", "x1.1", "map_follow"),
    } <= faith
    confusions = rundir.read_csv(run_dir / "confusions.csv")
    assert {(r["true"], r["predicted"]) for r in confusions} == {("AA", "IY"), ("UW", "AA")}


def test_maps_do_not_depend_on_the_batch_size(run_dir, tmp_path):
    """Batches of 3 and the device default (32 here, 256 on CUDA) give the same maps: eval-mode layers only."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    settings = CamSettings(bootstrap=50, faithfulness=False)
    explain_run(run_dir, settings)
    explain_run(other, replace(settings, batch_size=3))
    default, small = read_cams(run_dir), read_cams(other)
    assert default.true.shape[0] == small.true.shape[0] == 10
    np.testing.assert_allclose(default.true, small.true, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(default.pred, small.pred, rtol=1e-4, atol=1e-6)


def test_cam_command_prints_hz_per_row_and_rejects_bad_input(run_dir, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["cam", str(run_dir), "--method", "cam", "--no-faithfulness", "--tokens", "all"])
    assert result.exit_code == 0, result.output
    assert "500 Hz per CAM row" in result.output and "12 tokens" in result.output
    assert json.loads((run_dir / "cams" / "meta.json").read_text())["tokens"] == "all"
    bad = runner.invoke(app, ["cam", str(run_dir), "--method", "gradcam3"])
    assert bad.exit_code == 2 and "'gradcam3' is not one of 'cam', 'gradcam'" in bad.output  # checked by the CLI
    bad = runner.invoke(app, ["cam", str(run_dir), "--layer", "layer9"])
    assert bad.exit_code == 2 and "'layer9' is not one of 'layer1'" in bad.output
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = runner.invoke(app, ["cam", str(empty)])
    assert bad.exit_code == 2 and "predictions.csv: missing; run `vowelcam train` first" in bad.output


def test_run_without_model_is_a_run_dir_error(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "nomodel"
    shutil.copytree(run_dir, copy)
    (copy / "model" / "model.pt").unlink()
    with pytest.raises(RunDirError, match=r"model\.pt: missing; run `vowelcam train` first"):
        explain_run(copy, CamSettings(faithfulness=False))
    with pytest.raises(UnknownLayerError):
        explain_run(run_dir, CamSettings(layer="fc", faithfulness=False))


@pytest.mark.slow
def test_k_fold_runs_use_each_folds_own_model(run_dir, tmp_path):
    """With folds, a token's maps come from model/fold-<k>.pt, the model that held it out."""
    import shutil

    from tests.helpers.runs import RUN_LABELS
    from vowelcam.learn.models import ModelInfo, SpectrogramResNet, checkpoint_dict, info_from_checkpoint

    copy = tmp_path / "kfold"
    shutil.copytree(run_dir, copy)
    preds = rundir.read_csv(copy / "predictions.csv")
    for i, p in enumerate(preds):
        p.update(fold=i % 2, split="test")
    rundir.write_csv(copy / "predictions.csv", preds, list(preds[0]))
    with pytest.raises(RunDirError, match=r"fold-0\.pt: missing"):
        explain_run(copy, CamSettings(faithfulness=False))
    checkpoint = torch.load(copy / "model" / "model.pt", weights_only=True)
    info: ModelInfo = info_from_checkpoint(checkpoint, "model.pt")
    shutil.copy(copy / "model" / "model.pt", copy / "model" / "fold-0.pt")
    shutil.copy(copy / "model" / "model.pt", copy / "model" / "fold-1.pt")
    explain_run(copy, CamSettings(faithfulness=False))
    same = read_cams(copy).true.copy()
    torch.manual_seed(99)
    other = SpectrogramResNet("resnet18", len(RUN_LABELS), info.freq_strides)
    torch.save(checkpoint_dict(other, info), copy / "model" / "fold-1.pt")
    explain_run(copy, CamSettings(faithfulness=False))
    cams = read_cams(copy)
    folds = [int(p["fold"]) for p in rundir.read_csv(copy / "predictions.csv")]
    order = [r["token_id"] for r in cams.index]
    fold_of = {p["token_id"]: f for p, f in zip(rundir.read_csv(copy / "predictions.csv"), folds)}
    assert [fold_of[t] for t in order] == sorted(fold_of[t] for t in order)  # grouped by fold
    for row, token in enumerate(order):
        assert np.allclose(cams.true[row], same[row]) == (fold_of[token] == 0)
