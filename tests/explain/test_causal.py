"""The causal formant test (vowelcam.explain.causal) on real Hillenbrand tokens through a small CNN."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.helpers.tiny_cnn import TinyCnn
from vowelcam.acoustics.features import geometry, token_spectrogram
from vowelcam.acoustics.praat import measure_token
from vowelcam.acoustics.resynthesis import parse_manipulations
from vowelcam.config import CamSettings, MeasureSettings, SpectrogramSettings
from vowelcam.errors import ConfigError
from vowelcam.explain.evidence.causal import CausalTokens, causal_rows, summarise
from vowelcam.explain.evidence.common import FaithInputs, FaithSpec, band_share, window_centroid_shift
from vowelcam.explain.evidence.plan import plan_evidence
from vowelcam.explain.evidence_stage import check_settings
from vowelcam.explain.maps.grid import make_grid

pytestmark = pytest.mark.usefixtures("one_torch_thread")
STEMS = ("m01ae", "m02iy", "w03uw", "w04ah")
SPECTROGRAM = SpectrogramSettings(max_freq=4000.0)


def test_centroid_shift_and_band_share_read_profiles_in_hz():
    freqs = np.arange(0, 4000, 31.25)
    bump = lambda f: np.exp(-0.5 * ((freqs - f) / 60.0) ** 2)  # noqa: E731
    base, moved = np.stack([bump(1000), bump(1000)]), np.stack([bump(1200), bump(1000)])
    shift = window_centroid_shift(base, moved, freqs, np.array([1000.0, 1000.0]), np.array([1200.0, 1200.0]), 125)
    assert shift[0] == pytest.approx(200, abs=10) and shift[1] == pytest.approx(0, abs=1e-6)
    share = band_share(moved, freqs, np.array([1100.0, np.nan]), np.array([1300.0, 1300.0]))
    assert share[0] == pytest.approx(0.89, abs=0.02) and np.isnan(share[1])  # +-1.67 SD of the bump


def test_causal_settings_are_checked_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="causal_corpus"):
        plan_evidence(CamSettings(causal="on", causal_corpus=str(tmp_path / "nowhere")), tmp_path, [])
    with pytest.raises(ConfigError, match="F9"):
        check_settings(CamSettings(causal="on", causal_corpus=str(tmp_path), causal_manipulations="F9+1"))
    with pytest.raises(ConfigError, match="deletion_widths_hz"):
        check_settings(CamSettings(deletion_widths_hz="250,wide"))


def _token_rows(root):
    from vowelcam.corpus.textgrids import read_textgrid

    rows, specs = [], []
    for stem in STEMS:
        sub, group = ("men", "men") if stem[0] == "m" else ("women", "women")
        tier = read_textgrid(root / "textgrids" / f"{stem}.TextGrid").tier("phones")
        vowel = next(iv for iv in tier.intervals if iv.text not in {"HH", "D", ""})
        audio, sr = sf.read(root / sub / f"{stem}.wav", dtype="float64")
        measured = measure_token(audio, sr, vowel.start, vowel.end, group, MeasureSettings())
        centre = (vowel.start + vowel.end) / 2
        specs.append(token_spectrogram(audio, sr, centre, SPECTROGRAM))
        rows.append(
            {
                "token_id": f"{stem}:phones:2",
                "file": f"{sub}/{stem}.wav",
                "speaker": stem[:3],
                "group": group,
                "phone": stem[3:].upper(),
                "start": vowel.start,
                "end": vowel.end,
                "frame_start": 30,
                "frame_end": 66,
                "kind": "vowel",
                **measured,
            }
        )
    rows.append({**rows[0], "token_id": "missing", "file": "men/none.wav", "speaker": "m99"})
    specs.append(specs[0])
    return rows, np.stack(specs).astype(np.float32)


@pytest.mark.slow
def test_causal_rows_on_hillenbrand_tokens(shared_data):
    rows, specs = _token_rows(shared_data / "hillenbrand1995")
    geo = geometry(SPECTROGRAM)
    torch.manual_seed(0)
    model = TinyCnn(n_classes=3, channels=4).eval()
    grid = make_grid("features", specs.shape[1:], geo.freqs_hz, specs.shape[2])
    true_idx = np.array([0, 1, 2, 0, 0])
    inp = FaithInputs(
        model,
        model.features,
        [],
        grid,
        lambda s: torch.from_numpy((s + 60.0) / 15.0)[:, None],
        specs,
        true_idx,
        np.array([[r["frame_start"], r["frame_end"]] for r in rows]),
        "gradcam",
        torch.device("cpu"),
        speakers=[r["speaker"] for r in rows],
        recordings=[r["file"] for r in rows],
    )
    tokens = CausalTokens(rows, specs, true_idx, shared_data / "hillenbrand1995", SPECTROGRAM, MeasureSettings())
    manipulations = parse_manipulations("F1+1,F2-1,vtl1.1,F4+1,notch12")
    spec = FaithSpec(n_boot=200, batch_size=8)
    out = causal_rows(inp, tokens, manipulations, spec)
    summary = summarise(out, inp.clusters, inp.unit, spec)
    assert len(out) == 5 * 6
    by = {(r["token_id"], r["manipulation"]): r for r in out}
    assert "none.wav" in by[("missing", "F2-1bark")]["problem"] and np.isnan(by[("missing", "F2-1bark")]["d_prob_true"])
    good = [r for r in out if not r["problem"]]
    none = [r for r in good if r["manipulation"] == "none"]
    assert np.median([r["placement_error_bark"] for r in none]) < 0.2  # the round trip keeps the formants
    assert max(abs(r["prob_true"] - r["prob_true_orig"]) for r in none) < 0.2  # same spectrogram code and level
    for name in ("F1+1bark", "F2-1bark"):
        moved = [r for r in good if r["manipulation"] == name]
        assert np.median([abs(r["placement_error_bark"]) for r in moved]) < 0.3  # measured where it was put
        assert np.median([r["energy_follow"] for r in moved]) > 0.3  # the spectrum's own mass moves with it
        assert all(np.isfinite(r["d_prob_true"]) and np.isfinite(r["new_band_gain"]) for r in moved)
    assert all(r["distortion_db"] == 0 for r in none)
    assert all(r["distortion_db"] > 0.3 for r in good if r["manipulation"] != "none")  # every sham changes the input
    notched = [r for r in good if r["manipulation"] == "notch12"]
    assert np.median([r["placement_error_bark"] for r in notched]) < 0.3  # a notch between formants keeps them
    true_of = {row["token_id"]: int(t) for row, t in zip(rows, true_idx)}
    assert all(r["runner_up"] in (0, 1, 2) and r["runner_up"] != true_of[r["token_id"]] for r in good)
    warp = [r for r in good if r["manipulation"] == "vtl*1.1"]
    assert np.median([r["energy_follow"] for r in warp]) > 0.5
    rows_by = {(r["condition"], r["metric"]): r for r in summary}
    assert rows_by[("F2-1bark", "d_prob_true")]["unit"] == "speaker"
    assert rows_by[("F2-1bark", "d_prob_true")]["n"] == 4 and rows_by[("none", "round_trip_error_bark")]["n"] == 4


def test_cam_command_refuses_causal_without_a_corpus(tmp_path, predicted_run_dir, run_copy):
    from typer.testing import CliRunner

    from vowelcam.cli import app

    run = run_copy(predicted_run_dir)
    result = CliRunner().invoke(
        app, ["cam", str(run), "--causal", "--causal-corpus", str(tmp_path / "nowhere"), "--deletion-widths", "125,500"]
    )
    assert result.exit_code == 2 and "--causal-corpus" in result.output and "does not exist" in result.output
    assert not (run / "cams").exists()  # refused before any map was computed
    result = CliRunner().invoke(app, ["cam", str(run), "--causal", "--causal-corpus", str(tmp_path)])
    assert result.exit_code != 0 and "holding the run's recordings" in result.output  # a folder, not the corpus
    (run / "sources.json").unlink(missing_ok=True)
    result = CliRunner().invoke(app, ["cam", str(run), "--causal"])  # no corpus given or recorded
    assert result.exit_code != 0 and "causal_corpus" in result.output
    assert not (run / "cams").exists()


def test_the_causal_subset_draws_from_every_fold_and_only_vowels():
    from vowelcam.explain.evidence_stage import causal_subset

    chosen = [{"token_id": str(i), "fold": str(i % 3)} for i in range(30)]
    tokens = {str(i): {"kind": "unvoiced" if i % 5 == 0 else "vowel"} for i in range(30)}
    picked = causal_subset(chosen, tokens, CamSettings(causal_max_tokens=12))
    assert len(picked) == 12 and list(picked) == sorted(picked)
    assert {int(chosen[i]["fold"]) for i in picked} == {0, 1, 2}  # each fold's tokens, through its own model
    assert all(tokens[chosen[i]["token_id"]]["kind"] == "vowel" for i in picked)
    everything = causal_subset(chosen, tokens, CamSettings(causal_max_tokens=100))
    assert len(everything) == 24
