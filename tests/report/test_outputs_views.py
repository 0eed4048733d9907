"""Outputs to look at and to open in Praat (issue 13): export-textgrids read back with parselmouth, `show`,
vowel nuclei for `classify` without a TextGrid, and the report's per-speaker view."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import parselmouth
import pytest
import soundfile as sf
from parselmouth.praat import call
from typer.testing import CliRunner

from tests.helpers.runs import ODD, reported_run
from vowelcam import rundir
from vowelcam.acoustics.nuclei import NucleiSettings, find_nuclei, kept_peaks
from vowelcam.cli import app
from vowelcam.config import Settings
from vowelcam.extract import extract
from vowelcam.report.cards import wrap_title
from vowelcam.report.render import build_report
from vowelcam.report.speakers import speaker_rows
from vowelcam.report.token_view import show_token, token_title

sys.path.append(str(Path(__file__).resolve().parents[2]))  # the repository, for the benchmarks' helpers (bench/lib)
from bench.lib.nuclei import nucleus_recall_precision  # noqa: E402
from vowelcam.tokens import read_tokens

SR = 16000


@pytest.fixture(scope="module")
def small_run(shared_data, tmp_path_factory):
    """Four Hillenbrand words extracted, with predictions and CAM bands written as the stages write them."""
    root = tmp_path_factory.mktemp("exp")
    hb = shared_data / "hillenbrand1995"
    (root / "audio").mkdir()
    (root / "tg").mkdir()
    for stem in ("m01ae", "m01iy", "w01ae", "w01iy"):
        group = "men" if stem[0] == "m" else "women"
        (root / "audio" / f"{stem}.wav").symlink_to(hb / group / f"{stem}.wav")
        (root / "tg" / f"{stem}.TextGrid").symlink_to(hb / "textgrids" / f"{stem}.TextGrid")
    settings = Settings().with_overrides(
        {"corpus": {"speaker_pattern": "hillenbrand"}, "labels": {"include_unvoiced": False}}
    )
    run = root / "run"
    extract(root / "audio", run, root / "tg", settings)
    tokens = read_tokens(run / rundir.TOKENS)
    preds = [
        {
            "token_id": t["token_id"],
            "true": t["phone"],
            "predicted": "IY" if i == 0 else t["phone"],
            "prob_true": 0.3,
            "prob_predicted": 0.61 + 0.1 * i,
            "split": "test",
            "correct": int(i != 0),
        }
        for i, t in enumerate(tokens)
    ]
    rundir.write_csv(run / rundir.PREDICTIONS, preds, list(preds[0]))
    bands = [
        {
            "token_id": t["token_id"],
            "vowel": t["phone"],
            "predicted": p["predicted"],
            "hz_per_row": 62.5,
            "peak1_hz": 1000.0 + 250 * i,
        }
        for i, (t, p) in enumerate(zip(tokens, preds))
    ]
    rundir.write_csv(run / rundir.BANDS, bands, list(bands[0]))
    rundir.write_csv(run / "bands_pred.csv", [{**b, "peak1_hz": b["peak1_hz"] + 500} for b in bands], list(bands[0]))
    return run, tokens, preds


def test_export_textgrids_read_back_by_praat(small_run, tmp_path):
    run, tokens, preds = small_run
    result = CliRunner().invoke(app, ["export-textgrids", str(run), "--out", str(tmp_path / "tg")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "tg").iterdir()) == [
        f"{s}.TextGrid" for s in ("m01ae", "m01iy", "w01ae", "w01iy")
    ]
    tok = tokens[0]
    grid = parselmouth.read(str(tmp_path / "tg" / f"{tok['file'][:-4]}.TextGrid"))
    n = call(grid, "Get number of tiers")
    names = [call(grid, "Get tier name", i) for i in range(1, n + 1)]
    assert names == ["words", "phones", "steady", "vowelcam-class", "vowelcam-points", "vowelcam-cam"]
    k = call(grid, "Get interval at time", 4, (tok["start"] + tok["end"]) / 2)
    assert call(grid, "Get label of interval", 4, k) == "IY* 0.61"  # AE heard as IY, starred
    assert call(grid, "Get start time of interval", 4, k) == pytest.approx(tok["start"], abs=1e-6)
    assert call(grid, "Get number of points", 5) == 3
    assert call(grid, "Get time of point", 5, 2) == pytest.approx(
        tok["start"] + 0.5 * (tok["end"] - tok["start"]), abs=1e-5
    )
    assert call(grid, "Get label of point", 5, 2) == (
        f"50%: F1 {tok['f1_50']:.0f} F2 {tok['f2_50']:.0f} F3 {tok['f3_50']:.0f}"
    )
    assert call(grid, "Get label of point", 6, 1) == "true AE 969-1031 Hz | pred IY 1469-1531 Hz"


def test_export_without_predictions_says_so(small_run, tmp_path):
    run, _, _ = small_run
    bare = tmp_path / "extracted"
    bare.mkdir()
    for name in (rundir.TOKENS, rundir.SOURCES, rundir.CONFIG):
        (bare / name).write_bytes((run / name).read_bytes())
    result = CliRunner().invoke(app, ["export-textgrids", str(bare), "--out", str(tmp_path / "tg")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "no predictions.csv: tier vowelcam-class is empty (run `vowelcam train`" in text
    assert "no bands.csv: tier vowelcam-cam is empty" in text
    full = CliRunner().invoke(app, ["export-textgrids", str(run), "--out", str(tmp_path / "tg2")])
    assert "note:" not in full.output


def test_export_without_sources_names_the_fix(small_run, tmp_path):
    run, _, _ = small_run
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / rundir.TOKENS).write_bytes((run / rundir.TOKENS).read_bytes())
    result = CliRunner().invoke(app, ["export-textgrids", str(bare)])
    assert result.exit_code == 2 and "give --corpus" in result.output


def test_show_draws_the_token_with_its_track_and_numbers(small_run, tmp_path):
    run, tokens, preds = small_run
    tok = tokens[1]
    path = show_token(run, tok["token_id"], tmp_path / "one.png")
    image = mpimg.imread(path)
    title = token_title(tok, preds[1])
    lines = wrap_title(title).count("\n") + 1  # a long title breaks between its parts instead of being cut
    height, width = image.shape[:2]  # 6.6 x (2.35 + 0.13 per extra title line) in at 200 dpi (matplotlib
    assert abs(height - round(200 * (2.35 + 0.13 * (lines - 1)))) <= 2 and width == 1320  # rounds by a pixel)
    assert f"F1/F2/F3 at 50 % {tok['f1_50']:.0f}/{tok['f2_50']:.0f}/{tok['f3_50']:.0f} Hz" in title
    assert "predicted i (IY) p=0.71" in title and f"F0 {tok['f0']:.0f} Hz" in title
    (run / "tracks.csv").rename(run / "tracks.off")
    try:
        bare = mpimg.imread(show_token(run, tok["token_id"], tmp_path / "bare.png"))
    finally:
        (run / "tracks.off").rename(run / "tracks.csv")
    assert np.abs(image - bare).max() > 0.2  # the track's lines are drawn
    result = CliRunner().invoke(app, ["show", str(run), "nope:phones:9"])
    assert result.exit_code == 2 and "no token 'nope:phones:9'" in result.output


def _vowels(spans, noise_at=None, seconds=1.6) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(0)
    x = 0.0005 * rng.standard_normal(t.size)
    for lo, hi in spans:
        on = (t >= lo) & (t < hi)
        env = np.sin(np.pi * (t[on] - lo) / (hi - lo))
        x[on] += env * sum(np.sin(2 * np.pi * k * 130 * t[on]) / k for k in range(1, 25)) * 0.2
    if noise_at is not None:
        on = (t >= noise_at[0]) & (t < noise_at[1])
        x[on] += 0.3 * rng.standard_normal(on.sum())  # a loud fricative: unvoiced
    return x


def test_nuclei_one_per_voiced_syllable_none_in_noise():
    spans = [(0.1, 0.35), (0.5, 0.7), (1.0, 1.4)]
    nuclei = find_nuclei(_vowels(spans, noise_at=(0.75, 0.9)), SR)
    assert len(nuclei) == 3
    assert all(lo <= n.peak <= hi and n.start < n.peak < n.end for n, (lo, hi) in zip(nuclei, spans))
    assert find_nuclei(0.3 * np.random.default_rng(1).standard_normal(SR), SR) == []  # white noise: unvoiced
    ripple = np.array([60.0, 70.0, 69.0, 70.5, 60.0])  # a 1.5 dB ripple is one syllable, not two
    assert kept_peaks(ripple, NucleiSettings()) == [3]
    scores = nucleus_recall_precision([0.2, 0.6, 0.8], [(0.1, 0.3), (0.5, 0.7), (1.0, 1.2)])
    assert scores["recall"] == pytest.approx(2 / 3) and scores["precision"] == pytest.approx(2 / 3)


def test_classify_without_textgrid_finds_and_writes_nuclei(tmp_path, monkeypatch):
    from dataclasses import asdict

    import torch

    from vowelcam.config import SpectrogramSettings
    from vowelcam.learn import models

    monkeypatch.setenv("VOWELCAM_CONFIG_DIR", str(tmp_path / "config"))
    torch.manual_seed(0)
    info = models.ModelInfo(
        "resnet18",
        ["AA", "IY", "UW"],
        "vowels4k",
        4000.0,
        asdict(SpectrogramSettings()),
        {"mean": -60.0, "std": 20.0},
        [2] * 5,
    )
    model = tmp_path / "model.pt"
    torch.save(models.checkpoint_dict(models.build_model(info), info), model)
    wav = tmp_path / "three.wav"
    spans = [(0.1, 0.35), (0.5, 0.7), (1.0, 1.4)]
    sf.write(wav, _vowels(spans), SR, subtype="FLOAT")
    out = tmp_path / "three.TextGrid"
    result = CliRunner().invoke(app, ["classify", str(wav), "-m", str(model), "--json", "--write-textgrid", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout[result.stdout.index("[") :])
    assert len(rows) == 3 and all(r["tier"] == "nuclei" for r in rows)
    assert all(lo <= r["peak"] <= hi for r, (lo, hi) in zip(rows, spans))
    grid = parselmouth.read(str(out))
    assert call(grid, "Get number of tiers") == 2 and call(grid, "Get number of points", 2) == 3
    assert call(grid, "Get time of point", 2, 3) == pytest.approx(rows[2]["peak"], abs=1e-5)
    k = call(grid, "Get interval at time", 1, rows[1]["peak"])
    assert call(grid, "Get label of interval", 1, k) == f"{rows[1]['predicted']} {rows[1]['probability']:.2f}"


def test_report_speaker_table_numbers_and_escaping(tmp_path):
    run = reported_run(tmp_path / "run", n_tokens=120)
    tokens = read_tokens(run.path(rundir.TOKENS))
    preds = {p["token_id"]: p for p in rundir.read_csv(run.path(rundir.PREDICTIONS)) if p["split"] == "test"}
    rows = {r["speaker"]: r for r in speaker_rows(tokens, preds, n_boot=200)}
    m00 = [t for t in tokens if t["speaker"] == "m00"]
    evaluated = [preds[t["token_id"]] for t in m00]
    assert rows["m00"]["n_tokens"] == len(m00) and rows["m00"]["n_evaluated"] == len(evaluated)
    assert rows["m00"]["accuracy"].value == pytest.approx(np.mean([p["correct"] == "1" for p in evaluated]))
    assert rows["m00"]["accuracy"].lo <= rows["m00"]["accuracy"].value <= rows["m00"]["accuracy"].hi
    assert rows["m00"]["unit"] == "recordings" and rows["m00"]["median_f0"] == pytest.approx(120.0)
    assert rows[f"m03{ODD}"]["n_evaluated"] == 0  # a training speaker: no accuracy claimed
    build_report(run.root)
    html = (run.path("report") / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="speakers"') : html.index('id="gallery"')]
    assert '<td class="name">m03&lt;i&gt;&amp;&#39;&#34;</td>' in section and "<i>&'\"" not in section
    assert section.count('<td class="name">') == len({t["speaker"] for t in tokens})
    assert "Vowels of the group “men”" in section and "Vowels of the group “women”" in section
    assert (run.path("report") / "figures" / "vowel_space_lobanov.svg").stat().st_size > 10_000
