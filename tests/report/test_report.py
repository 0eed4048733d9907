"""`vowelcam report`: the PDF read back (text, pages, the agreement table's numbers), escaping, missing parts,
foreign run directories, a missing WeasyPrint, and the statistics behind the numbers."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.helpers.runs import ODD, TITLE, reported_run
from vowelcam import rundir
from vowelcam.cli import app
from vowelcam.errors import RunDirError
from vowelcam.intervals import cluster_bootstrap_mean
from vowelcam.learn.metrics import accuracy_interval
from vowelcam.report import render
from vowelcam.report.data import load_report_data
from vowelcam.report.reference_mixture import references_for
from vowelcam.report.stats import select_gallery, token_profile, wilson_interval
from vowelcam.rundir import RunDir, read_csv, write_csv
from vowelcam.tokens import TOKEN_COLUMNS

GALLERY = 4


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    """A fake run with 120 tokens, rendered once for the tests that read its report."""
    run = reported_run(tmp_path_factory.mktemp("run") / "run", n_tokens=120, gallery_size=GALLERY)
    return run, render.build_report(run.root)


def pdf_text(path: Path) -> tuple[list[str], int]:
    reader = PdfReader(str(path))
    return [page.extract_text().replace("\xa0", " ") for page in reader.pages], len(reader.pages)


@pytest.mark.slow
def test_pdf_has_every_section_ipa_labels_and_page_numbers(rendered):
    run, result = rendered
    pages, n_pages = pdf_text(result.pdf)
    assert n_pages == result.pages and 6 <= n_pages <= 20
    text = "\n".join(pages)
    for heading in (
        "1 Summary",
        "2 Confusion matrix",
        "CAMs against formants",
        "Mean CAM frequency profiles",
        "5 Vowel space",
        "Misclassified tokens, annotated",
        "Faithfulness checks",
        "Problems while reading the corpus",
        "Appendix: methods and settings",
    ):
        assert heading in text, heading
    assert "ɪ (IH)" in text and "æ (AE)" in text and "ɑ (AA)" in text
    assert f"page 2 of {n_pages}" in pages[1]
    assert "62.5 Hz per CAM row" in text
    assert "Not computed" not in text


@pytest.mark.slow
def test_accuracy_and_its_interval_match_predictions(rendered):
    run, result = rendered
    test = [p for p in read_csv(run.path(rundir.PREDICTIONS)) if p["split"] == "test"]
    k = sum(int(p["correct"]) for p in test)
    speaker = {t["token_id"]: t["speaker"] for t in read_csv(run.path(rundir.TOKENS))}
    _, _, _, _, n_speakers = cluster_bootstrap_mean(
        [float(p["correct"]) for p in test], [speaker[p["token_id"]] for p in test], 1000, 0
    )
    tokens = {t["token_id"]: t for t in read_csv(run.path(rundir.TOKENS))}
    lo, hi, _ = accuracy_interval(test, tokens, seed=0)  # the interval training prints and writes to summary.json
    assert n_speakers >= 2 and (lo, hi) != wilson_interval(k, len(test))  # speakers resampled, not tokens
    text = "\n".join(pdf_text(result.pdf)[0])
    assert f"On the {len(test)} held-out tokens" in text
    assert f"{100 * k / len(test):.1f} % correctly" in text
    assert f"interval {100 * lo:.1f} % to {100 * hi:.1f} %, resampling speakers" in " ".join(text.split())


@pytest.mark.slow
def test_agreement_table_numbers_match_agreement_csv(rendered):
    run, result = rendered
    pages, _ = pdf_text(result.pdf)
    text = "\n".join(pages)
    table = text[text.index("All readings per vowel") : text.index("Enrichment at the reference formants")]
    flat = " ".join(table.split())
    rows = [r for r in read_csv(run.path(rundir.AGREEMENT)) if r["subset"] == "all"]
    assert rows
    for r in rows:
        expected = [r["n"], f"{100 * float(r['accuracy']):.1f} %"]
        for k in (1, 2, 3):
            expected.append(f"{float(r[f'enrich_f{k}']):.2f}")
            expected.append(f"[{float(r[f'enrich_f{k}_lo']):.2f}, {float(r[f'enrich_f{k}_hi']):.2f}]")
        expected += [f"{100 * float(r['peak_on_formant_share']):.0f} %", f"{100 * float(r['hf_share_above_f3']):.1f} %"]
        _assert_in_order(flat, "all vowels" if r["vowel"] == "ALL" else f"({r['vowel']})", expected)


@pytest.mark.slow
def test_readings_beside_their_controls_carry_no_verdict(rendered):
    """The CAM-against-controls table states each reading beside energy, envelope and null with the contrasts and
    their intervals, but no verdict: those come only from the calibrated path on page 1."""
    run, result = rendered
    flat = " ".join("\n".join(pdf_text(result.pdf)[0]).split()).replace("\u2010 ", "")  # undo hyphenation
    section = flat[flat.index("The CAM against its controls") : flat.index("All readings per vowel")]
    assert "resampling speakers" in section and "no verdict" in section
    assert "Support (CAM above both controls)" not in flat
    rows = [r for r in read_csv(run.path(rundir.AGREEMENT)) if r["subset"] == "all"]
    for r in rows:
        anchor = "all vowels" if r["vowel"] == "ALL" else f"({r['vowel']})"
        for k in (1, 2, 3):
            m = f"enrich_f{k}"
            _assert_in_order(
                section,
                anchor,
                [
                    f"F{k}",
                    f"{float(r[m]):.2f}",
                    f"{float(r[m + '_energy']):.2f}",
                    f"{float(r[m + '_envelope']):.2f}",
                    f"{float(r[m + '_null']):.2f}",
                    f"{float(r[m + '_minus_energy']):+.2f}",
                    f"[{float(r[m + '_minus_energy_lo']):+.2f}, {float(r[m + '_minus_energy_hi']):+.2f}]",
                    f"{float(r[m + '_minus_null']):+.2f}",
                ],
            )


@pytest.mark.slow
def test_page_one_answers_with_the_calibrated_verdicts(rendered):
    """Page 1 says, per formant, the verdict of verdicts.csv with n tokens and speakers, what it means, and where
    the other instrument agrees or differs."""
    run, result = rendered
    flat = " ".join("\n".join(pdf_text(result.pdf)[0]).split()).replace("\u2010 ", "")
    page = flat[flat.index("What the network hears") : flat.index("1 Summary")]
    # per formant: the answer first (the causal verdict leads, the maps beside it), then the causal test against the
    # F4 sham, the map verdict with its recurrence over training seeds, n tokens / speakers and p
    f1 = ["not shown used", "no effect beyond sham", "share +0.02 vs F4 -0.05", "no support", "120 / 10"]
    _assert_in_order(page, "F1", f1)
    f2 = ["used: the decision follows it; the maps agree", "causal", "share +0.31 vs F4 -0.05", "9 speakers"]
    f2 += ["p 0.002", "support", "where the competitor has its formant", "support in 2 of 3 training seeds"]
    _assert_in_order(page, "F2", f2 + ["120 / 10", "0.004"])
    assert "Per vowel" in page and "Calibration" in page


def _assert_in_order(text: str, anchor: str, values: list[str]) -> None:
    """Each value appears after the previous one, starting at the row's anchor (its ARPAbet label)."""
    pos = text.index(anchor)
    for value in values:
        found = text.find(value, pos)
        assert found >= 0, f"{value!r} not found after {anchor!r} in: {text[pos : pos + 300]!r}"
        pos = found + len(value)


@pytest.mark.slow
def test_measured_formant_means_are_those_of_the_analysed_tokens(rendered):
    run, result = rendered
    tokens = {t["token_id"]: t for t in read_csv(run.path(rundir.TOKENS))}
    analysed = [tokens[e["token_id"]] for e in read_csv(run.path(rundir.CAMS) / "index.csv")]
    f2 = np.mean([float(t["f2_50"]) for t in analysed if t["phone"] == "UW"])
    text = "\n".join(pdf_text(result.pdf)[0])
    table = text[text.index("All readings per vowel") : text.index("Enrichment at the reference formants")]
    assert f"{f2:.0f}" in table


@pytest.mark.slow
def test_everything_from_the_data_is_escaped_in_html(rendered):
    _, result = rendered
    html = result.html.read_text(encoding="utf-8")
    assert ODD not in html  # never raw
    assert "&lt;i&gt;&amp;&#39;&#34;" in html  # tier names, speakers, files, problem paths, escaped
    assert "Fake run &lt;b&gt;&amp;amp; &#39;quotes&#39; &#34;double&#34;" in html  # the title, escaped once
    assert "phones<i>" not in html and "run <b>&amp;" not in html and "'s<&>" not in html
    assert "&#39;s&lt;&amp;&gt;" in html  # a word
    pdf = "\n".join(pdf_text(result.pdf)[0])
    assert "Fake run <b>&amp; 'quotes' \"double\"" in pdf  # what the reader sees is the text itself
    assert TITLE in pdf


@pytest.mark.slow
def test_gallery_is_bounded_and_cards_name_file_and_time(rendered):
    run, result = rendered
    cards = sorted((result.figures).glob("card-*.png"))
    assert len(cards) == GALLERY
    pdf = " ".join(" ".join(pdf_text(result.pdf)[0]).split())
    test = [p for p in read_csv(run.path(rundir.PREDICTIONS)) if p["split"] == "test" and p["correct"] == "0"]
    top = max(test, key=lambda p: float(p["prob_predicted"]))
    token = next(t for t in read_csv(run.path(rundir.TOKENS)) if t["token_id"] == top["token_id"])
    assert token["file"] in pdf
    assert f"{float(token['start']):.3f}–{float(token['end']):.3f} s" in pdf
    assert f"{float(top['prob_predicted']):.3f}" in pdf


@pytest.mark.slow
def test_cli_renders_a_run_with_only_tokens_and_says_what_was_not_computed(tmp_path: Path):
    run = RunDir(tmp_path / "run").create()
    full = reported_run(tmp_path / "full", n_tokens=24)
    write_csv(run.path(rundir.TOKENS), read_csv(full.path(rundir.TOKENS)), TOKEN_COLUMNS)
    outcome = CliRunner().invoke(app, ["report", str(run.root)])
    assert outcome.exit_code == 0, outcome.output
    text = "\n".join(pdf_text(run.path("report/report.pdf"))[0])
    assert text.count("Not computed") >= 4
    assert "predictions.csv absent; made by `vowelcam train`" in text
    assert "agreement.csv absent" in text
    assert "5 Vowel space" in text and "24" in text


def test_refuses_a_folder_that_is_not_a_run_directory(tmp_path: Path):
    with pytest.raises(RunDirError, match="not a vowelcam run directory"):
        load_report_data(tmp_path)
    outcome = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert outcome.exit_code == 2
    assert "not a vowelcam run directory" in outcome.output


def test_refuses_a_run_directory_of_another_format_version(tmp_path: Path):
    (tmp_path / rundir.STAMP).write_text(json.dumps({"format_version": 99, "tool": "vowelcam"}))
    with pytest.raises(RunDirError, match="format version 99.*reads version 1"):
        load_report_data(tmp_path)


def test_names_the_file_when_a_present_part_is_malformed(tmp_path: Path):
    run = reported_run(tmp_path / "run", n_tokens=12)
    run.path(rundir.AGREEMENT).write_text("vowel,n\nIY,3\n")
    with pytest.raises(RunDirError, match=r"agreement\.csv: missing column\(s\) n_correct, accuracy"):
        load_report_data(run.root)


def test_without_weasyprint_the_html_is_written_and_the_message_says_what_to_install(tmp_path, monkeypatch):
    html = tmp_path / "report.html"
    html.write_text("<html><body>x</body></html>")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as when Pango is missing
    pdf, message, pages = render.write_pdf(html)
    assert pdf is None and pages == 0
    assert "libpango-1.0-0 libpangoft2-1.0-0" in message and "brew install pango" in message
    assert str(html) in message and not (tmp_path / "report.pdf").exists()


def test_wilson_interval_matches_the_textbook_value():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0) != wilson_interval(0, 0)  # NaNs when there is nothing to estimate


def test_token_profile_is_the_share_of_positive_mass_inside_the_token():
    cam = np.zeros((4, 10), dtype=np.float32)
    cam[1, 2:5] = 2.0
    cam[3, 3] = 4.0
    cam[0, 8] = 100.0  # outside the token's frames
    cam[2, 3] = -5.0  # negative evidence is not mass
    profile = token_profile(cam, (2, 6))
    assert profile.tolist() == pytest.approx([0.0, 0.6, 0.0, 0.4])
    assert token_profile(np.zeros((3, 4)), None) is None


def test_gallery_takes_the_most_confident_errors_then_frequent_pairs_and_stays_bounded():
    errors = [
        {"token_id": f"t{i}", "true": "IY", "predicted": "IH", "prob_predicted": str(0.5 + i / 100)} for i in range(10)
    ]
    errors.append({"token_id": "rare", "true": "AA", "predicted": "AO", "prob_predicted": "0.4"})
    pairs = [{"true": "IY", "predicted": "IH", "count": 10}, {"true": "AA", "predicted": "AO", "count": 1}]
    chosen = select_gallery(errors, pairs, 4)
    assert [r["token_id"] for r, _ in chosen] == ["t9", "t8", "rare", "t7"]
    assert "frequent confusion" in chosen[2][1]
    assert select_gallery(errors, pairs, 0) == []


def test_references_follow_the_speakers_groups():
    men = [{"phone": "IY", "group": "men"}] * 3
    mixed = men + [{"phone": "IY", "group": "w"}] * 3
    ref_men = references_for(men, "h95")["IY"]
    ref_mixed = references_for(mixed, "h95")["IY"]
    assert ref_men.means[0] == pytest.approx(342.7, abs=0.1)  # Hillenbrand et al. men, /i/ F1
    assert ref_mixed.means[0] == pytest.approx((342.7 + 437.2) / 2, abs=0.1)
    assert ref_mixed.sds[0] > ref_men.sds[0]  # the mixture is wider than one group
    assert re.fullmatch(r"men 50 %, women 50 %", ref_mixed.groups)


def test_a_config_with_settings_this_version_does_not_know_still_reports(tmp_path: Path):
    run = reported_run(tmp_path / "run", n_tokens=12)
    with open(run.path(rundir.CONFIG), "a", encoding="utf-8") as fh:
        fh.write('\n[future]\nknob = "x<y>"\n')
    data = load_report_data(run.root)
    assert data.config["future"] == {"knob": "x<y>"}  # shown in the appendix as written
    assert data.settings.report.gallery_size == 12  # defaults where the file cannot be applied
