"""Methods that mean what they say and resolution that is measured: Score-CAM per Wang et al., class-
discriminativeness with its sceptic's test, contrastive maps, point spread, interpolated peaks, silence = 0 input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers.tiny_cnn import GT_FRAMES, GT_ROWS, TinyCnn, band_spectrograms, to_input, train_tiny
from vowelcam.explain.maps.cam import compute_cams_with_contrast, compute_layer_cams, layer_grid
from vowelcam.explain.maps.grid import make_grid
from vowelcam.explain.maps.methods.scorecam import mask_toward_floor, scorecam_weights, token_floor
from vowelcam.explain.maps.resolution import central_width, measure_point_spread, time_resolution_statement
from vowelcam.explain.readings.bands import BandSpec, profile_peaks, refine_peak, token_band_row
from vowelcam.explain.readings.contrastive import contrast_row
from vowelcam.explain.readings.discrimination import discrimination_table, method_maps, other_classes, rank_correlation
from vowelcam.learn.dataset import describe_input_scaling, scale_input, silence_scaling
from vowelcam.learn.models import ModelInfo, SpectrogramResNet, checkpoint_dict, info_from_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")
GT_FREQS = np.arange(GT_ROWS) * 62.5


@pytest.fixture(scope="module")
def tiny_trained() -> TinyCnn:
    return train_tiny()


def _tokens(n: int = 48, seed: int = 7) -> tuple[torch.Tensor, np.ndarray]:
    specs, y, _ = band_spectrograms(n, np.random.default_rng(seed))
    return to_input(specs), y


# ---------------------------------------------------------------- Score-CAM
def test_scorecam_weights_are_probabilities_of_inputs_masked_toward_the_floor():
    """Each weight is the target-class softmax probability of one masked input (Wang et al.'s code), not a softmax
    of logits over channels: weights lie in [0, 1] and do not sum to 1 over channels."""
    torch.manual_seed(3)
    model = TinyCnn(channels=16).eval()
    x, t = torch.randn(2, 1, GT_ROWS, GT_FRAMES), torch.tensor([[0, 1], [2, 0]])
    grid = layer_grid(model, model.features, "features", GT_FREQS, GT_FRAMES)
    act = model.features(x).detach()
    w = scorecam_weights(model, x, act, t, grid)
    assert w.shape == (2, 16, 2) and float(w.min()) >= 0 and float(w.max()) <= 1
    assert float((w.sum(1) - 1).abs().min()) > 0.5  # 16 probabilities of ~1/3 each: far from summing to 1
    n, k, c = 1, 1, 5
    mask = (act[n, c] - act[n, c].min()) / (act[n, c].max() - act[n, c].min())
    floor = torch.quantile(x[n].flatten(), 0.05)
    with torch.no_grad():
        p = torch.softmax(model(floor + mask * (x[n : n + 1] - floor)), 1)[0, t[n, k]]
    assert float(w[n, c, k]) == pytest.approx(float(p), abs=1e-6)


def test_masking_lowers_cells_toward_the_token_floor_in_db():
    """Masked-out cells take the token's 5th-percentile level in dB (under either normalisation); a partly masked
    loud cell gets quieter, never louder (multiplying a mean-centred z-score by 0 made quiet cells louder)."""
    rng = np.random.default_rng(0)
    db = rng.normal(-60, 10, (1, 1, 20, 10)).astype(np.float32)
    masks = torch.from_numpy(rng.uniform(0, 1, (1, 1, 20, 10)).astype(np.float32))
    masks[..., :3] = 0.0
    floor_db = np.percentile(db, 5)
    for norm in ({"floor": -100.0, "scale": 15.0}, {"mean": -60.0, "std": 15.0}):
        x = scale_input(torch.from_numpy(db), norm)
        out = mask_toward_floor(x, masks, token_floor(x))
        back = out * norm.get("scale", norm.get("std")) + norm.get("floor", norm.get("mean"))  # to dB
        assert np.allclose(back[..., :3].numpy(), floor_db, atol=0.05)
        loud = db > floor_db
        assert (back.numpy()[loud] <= db[loud] + 1e-4).all() and (back.numpy()[loud] >= floor_db - 1e-4).all()


# ---------------------------------------------------------------- class-discriminativeness
def _energy_maps(x: torch.Tensor, grid) -> np.ndarray:
    """A model-free 'explainer': the input itself on the layer grid (same map for every class and classifier)."""
    return x[:, 0, :: grid.stride_rows, :: grid.stride_cols].numpy()


def test_discrimination_flags_a_class_agnostic_energy_map_and_collapsed_methods(tiny_trained):
    x, y = _tokens()
    grid = layer_grid(tiny_trained, tiny_trained.features, "features", GT_FREQS, GT_FRAMES)
    other = other_classes(y, 3, seed=0)
    assert (other != y).all() and set(other) == {0, 1, 2}
    maps = method_maps(tiny_trained, "features", x, y, other, ["cam", "gradcam", "hirescam", "layercam"], grid)
    energy = _energy_maps(x, grid)
    maps["energy"] = {"true": energy, "other": energy.copy(), "reinit": energy.copy()}
    speakers = [f"s{i % 6}" for i in range(len(y))]
    rows = {r["method"]: r for r in discrimination_table(maps, "features", speakers, speakers, n_boot=200)}
    e = rows["energy"]
    assert e["rho_other"] == pytest.approx(1.0) and e["class_agnostic"] == 1 and e["model_insensitive"] == 1
    assert e["collapsed"] == 1 and "class-agnostic" in e["reason"] and e["unit"] == "speaker" and e["n_clusters"] == 6
    # the trained model's maps change with the class: not class-agnostic
    for method in ("cam", "gradcam", "layercam"):
        assert rows[method]["class_agnostic"] == 0, (method, rows[method]["rho_other"])
        assert rows[method]["rho_other_hi"] < 0.8
    # at the layer feeding global average pooling, Grad-CAM = HiResCAM = CAM / (h w): one map under three names
    assert set(rows["gradcam"]["same_as"].split()) == {"cam", "hirescam"} and rows["gradcam"]["collapsed"] == 1
    assert "constant over the grid" in rows["gradcam"]["reason"]
    assert rows["layercam"]["same_as"] == ""


def test_discrimination_flags_score_cam_on_an_untrained_model():
    """An untrained model's class probabilities barely depend on the input, so its Score-CAM is the activations'
    sum whatever the class: rank correlation ~1 with another class's map, flagged; the trained model's is not."""
    a = np.random.default_rng(0).normal(size=(5, 4, 3))
    assert np.allclose(rank_correlation(a, a), 1) and np.allclose(rank_correlation(a, -a), -1)
    assert np.isnan(rank_correlation(np.zeros((1, 4, 3)), a[:1]))[0]
    x, y = _tokens(24)
    speakers = [f"s{i % 4}" for i in range(len(y))]
    flags = {}
    torch.manual_seed(0)
    for name, model in (("untrained", TinyCnn().eval()), ("trained", train_tiny())):
        grid = layer_grid(model, model.features, "features", GT_FREQS, GT_FRAMES)
        maps = method_maps(model, "features", x, y, other_classes(y, 3), ["scorecam"], grid)
        flags[name] = discrimination_table(maps, "features", speakers, speakers, n_boot=100)[0]
    assert flags["untrained"]["rho_other"] > 0.95 and flags["untrained"]["class_agnostic"] == 1
    assert flags["trained"]["rho_other"] < 0.8 and flags["trained"]["class_agnostic"] == 0


# ---------------------------------------------------------------- contrastive maps
def test_contrastive_map_is_predicted_minus_true_raw_map_and_zero_when_correct(tiny_trained):
    x, y = _tokens(6)
    grid = layer_grid(tiny_trained, tiny_trained.features, "features", GT_FREQS, GT_FRAMES)
    pred = np.where(np.arange(6) % 2 == 0, (y + 1) % 3, y)  # even tokens 'misclassified'
    targets = torch.from_numpy(np.stack([y, pred], 1))
    maps, _, contrast = compute_cams_with_contrast(tiny_trained, tiny_trained.features, x, targets, "gradcam", grid)
    raw = compute_layer_cams(tiny_trained, tiny_trained.features, x, targets, "gradcam").raw_maps
    expected = grid.upsample(raw[:, 1] - raw[:, 0])
    assert torch.allclose(contrast[0::2], expected[0::2], atol=1e-6)
    assert float(contrast[1::2].abs().max()) == 0.0
    assert float(maps.min()) >= 0  # the stored class maps carry Grad-CAM's ReLU, the contrast keeps both signs
    assert float(contrast[0::2].min()) < 0 < float(contrast[0::2].max())


def test_contrast_row_reads_the_formant_that_speaks_for_the_predicted_class():
    freqs = np.arange(65) * 125.0
    c = np.zeros((65, 10))
    c[12, :] = 2.0  # F2 (1500 Hz) favours the predicted class
    c[4, :] = -1.0  # F1 (500 Hz) favours the true class
    band_row = {
        "token_id": "t",
        "speaker": "s",
        "vowel": "AA",
        "predicted": "IY",
        "correct": 0,
        "frame_start": 2,
        "frame_end": 6,
        "f1_hz": 500.0,
        "f2_hz": 1500.0,
        "f3_hz": 2500.0,
        "band1_lo_hz": 400.0,
        "band1_hi_hz": 600.0,
        "band2_lo_hz": 1400.0,
        "band2_hi_hz": 1600.0,
        "band3_lo_hz": 2400.0,
        "band3_hi_hz": 2600.0,
    }
    row = contrast_row(c, freqs, band_row)
    assert row["contrast_peak_hz"] == 1500.0 and row["contrast_trough_hz"] == 500.0
    assert row["contrast_peak_nearest"] == "F2" and row["contrast_peak_dist_hz"] == 0.0
    assert row["contrast_f2"] == pytest.approx(2 / 3) and row["contrast_f1"] == pytest.approx(-1 / 3)
    assert row["contrast_pos_share"] == pytest.approx(2 / 3) and row["contrast_f3"] == 0.0


# ---------------------------------------------------------------- point spread
def test_central_width_of_known_masses():
    assert central_width(np.ones(8)) == pytest.approx(4.0)
    assert central_width(np.r_[np.zeros(5), np.ones(6), np.zeros(9)]) == pytest.approx(3.0)
    g = np.exp(-0.5 * ((np.arange(200) - 100.3) / 10.0) ** 2)
    assert central_width(g) == pytest.approx(1.349 * 10.0, rel=0.01)
    assert np.isnan(central_width(np.zeros(5)))


def test_point_spread_recovers_a_hand_built_receptive_field():
    """A box kernel of 7 rows x 3 frames: every input cell under the box moves the centre cell equally, so the
    central 50 % is 3.5 rows (x 31.25 Hz) and 1.5 frames (x 5 ms), whatever the input. A Gaussian kernel (s = 4
    rows) stacked under a stride-2 1x1 layer gives 1.349 * 4 rows."""
    box = nn.Conv2d(1, 1, (7, 3), padding=(3, 1), bias=False)
    nn.init.ones_(box.weight)
    model = nn.Sequential(box)
    x = torch.randn(4, 1, 40, 20)
    spread = measure_point_spread(model, box, "box", x, 31.25, 5.0)
    assert spread.point_spread_hz == pytest.approx(3.5 * 31.25) and spread.point_spread_ms == pytest.approx(7.5)
    assert spread.n_tokens == 4 and spread.point_spread_hz_sd == pytest.approx(0.0, abs=1e-9)
    gauss = nn.Conv2d(1, 1, (41, 1), padding=(20, 0), bias=False)
    with torch.no_grad():
        gauss.weight[:] = torch.exp(-0.5 * ((torch.arange(41.0) - 20) / 4.0) ** 2)[None, None, :, None]
    top = nn.Conv2d(1, 2, 1, stride=2)
    model = nn.Sequential(gauss, top)
    spread = measure_point_spread(model, top, "top", torch.randn(2, 1, 80, 4), 10.0, 5.0)
    assert spread.point_spread_hz == pytest.approx(1.349 * 4 * 10.0, rel=0.02)


def test_resnet_layers_spread_wider_than_their_hz_per_row():
    """The sampling step is not the resolution: an (untrained) layer4 cell's spread exceeds its 125 Hz row step."""
    torch.manual_seed(0)
    model = SpectrogramResNet("resnet18", 4, [2, 2, 1, 1, 1]).eval()
    x = torch.randn(2, 1, 129, 96)
    l2 = measure_point_spread(model, model.layer2, "layer2", x, 31.25, 5.0)
    l4 = measure_point_spread(model, model.layer4, "layer4", x, 31.25, 5.0)
    assert l4.point_spread_hz > 125.0 and l4.point_spread_hz > l2.point_spread_hz
    assert l4.point_spread_ms > l2.point_spread_ms
    assert "integrates the whole analysis window" in time_resolution_statement("layer4", 160.0, l4)
    assert "resolve the vowel" in time_resolution_statement("layer2", 40.0, None)
    assert "mixes 80 ms stretches" in time_resolution_statement("layer3", 80.0, None, 272.0, n_columns=6)


def test_bands_are_never_narrower_than_the_point_spread():
    spec = BandSpec(0.0, 50.0, point_spread_hz=500.0)
    assert spec.halfwidth(60.0) == 250.0 and spec.halfwidth(800.0) == 400.0
    assert BandSpec(100.0, 50.0, point_spread_hz=500.0).halfwidth(float("nan")) == 250.0
    assert BandSpec().halfwidth(60.0) == 50.0 and "point spread (250 Hz)" in spec.describe()


# ---------------------------------------------------------------- interpolated peaks
def test_interpolated_peak_recovers_an_off_grid_formant():
    """A layer map peaking at 560 Hz, sampled on 125 Hz layer rows and upsampled to 31.25 Hz input rows, puts its
    profile maximum on the 500 Hz row; the interpolated peak is within a few Hz of 560 and counts as on F1."""
    freqs = np.arange(129) * 31.25
    grid = make_grid("layer4", (33, 3), freqs, 96, 125.0)
    layer_rows = grid.layer_row_freqs()
    layer_map = np.exp(-0.5 * ((layer_rows - 560.0) / 200.0) ** 2)[:, None] * np.ones((1, 3))
    cam = grid.upsample(torch.from_numpy(layer_map.astype(np.float32))).numpy()
    token = {"frame_start": 30, "frame_end": 60, "f1_50": 560.0, "f2_50": 1500.0, "f3_50": 2500.0}
    profile = cam[:, 30:60].sum(1)
    assert freqs[np.argmax(profile)] == 500.0  # the old reading, snapped to a row: 60 Hz off, outside the F1 band
    row = token_band_row(cam, freqs, token, BandSpec(sample_step_rows=grid.stride_rows), None)
    assert abs(row["peak1_hz"] - 560.0) < 3.0 and row["peak1_on_formant"] == 1.0
    assert refine_peak(np.array([0.0, 1.0, 0.0]), 1) == 1.0 and refine_peak(np.array([1.0, 0.5]), 0) == 0.0
    assert profile_peaks(np.array([0.0, 1.0, 1.0, 0.0]), np.arange(4) * 10.0)[0][0] == pytest.approx(15.0)


# ---------------------------------------------------------------- input normalisation
def _info(norm: dict) -> ModelInfo:
    return ModelInfo(
        arch="resnet18",
        labels=["a", "b"],
        task="vowels",
        max_freq=0.0,
        spectrogram={"db_floor": -100.0, "n_fft": 256, "sample_rate": 16000},
        norm=norm,
        freq_strides=[2, 2, 1, 1, 1],
    )


def test_zero_padding_is_silence_after_normalisation():
    """Silence (the dB floor) becomes exactly 0, so a convolution's zero padding continues silence: conv1 on a
    silent token is 0 everywhere, edges included. The legacy z-score makes silence -4 and the padding louder than
    the token, so the edges of the same silent token light up."""
    silent = np.full((1, 64, 32), -100.0, np.float32)
    new = _info(silence_scaling({"mean": -60.0, "std": 10.0}, -100.0))
    x = new.prepare(silent)
    assert float(x.abs().max()) == 0.0
    conv = nn.Conv2d(1, 4, 7, padding=3, bias=False).requires_grad_(False)
    assert float(conv(x).abs().max()) == 0.0
    legacy = conv(_info({"mean": -60.0, "std": 10.0}).prepare(silent))
    assert float((legacy[..., 10:-10, 10:-10] - legacy[..., :1, 10:-10]).abs().max()) > 0.1
    speech = new.prepare(np.full((1, 4, 4), -40.0, np.float32))
    assert float(speech.mean()) == pytest.approx(6.0) and "silence" in describe_input_scaling(new.norm)


def test_old_checkpoints_keep_their_normalisation():
    model = SpectrogramResNet("resnet18", 2, [2, 2, 1, 1, 1])
    for norm, expected in (({"mean": -60.0, "std": 10.0}, 2.0), ({"floor": -100.0, "scale": 10.0}, 6.0)):
        info = info_from_checkpoint(checkpoint_dict(model, _info(norm)), "model.pt")
        assert float(info.prepare(np.full((1, 2, 2), -40.0, np.float32)).mean()) == pytest.approx(expected)
    assert "legacy" in describe_input_scaling({"mean": -60.0, "std": 10.0})


# ---------------------------------------------------------------- the cam stage's outputs
@pytest.mark.slow
def test_explain_run_writes_resolution_discrimination_and_contrasts(predicted_run_dir, run_copy):
    """The stage measures the point spread of every layer, floors the bands with it, writes discrimination.csv
    (five methods, speaker intervals, collapse flags) and contrast maps for the misclassified tokens."""
    from vowelcam import rundir
    from vowelcam.config import CamSettings
    from vowelcam.explain.maps.store import read_cams
    from vowelcam.explain.stage import explain_run

    run_dir = run_copy(predicted_run_dir)
    explain_run(run_dir, CamSettings(bootstrap=50, method="gradcam", faithfulness=False))
    cams = read_cams(run_dir)
    meta = cams.meta
    assert set(meta["resolution"]) == {"layer1", "layer2", "layer3", "layer4"}
    spread = meta["resolution"]["layer4"]["point_spread_hz"]
    assert spread > meta["hz_per_row"] and meta["point_spread_hz"] == spread
    assert meta["ms_per_column"] == 32 * 5.0 and "integrates the whole analysis window" in meta["time_resolution"]
    assert "legacy" in meta["input_normalisation"]  # the fixture's checkpoint has a {mean, std} norm
    bands = rundir.read_csv(run_dir / "bands.csv")
    assert float(bands[1]["point_spread_hz"]) == pytest.approx(spread, rel=1e-4)
    assert float(bands[1]["band1_hi_hz"]) - float(bands[1]["band1_lo_hz"]) >= spread - 0.01
    table = {r["method"]: r for r in rundir.read_csv(run_dir / "discrimination.csv")}
    assert set(table) == {"cam", "gradcam", "gradcam++", "hirescam", "layercam"}
    assert table["gradcam"]["unit"] == "speaker" and table["gradcam"]["collapsed"] == "1"
    assert "hirescam" in table["gradcam"]["same_as"].split() and set(meta["discrimination"]) == set(table)
    wrong = [i for i, r in enumerate(cams.index) if r["correct"] == "0"]
    assert cams.contrast is not None and cams.contrast.shape == cams.true.shape
    assert float(np.abs(cams.contrast[[i for i in range(len(cams.index)) if i not in wrong]]).max()) == 0.0
    assert all(float(np.abs(cams.contrast[i]).max()) > 0 for i in wrong)
    contrastive = rundir.read_csv(run_dir / "contrastive.csv")
    assert [r["token_id"] for r in contrastive] == [cams.index[i]["token_id"] for i in wrong]
