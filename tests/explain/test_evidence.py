"""The controls behind every CAM reading, tried as a sceptic would: an explainer that is only energy must not be
called support; a model that hears F2 alone must be seen to (and an untrained one must not); the controls' maths;
held-out tokens only; speaker-level intervals."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.runs import CUE_SETTINGS, cue_run
from tests.helpers.spectra import formant_peaks
from vowelcam import rundir
from vowelcam.config import CamSettings, TrainSettings
from vowelcam.explain import map_pass as explain_module
from vowelcam.explain.readings.agreement import NOT_HELD_OUT, agreement_table, verdicts
from vowelcam.explain.readings.controls import (
    energy_maps,
    envelope_maps,
    envelope_matrix,
    null_partners,
    peak_formant_flags,
)
from vowelcam.explain.stage import explain_run
from vowelcam.learn.models import build_model, checkpoint_dict, load_model
from vowelcam.learn.train import train
from vowelcam.report import render
from vowelcam.rundir import read_csv

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CAM = CamSettings(faithfulness=False, bootstrap=500)


def _all_row(run) -> dict[str, str]:
    return next(r for r in read_csv(run / rundir.AGREEMENT) if r["vowel"] == "ALL" and r["subset"] == "all")


def _contrasts(row: dict[str, str], control: str = "energy") -> dict[int, tuple[float, float, float]]:
    return {k: tuple(float(row[f"enrich_f{k}_minus_{control}{s}"]) for s in ("", "_lo", "_hi")) for k in (1, 2, 3)}


@pytest.fixture(scope="module")
def cue_runs(tmp_path_factory, one_torch_thread):
    """The F2-only corpus, a model trained on it (3 held-out speakers) and the same model re-initialised; the cam
    stage run on both with the default method and layer."""
    root = tmp_path_factory.mktemp("cue")
    trained = cue_run(root / "trained", n_speakers=9, per_class=6)
    result = train(
        trained,
        TrainSettings(
            task="vowels4k",
            arch="resnet18",
            epochs=4,
            batch_size=8,
            lr=1e-3,
            augment=False,
            test_fraction=0.34,
            freq_pool=2,
            seed=0,
            precision="fp32",
        ),
        device="cpu",
    )
    explain_run(trained, CAM, device="cpu")
    untrained = root / "untrained"
    shutil.copytree(trained, untrained)
    _, info = load_model(untrained / rundir.MODEL)
    torch.manual_seed(1)
    torch.save(checkpoint_dict(build_model(info), info), untrained / rundir.MODEL)
    explain_run(untrained, CAM, device="cpu")
    return trained, untrained, result


@pytest.mark.slow
def test_f2_only_cue_claims_no_support_at_f1_or_f3_with_a_speaker_interval(cue_runs):
    """The layer-4 Grad-CAM agreement reading on a model that hears F2 alone: read at the speaker level, it sits
    at F1 and F3 less than energy does and claims no support there. Whether it *finds* F2 is not asserted here:
    with a ~0.6 kHz point spread it did on some platforms and not on others (F2 minus energy from -0.47 to +0.49),
    and the calibration table shows layer-4 Grad-CAM finding its cue in 1 of 9 single-formant runs. That the cue
    is found is tested with the calibrated instrument (integrated gradients) in ``test_verdict_runs``."""
    trained, _, result = cue_runs
    assert result.accuracy >= 0.9 and result.group_by == "speaker"  # the model did learn the cue
    row = _all_row(trained)
    assert row["ci_unit"] == "speaker" and int(row["n_clusters"]) == 3
    energy = _contrasts(row)
    assert energy[1][2] < 0 and energy[3][2] < 0  # F1, F3: the CAM sits there less than energy does
    assert [row[f"verdict_f{k}"] for k in (1, 3)] == ["no support", "no support"]


@pytest.mark.slow
def test_an_untrained_model_shows_no_such_contrast(cue_runs):
    _, untrained, _ = cue_runs
    row = _all_row(untrained)
    energy = _contrasts(row)
    assert energy[1][2] < 0 and energy[2][2] < 0  # below the energy baseline at F1 and at F2, the cue
    assert "support" not in {row[f"verdict_f{k}"] for k in (1, 2, 3)}


def _energy_explainer(model, layer, x, targets, method, grid):
    """A model-free "explainer": the energy baseline itself, for the true and the predicted class."""
    maps = energy_maps(x)
    return torch.stack([maps, maps], dim=1), None, torch.zeros_like(maps)


@pytest.mark.slow
def test_the_energy_map_fed_through_the_whole_pipeline_is_never_called_support(cue_runs, tmp_path, monkeypatch):
    trained, _, _ = cue_runs
    run = tmp_path / "energy"
    shutil.copytree(trained, run)
    monkeypatch.setattr(explain_module, "compute_cams_with_contrast", _energy_explainer)
    explain_run(run, CAM, device="cpu")
    rows = read_csv(run / rundir.AGREEMENT)
    held = [r for r in rows if r["subset"] == "all"]
    read = [(r, k) for r in held for k in (1, 2, 3) if r[f"enrich_f{k}_minus_energy"] != ""]
    assert {k for r, k in read if r["vowel"] == "ALL"} == {1, 2, 3}  # every formant read on the pooled tokens
    for r, k in read:  # (a vowel whose bands all overlap at one formant has no reading there, and no verdict)
        assert float(r[f"enrich_f{k}_minus_energy"]) == 0.0 and float(r[f"enrich_f{k}_minus_energy_hi"]) == 0.0
    judged = [r[f"verdict_f{k}"] for r, k in read]
    assert "support" not in judged and judged.count("no support") == len(judged)  # judged, and no support
    # energy does beat the null at F2, the formant that differs between the vowels: one control is not enough
    assert float(_all_row(run)["enrich_f2_minus_null_lo"]) > 0
    monkeypatch.setattr(render, "write_pdf", lambda html: (None, "skipped in this test", 0))
    html = " ".join(render.build_report(run).html.read_text(encoding="utf-8").split())
    assert "they carry <b>no verdict</b>" in html  # the uncalibrated calls above are described, never printed
    assert "Support (CAM above both controls)" not in html and "<td>support</td>" not in html
    assert "the maps point at bands the model uses" not in html


# ---------------------------------------------------------------- the controls' maths
def test_energy_map_is_db_above_the_tokens_floor():
    x = torch.arange(100, dtype=torch.float32).reshape(1, 1, 10, 10)
    out = energy_maps(x)[0]
    assert out.shape == (10, 10) and float(out.min()) == 0.0
    assert float(out[9, 9]) == pytest.approx(99 - np.percentile(np.arange(100), 5), abs=1e-4)
    assert torch.allclose(energy_maps(3 * x), 3 * out)  # units scale; shares do not


def test_envelope_keeps_formant_peaks_and_removes_harmonics():
    freqs = np.arange(65) * 62.5
    envelope = formant_peaks(freqs, (700, 1800), (120, 150), (30, 20))
    harmonics = 8 * np.cos(2 * np.pi * freqs / 250.0)  # F0 250 Hz: a 4 ms quefrency, above the 2 ms lifter
    matrix = torch.from_numpy(envelope_matrix(65, 62.5)).float()

    def smooth(values):
        return envelope_maps(torch.tensor(values, dtype=torch.float32)[None, :, None].repeat(1, 1, 3), matrix)[0, :, 0]

    with_harmonics, without = smooth(envelope + harmonics).numpy(), smooth(envelope).numpy()
    gone = np.abs(with_harmonics - without)
    assert gone[4:-4].max() < 1.0 and gone.max() < 3.0  # the 16 dB ripple is gone (some leakage at the axis ends)
    assert abs(freqs[np.argmax(with_harmonics)] - 700) <= 62.5
    assert abs(freqs[20:][np.argmax(with_harmonics[20:])] - 1800) <= 125  # the second formant's peak too
    assert np.allclose(envelope_matrix(65, 62.5) @ envelope_matrix(65, 62.5), envelope_matrix(65, 62.5), atol=1e-9)


def _tok(tid, speaker, phone, f2=1500.0):
    return {
        "token_id": tid,
        "speaker": speaker,
        "phone": phone,
        "kind": "vowel",
        "f1_50": 500.0,
        "f2_50": f2,
        "f3_50": 2500.0,
    }


def test_null_partner_is_another_vowel_of_the_same_speaker_whatever_the_order():
    tokens = [
        _tok("a1", "a", "IY"),
        _tok("a2", "a", "IY"),
        _tok("a3", "a", "AA"),
        _tok("a4", "a", "UW"),
        _tok("b1", "b", "IY"),
        _tok("b2", "b", "IY"),
        {**_tok("b3", "b", "AA"), "f1_50": "", "f2_50": "", "f3_50": ""},
    ]
    partners = null_partners(tokens, tokens, seed=3)
    assert partners["a1"]["speaker"] == "a" and partners["a1"]["phone"] in ("AA", "UW")
    assert partners["a3"]["phone"] in ("IY", "UW")
    assert partners["b1"] is None  # b's only other vowel has no measured formant: empty, not invented
    again = null_partners(tokens[::-1], tokens[::-1], seed=3)
    assert {k: v and v["token_id"] for k, v in partners.items()} == {k: v and v["token_id"] for k, v in again.items()}


def test_peak_formant_flags():
    assert peak_formant_flags({"peak1_on_formant": 1.0, "peak1_nearest": "F2"}) == {
        "peak1_on_f1": 0.0,
        "peak1_on_f2": 1.0,
        "peak1_on_f3": 0.0,
    }
    assert peak_formant_flags({"peak1_on_formant": 0.0, "peak1_nearest": "F2"})["peak1_on_f2"] == 0.0
    assert np.isnan(peak_formant_flags({"peak1_on_formant": "", "peak1_nearest": ""})["peak1_on_f1"])


# ---------------------------------------------------------------- verdicts, intervals, held-out tokens
def test_support_needs_both_the_energy_baseline_and_the_null_beaten():
    both = {"enrich_f1_minus_energy_lo": 0.1, "enrich_f1_minus_null_lo": 0.2}
    assert verdicts(both)["verdict_f1"] == "support"
    assert verdicts({**both, "enrich_f1_minus_null_lo": -0.01})["verdict_f1"] == "no support"
    assert verdicts({**both, "enrich_f1_minus_energy_lo": 0.0})["verdict_f1"] == "no support"
    assert verdicts({**both, "enrich_f1_minus_null_lo": float("nan")})["verdict_f1"] == ""


def _band_rows(n_speakers=6, per=10, split="test", effect=1.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_speakers):
        shift = rng.normal(0, 1.0)  # a per-speaker effect: tokens of one speaker move together
        for i in range(per):
            cam = 2.0 + effect + shift + rng.normal(0, 0.05)
            rows.append(
                {
                    "token_id": f"s{s}:{i}",
                    "speaker": f"s{s}",
                    "file": f"s{s}/{i}.wav",
                    "vowel": "IY",
                    "correct": 1,
                    "split": split,
                    "n_formants_measured": 3,
                    "has_reference": 1,
                    "enrich_f1": cam,
                    "energy_enrich_f1": 2.0,
                    "null_enrich_f1": 1.0,
                    "null_token_id": "x",
                }
            )
    return rows


def test_agreement_intervals_resample_speakers_not_tokens():
    rows = _band_rows()
    row = next(r for r in agreement_table(rows, 500) if r["vowel"] == "ALL" and r["subset"] == "all")
    assert row["ci_unit"] == "speaker" and row["n_clusters"] == 6
    speaker_means = [np.mean([r["enrich_f1"] for r in rows if r["speaker"] == f"s{s}"]) for s in range(6)]
    width = row["enrich_f1_minus_energy_hi"] - row["enrich_f1_minus_energy_lo"]
    token_se = np.std([r["enrich_f1"] for r in rows]) / np.sqrt(len(rows))
    assert width > 2 * 1.96 * token_se * 1.8  # far wider than a token bootstrap would give
    assert width == pytest.approx(2 * 1.96 * np.std(speaker_means) / np.sqrt(6), rel=0.5)


def test_training_tokens_never_enter_the_held_out_rows():
    rows = _band_rows(effect=1.0) + _band_rows(effect=50.0, split="train", seed=1)
    table = agreement_table(rows, 200)
    held = next(r for r in table if r["vowel"] == "ALL" and r["subset"] == "all")
    seen = next(r for r in table if r["vowel"] == "ALL" and r["subset"] == NOT_HELD_OUT)
    assert held["held_out"] == 1 and held["n"] == 60 and held["enrich_f1"] < 10
    assert seen["held_out"] == 0 and seen["n"] == 60 and seen["enrich_f1"] > 40


def test_faithfulness_subset_takes_held_out_tokens_only():
    chosen = [{"token_id": str(i), "split": "test" if i % 2 else "train", "fold": 0} for i in range(20)]
    idx = explain_module._faith_subset(chosen, [0], CamSettings(faithfulness_max_tokens=100))
    assert len(idx) == 10 and all(chosen[i]["split"] == "test" for i in idx)


def test_cue_fixture_has_uninformative_f1_and_f3():
    """The premise of the F2 test: F1 and F3 do not tell the classes apart, F2 does."""
    import tempfile

    from vowelcam.tokens import read_tokens

    with tempfile.TemporaryDirectory() as tmp:
        rows = read_tokens(cue_run(Path(tmp) / "run", n_speakers=9, per_class=5) / rundir.TOKENS)
    by = {v: np.array([[r[f"f{k}_50"] for k in (1, 2, 3)] for r in rows if r["phone"] == v]) for v in ("IH", "IY")}
    gap = np.abs(by["IY"].mean(0) - by["IH"].mean(0)) / np.sqrt((by["IY"].var(0) + by["IH"].var(0)) / 2)
    assert gap[1] > 5 and gap[0] < 0.7 and gap[2] < 0.7
    assert CUE_SETTINGS.max_freq == 4000.0


def test_train_command_asks_for_group_by_instead_of_regrouping_and_records_it(tmp_path, monkeypatch):
    """Two speakers: no silent per-file split; --group-by recording is accepted and kept in the run's records."""
    import json

    from typer.testing import CliRunner

    from tests.helpers.runs import extracted_run
    from vowelcam.cli import app
    from vowelcam.config import tomllib  # tomllib, or tomli on Python 3.10

    monkeypatch.setenv("VOWELCAM_CONFIG_DIR", str(tmp_path / "config"))  # the remembered model stays here
    run = extracted_run(tmp_path / "run", speakers=2, per_class=4)
    refused = CliRunner().invoke(app, ["train", str(run), "--epochs", "1", "--arch", "resnet18", "--device", "cpu"])
    assert refused.exit_code == 2 and "--group-by" in " ".join(refused.output.split())
    done = CliRunner().invoke(
        app,
        [
            "train",
            str(run),
            "--epochs",
            "1",
            "--arch",
            "resnet18",
            "--device",
            "cpu",
            "--group-by",
            "recording",
            "--no-augment",
        ],
    )
    assert done.exit_code == 0, done.output
    summary = json.loads((run / "model" / "summary.json").read_text())
    assert summary["group_by"] == "recording" and summary["ci_unit"] in ("speaker", "recording")
    assert tomllib.loads((run / "model" / "train.toml").read_text())["train"]["group_by"] == "recording"
    assert f"resampling {summary['ci_unit']}s" in " ".join(done.output.split())
