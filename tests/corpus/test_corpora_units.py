"""Unit checks behind issue 12: exact CSV numbers, band arithmetic, TextGrid sizes, phone sets, group evidence."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from tests.helpers.corpus import textgrid_text
from vowelcam.acoustics.band import analysis_for, band_edge, band_note, formants_held
from vowelcam.config import MeasureSettings
from vowelcam.corpus.discover import discover
from vowelcam.corpus.labels import load_convention, vowel_set
from vowelcam.corpus.speakers import SpeakerResolver
from vowelcam.corpus.textgrids import read_textgrid
from vowelcam.errors import ConfigError, TextGridParseError
from vowelcam.extract.groups import decide, formant_spacing, group_posteriors
from vowelcam.rundir import read_csv, write_csv

SETTINGS = MeasureSettings()


# ------------------------------------------------------------------------------------------------ CSV numbers


def test_times_keep_fixed_decimals_and_floats_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    values = list(rng.uniform(0, 1e5, 200)) + [1 / 3, 2 / 3 * 1e-9, 1e30, 0.1 + 0.2]
    rows = [{"start": 3599.1234, "end": 12345.678, "f1_50": v, "p": np.float32(v)} for v in values]
    write_csv(tmp_path / "t.csv", rows, ["start", "end", "f1_50", "p"])
    back = read_csv(tmp_path / "t.csv")
    assert back[0]["start"] == "3599.123400" and back[0]["end"] == "12345.678000"  # was 3599.12 and 12345.7
    assert [float(r["f1_50"]) for r in back] == values  # bit-exact: users join on these
    assert [np.float32(float(r["p"])) for r in back] == [np.float32(v) for v in values]


def test_missing_and_nan_are_empty_and_time_of_a_long_recording_is_exact(tmp_path):
    write_csv(tmp_path / "t.csv", [{"start": 36000.000001, "end": math.nan, "x": None}], ["start", "end", "x"])
    assert read_csv(tmp_path / "t.csv") == [{"start": "36000.000001", "end": "", "x": ""}]


# ------------------------------------------------------------------------------------------------ the band


@pytest.mark.parametrize(
    "sr, ceiling, top, formants",
    [
        (16000, 6000, 6000, 5.5),  # full band: unchanged
        (8000, 6000, 6000 * 3.5 / 5.5, 3.5),  # telephone: same formant spacing, stops under the band
        (8000, 5500, 5500 * 3.5 / 5.5, 3.5),
        (11025, 7000, 7000 * 4.0 / 5.5, 4.0),
    ],
)
def test_a_ceiling_above_the_band_keeps_its_formant_spacing(sr, ceiling, top, formants):
    analysis = analysis_for(ceiling, sr, SETTINGS)
    assert analysis.top == pytest.approx(top) and analysis.formants == formants
    assert analysis.top <= band_edge(sr, SETTINGS)
    assert analysis.top / analysis.formants == pytest.approx(ceiling / SETTINGS.max_formants)


def test_formants_held_by_the_band():
    assert formants_held(6000, 8000, SETTINGS) == 3  # a woman's F3 fits under 3.9 kHz
    assert formants_held(7000, 8000, SETTINGS) == 2  # a child's does not
    assert formants_held(7000, 16000, SETTINGS) == 3
    assert formants_held(6000, 4000, SETTINGS) == 1
    assert band_note(6000, 8000, "women", SETTINGS) == ""
    assert band_note(7000, 8000, "children", SETTINGS).startswith("F3 empty: 8000 Hz audio")


# ------------------------------------------------------------------------------------------------ TextGrids


def _grid(tmp_path, text):
    path = tmp_path / "g.TextGrid"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = textgrid_text({"words": [(0, 0.5, "a"), (0.5, 1.0, "b")], "phones": [(0, 0.3, "AA1"), (0.3, 1.0, "B")]}, 1.0)


def test_a_well_formed_grid_reads(tmp_path):
    grid = read_textgrid(_grid(tmp_path, GOOD))
    assert [len(t.intervals) for t in grid.tiers] == [2, 2]


@pytest.mark.parametrize(
    "old, new, detail",
    [
        ("intervals: size = 2", "intervals: size = 3", "declares 3 intervals, 2 found"),  # first tier overcounts
        ("intervals: size = 2", "intervals: size = 1", "declares 1 intervals, more follow"),  # first tier undercounts
        ("size = 2", "size = 1", "declares 1 tiers, 2 follow"),
        ("size = 2", "size = 3", "a tier was declared, found the end of the file"),
    ],
)
def test_declared_sizes_that_disagree_are_refused(tmp_path, old, new, detail):
    with pytest.raises(TextGridParseError, match="declared size disagrees with content") as info:
        read_textgrid(_grid(tmp_path, GOOD.replace(old, new, 1)))
    assert detail in str(info.value)


def test_last_tier_undercount_which_praat_reads_short_is_refused(tmp_path):
    head, _, tail = GOOD.rpartition("intervals: size = 2")
    with pytest.raises(TextGridParseError, match="'phones'.*declares 1 intervals, more follow"):
        read_textgrid(_grid(tmp_path, head + "intervals: size = 1" + tail))


# ------------------------------------------------------------------------------------------------ discovery


def test_discovery_never_loops_and_reports_links(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.wav").write_bytes(b"")
    (tmp_path / "a" / "x.TextGrid").write_text(GOOD, encoding="utf-8")
    os.symlink("..", tmp_path / "a" / "loop")
    os.symlink("x.wav", tmp_path / "a" / "y.wav")  # a second name for the same file
    found = discover(tmp_path)
    assert [p.rel for p in found.pairs] == ["a/x.wav"]
    reasons = sorted(p.reason for p in found.problems)
    assert reasons == ["file reached twice (skipped)", "folder reached twice (skipped)"]


# ------------------------------------------------------------------------------------------------ phone sets


@pytest.mark.parametrize(
    "label, phone",
    [
        ("aj", "AY"),
        ("aw", "AW"),
        ("ej", "EY"),
        ("ow", "OW"),
        ("ɔj", "OY"),
        ("c", "K"),
        ("cʰ", "K"),
        ("ɟ", "G"),
        ("ç", "HH"),
        ("ʎ", "L"),
        ("ɲ", "N"),
        ("ɫ̩", "L"),
        ("m̩", "M"),
        ("ɾ̃", "DX"),
        ("tʷ", "T"),
        ("ɑː", "AA"),
        ("ɛː", "EH"),
    ],
)
def test_mfa_english_ipa(label, phone):
    assert load_convention("ipa").lookup(label).phone.phone == phone


@pytest.mark.parametrize(
    "label, phone",
    [
        ("aan", "AA"),
        ("iyn", "IY"),
        ("tq", "Q"),
        ("el", "L"),
        ("nx", "N"),
        ("<SIL>", "SIL"),
        ("VOCNOISE", "NOISE"),
        ("{B_TRANS}", "SIL"),
    ],
)
def test_buckeye(label, phone):
    assert load_convention("buckeye").lookup(label).phone.phone == phone


def test_a_labels_csv_defines_classes(tmp_path):
    path = tmp_path / "mi.csv"
    path.write_text(
        "label,phone,kind,ipa\naa,aː,vowel,aː\na,a,vowel,\nō,oː,vowel,\nwh,ɸ,consonant,ɸ\nt,T,,\n", encoding="utf-8"
    )
    labels = load_convention(str(path))
    assert labels.lookup("aa").phone.phone == "aː" and labels.lookup("aa").phone.kind == "vowel"
    assert labels.lookup("ō").phone.phone == "oː" and labels.lookup("t").phone.phone == "T"
    assert set(vowel_set("aː,oː", labels.classes)) == {"aː", "oː"}
    with pytest.raises(ConfigError, match="not vowels: ɸ"):
        vowel_set("aː,ɸ", labels.classes)


def test_a_labels_csv_with_an_undefined_class_says_how_to_define_it(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("label,phone\ny,ü\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="give it a 'kind' column"):
        load_convention(str(path))


# ------------------------------------------------------------------------------------------------ speakers


def test_speaker_map_rejects_bad_ceilings_and_needs_group_or_ceiling(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("speaker,group,ceiling\na,,5000\n", encoding="utf-8")
    resolver = SpeakerResolver.from_settings("auto", "", str(path))
    assert resolver.ceiling("a") == 5000.0 and resolver.resolve("a/x.wav")[1] == ""
    path.write_text("speaker,group,ceiling\na,women,50\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2: ceiling '50'"):
        SpeakerResolver.from_settings("auto", "", str(path))
    path.write_text("speaker,group\na,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty only with a ceiling"):
        SpeakerResolver.from_settings("auto", "", str(path))


def test_group_evidence_f0_alone_cannot_make_a_child():
    """Sceptic's check: a child's F0 with a woman's F3 stays a woman; a woman's F0 with a child's F3 is uncertain."""
    assert np.argmax(group_posteriors(240.0, 2850.0)) == 1
    assert np.argmax(group_posteriors(240.0, 3250.0)) == 2
    assert np.argmax(group_posteriors(120.0, 2500.0)) == 0
    women = np.array([[500, 1800, 2850], [700, 1200, 2800], [350, 2300, 2950]], dtype=float)
    est = decide("w", np.array([215.0, 220, 225]), women)
    assert est.group == "women" and est.source == "f0+f3" and 0.5 < est.posterior <= 1
    assert est.formant_spacing_hz == pytest.approx(float(np.median(formant_spacing(women))))
    no_f3 = decide("x", np.array([230.0]), np.array([[500, 1800, np.nan]]))
    assert no_f3.source == "f0" and no_f3.group == "women" and math.isnan(no_f3.posterior)
