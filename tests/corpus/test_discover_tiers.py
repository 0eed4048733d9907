"""Pairing audio with label files, finding tiers, and naming speakers and groups."""

from __future__ import annotations

import pytest

from tests.helpers.corpus import textgrid_text, write_pair
from vowelcam.corpus.discover import discover
from vowelcam.corpus.speakers import SpeakerResolver
from vowelcam.corpus.textgrids import read_textgrid
from vowelcam.corpus.tiers import find_tier_groups
from vowelcam.errors import ConfigError, DataProblem
from vowelcam.tokens import normalise_group


def test_pairs_in_two_folders_nested_and_unpaired_reported(tmp_path):
    audio, grids = tmp_path / "audio", tmp_path / "tg"
    write_pair(audio / "spk1", "a", ["IY1"])
    write_pair(audio / "spk2", "b", ["AE1"])
    for tg in audio.rglob("*.TextGrid"):
        target = grids / tg.relative_to(audio)
        target.parent.mkdir(parents=True, exist_ok=True)
        tg.rename(target)
    write_pair(audio / "spk3", "lonely", ["IY1"])
    (audio / "spk3" / "lonely.TextGrid").unlink()
    (grids / "orphan.TextGrid").write_text(textgrid_text({"phones": [(0, 1, "")]}, 1), encoding="utf-8")
    found = discover(audio, grids)
    assert sorted(p.rel for p in found.pairs) == ["spk1/a.wav", "spk2/b.wav"]
    reasons = sorted((p.reason, p.path.name) for p in found.problems)
    assert reasons == [("no audio", "orphan.TextGrid"), ("no label file", "lonely.wav")]


def test_pairing_by_stem_when_folders_differ(tmp_path):
    write_pair(tmp_path / "men", "m01ae", ["AE1"])
    tg = tmp_path / "tg"
    tg.mkdir()
    (tmp_path / "men" / "m01ae.TextGrid").rename(tg / "m01ae.TextGrid")
    found = discover(tmp_path / "men", tg)
    assert [p.labels.name for p in found.pairs] == ["m01ae.TextGrid"]


def test_timit_phn_used_when_no_textgrid(tmp_path):
    write_pair(tmp_path / "dr1" / "FCJF0", "SA1", ["IY1"])
    (tmp_path / "dr1" / "FCJF0" / "SA1.TextGrid").unlink()
    (tmp_path / "dr1" / "FCJF0" / "SA1.PHN").write_text("0 1600 h#\n1600 5600 iy\n5600 7200 h#\n")
    found = discover(tmp_path)
    assert found.pairs[0].is_timit


def test_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        discover(tmp_path / "nope")


def _grid(tmp_path, tiers):
    path = tmp_path / "g.TextGrid"
    path.write_text(textgrid_text(tiers, 1.0), encoding="utf-8")
    return read_textgrid(path)


def test_speaker_tier_groups(tmp_path):
    iv = [(0, 1, "IY1")]
    grid = _grid(tmp_path, {"Anna - words": iv, "Anna - phones": iv, "Ben - words": iv, "Ben - phones": iv})
    groups = find_tier_groups(grid)
    assert [(g.speaker, g.phones.name, g.words.name) for g in groups] == [
        ("Anna", "Anna - phones", "Anna - words"),
        ("Ben", "Ben - phones", "Ben - words"),
    ]


@pytest.mark.parametrize(
    "names, phones",
    [
        (("word", "phone"), "phone"),
        (("words", "phones"), "phones"),
        (("segments",), "segments"),
        (("anything",), "anything"),
    ],
)
def test_tier_layouts(tmp_path, names, phones):
    grid = _grid(tmp_path, {n: [(0, 1, "IY1")] for n in names})
    assert find_tier_groups(grid)[0].phones.name == phones


def test_missing_tier_names_file_and_tiers(tmp_path):
    grid = _grid(tmp_path, {"words": [(0, 1, "a")], "notes": [(0, 1, "b")]})
    with pytest.raises(DataProblem, match="missing tier.*'words', 'notes'"):
        find_tier_groups(grid)
    with pytest.raises(DataProblem, match="no interval tier 'phonz'"):
        find_tier_groups(grid, phones_tier="phonz")
    assert find_tier_groups(grid, phones_tier="notes")[0].phones.name == "notes"


def test_speaker_resolution_modes(tmp_path):
    auto = SpeakerResolver.from_settings("auto", "", "")
    assert auto.resolve("spk7/utt1.wav") == ("spk7", "")
    assert auto.resolve("utt1.wav") == ("utt1", "")
    assert auto.resolve("women/w03ae.wav") == ("w03ae", "women")  # group folder is not a speaker
    assert auto.resolve("x/utt.wav", "Anna") == ("Anna", "")
    hil = SpeakerResolver.from_settings("auto", "hillenbrand", "")
    assert hil.resolve("women/w03ae.wav") == ("w03", "women")
    assert hil.resolve("kids/b12iy.wav") == ("b12", "children")
    groups = tmp_path / "groups.csv"
    groups.write_text("speaker,group\nspk7,F\n")
    assert SpeakerResolver.from_settings("auto", "", str(groups)).resolve("spk7/u.wav") == ("spk7", "women")


def test_bad_speaker_settings():
    with pytest.raises(ConfigError, match="named group"):
        SpeakerResolver.from_settings("pattern", r"(\d+)", "")
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        SpeakerResolver.from_settings("auto", "(", "")
    assert normalise_group("Female") == "women" and normalise_group("xyz") == ""
