"""The report's "What the maps can say" block: discrimination.csv, the measured resolution and contrastive.csv, read
back from the HTML as numbers (and a collapsed method named as such, with its reason)."""

from __future__ import annotations

import json

from tests.helpers.runs import reported_run
from vowelcam.explain.readings.contrastive import CONTRASTIVE_COLUMNS
from vowelcam.explain.readings.discrimination import DISCRIMINATION_COLUMNS
from vowelcam.report import render
from vowelcam.rundir import write_csv

INSENSITIVE = "insensitive to the classifier: a re-initialised fc gives nearly the same map (rho 0.95 >= 0.8)"
REASON = "same map as cam, hirescam (the gradient is constant over the layer feeding global pooling)"


def _html(run) -> str:
    return " ".join(render.build_report(run.root).html.read_text(encoding="utf-8").split())


def test_discrimination_resolution_and_contrasts_are_reported_with_their_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "write_pdf", lambda html: (None, "skipped in this test", 0))
    run = reported_run(tmp_path / "run", n_tokens=48)
    meta_path = run.path("cams") / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta.update(
        point_spread_hz=543.2,
        point_spread_ms=158.4,
        ms_per_column=160.0,
        time_resolution="The profile integrates the whole analysis window (3 columns of 160 ms).",
    )
    meta_path.write_text(json.dumps(meta))
    common = {"layer": "layer4", "n": 40, "n_clusters": 8, "unit": "speaker", "same_as": ""}  # same_as below
    write_csv(
        run.path("discrimination.csv"),
        [
            {
                **common,
                "method": "gradcam",
                "rho_other": -0.012,
                "rho_other_lo": -0.061,
                "rho_other_hi": 0.034,
                "rho_reinit": 0.041,
                "rho_reinit_lo": -0.02,
                "rho_reinit_hi": 0.1,
                "collapsed": 1,
                "reason": REASON,
                "class_agnostic": 0,
                "model_insensitive": 0,
                "same_as": "cam hirescam",
            },
            {
                **common,
                "method": "layercam",
                "rho_other": 0.734,
                "rho_other_lo": 0.712,
                "rho_other_hi": 0.751,
                "rho_reinit": 0.95,
                "rho_reinit_lo": 0.94,
                "rho_reinit_hi": 0.96,
                "collapsed": 1,
                "reason": INSENSITIVE,
                "class_agnostic": 0,
                "model_insensitive": 1,
            },
        ],
        DISCRIMINATION_COLUMNS,
    )
    base = {
        "speaker": "s1",
        "method": "gradcam",
        "layer": "layer4",
        "hz_per_row": 125,
        "contrast_pos_share": 0.5,
        "contrast_peak_nearest": "F2",
        "contrast_peak_dist_hz": 10,
    }
    write_csv(
        run.path("contrastive.csv"),
        [
            {
                **base,
                "token_id": f"t{i}",
                "vowel": "IH",
                "predicted": "EH",
                "contrast_peak_hz": hz,
                "contrast_trough_hz": 500.0,
                "contrast_f1": -0.1,
                "contrast_f2": 0.25,
                "contrast_f3": 0.0,
            }
            for i, hz in enumerate((1800.0, 1900.0, 2100.0))
        ],
        CONTRASTIVE_COLUMNS,
    )
    html = _html(run)
    assert "543 Hz × 158 ms" in html and "160 ms per map column" in html
    assert "The profile integrates the whole analysis window" in html
    assert "-0.01 [-0.06, 0.03]" in html and "0.73 [0.71, 0.75]" in html
    assert "<td>cam hirescam</td> <td>no</td>" in html  # Grad-CAM: one map under three names, but informative
    assert f"<b>yes</b>: {INSENSITIVE.replace('>', '&gt;')}" in html  # the uninformative method, with why (escaped)
    assert "IH → EH" in html and "1900" in html  # median contrast peak of the pair's 3 tokens


def test_runs_without_the_new_files_still_render(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "write_pdf", lambda html: (None, "skipped in this test", 0))
    html = _html(reported_run(tmp_path / "run", n_tokens=24))
    assert "What the maps can say" in html and "Do the methods tell classes apart?" not in html


def test_formant_readings_left_empty_by_overlapping_bands_are_counted_in_the_report(tmp_path, monkeypatch):
    from vowelcam import rundir
    from vowelcam.rundir import read_csv

    monkeypatch.setattr(render, "write_pdf", lambda html: (None, "skipped in this test", 0))
    run = reported_run(tmp_path / "run", n_tokens=48)
    assert "neither is read for that token" not in _html(run)  # no overlap column, no sentence
    rows = read_csv(run.path(rundir.BANDS))
    assert len(rows) == 10
    for i, row in enumerate(rows):  # back vowels: F1 and F2 closer than the point spread in 5 tokens
        row.update(band1_overlap=int(i < 5), band2_overlap=int(i < 5), band3_overlap=0 if i else "")
    write_csv(run.path(rundir.BANDS), rows, list(rows[0]))
    html = _html(run)
    assert "neither is read for that token: F1 5 of 10; F2 5 of 10; F3 0 of 9 tokens" in html
