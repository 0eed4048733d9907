"""Label conventions map onto one inventory; unknown labels stay visible."""

from __future__ import annotations

import pytest

from vowelcam.corpus.labels import arpabet_to_ipa, detect_convention, load_convention, vowel_set
from vowelcam.errors import ConfigError


@pytest.mark.parametrize(
    "label, phone, stress",
    [
        ("IY1", "IY", "1"),
        ("iy0", "IY", "0"),
        ("AE", "AE", ""),
        ("ah0", "AH", "0"),
        ("ER2", "ER", "2"),
        ("AX", "AH", "0"),
        ("sil", "SIL", ""),
        ("", "SIL", ""),
        ("spn", "NOISE", ""),
    ],
)
def test_arpabet(label, phone, stress):
    info = load_convention("arpabet").lookup(label)
    assert info.phone.phone == phone and info.stress == stress


@pytest.mark.parametrize(
    "label, phone",
    [
        ("ix", "IH"),
        ("ax-h", "AH"),
        ("ux", "UW"),
        ("axr", "ER"),
        ("h#", "SIL"),
        ("pcl", "CLOSURE"),
        ("hv", "HH_VOICED"),
        ("iy", "IY"),
        ("sh", "SH"),
        ("q", "Q"),
        ("epi", "SIL"),
    ],
)
def test_timit(label, phone):
    assert load_convention("timit").lookup(label).phone.phone == phone


def test_timit_table_has_all_61_symbols():
    assert len(load_convention("timit")._table) == 61


@pytest.mark.parametrize(
    "label, phone, stress",
    [
        ("iː", "IY", ""),
        ("ˈɑː", "AA", "1"),
        ("ɝ", "ER", ""),
        ("ə", "AH", "0"),
        ("ɛ̃", "EH", ""),
        ("aɪ", "AY", ""),
        ("ʊ", "UH", ""),
        ("ˌæ", "AE", "2"),
        ("t͡ʃ", "CH", ""),
    ],
)
def test_ipa_with_length_marks_and_diacritics(label, phone, stress):
    info = load_convention("ipa").lookup(label)
    assert info.phone.phone == phone and info.stress == stress


def test_unknown_label_is_reported_not_mapped():
    info = load_convention("arpabet").lookup("XQ7")
    assert not info.known and info.label == "XQ7"


def test_detection_picks_the_convention_that_knows_most():
    assert detect_convention(["h#", "ix", "pcl", "iy", "ax-h"]).name == "timit"
    assert detect_convention(["IY1", "AH0", "sp"]).name == "arpabet"
    assert detect_convention(["iː", "ə", "ɑ"]).name == "ipa"


def test_user_mapping_file(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("label,phone,stress\nI:,IY,1\n@,AH,0\n", encoding="utf-8")
    labels = load_convention(str(path))
    assert labels.lookup("i:").phone.phone == "IY" and labels.lookup("@").stress == "0"


def test_user_mapping_with_unknown_class_is_a_config_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("label,phone\nx,NOTAPHONE\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="NOTAPHONE"):
        load_convention(str(path))


def test_vowel_sets():
    assert vowel_set("corner") == ("IY", "AE", "AO", "AA", "UW")
    assert len(vowel_set("hillenbrand12")) == 12
    assert vowel_set("iy, uw") == ("IY", "UW")
    with pytest.raises(ConfigError, match="not vowels: S"):
        vowel_set("IY,S")
    assert arpabet_to_ipa("AE") == "æ" and arpabet_to_ipa("ER") == "ɝ"
