"""What extraction says on the terminal: the flat folder's one-speaker-per-file assumption (once, with the fix)
and the real tiers when ``--phones-tier`` names none."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.helpers.corpus import write_pair
from vowelcam.cli import app
from vowelcam.config import CorpusSettings
from vowelcam.extract.notes import speaker_per_file_note


def test_a_flat_folder_says_once_that_each_file_is_a_speaker(tmp_path):
    for stem in ("a", "b", "c"):
        write_pair(tmp_path / "flat", stem, ["IY1", "AA1"], seed=ord(stem))
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "flat"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.count("each of the 3 recordings was taken as its own speaker") == 1
    assert "--speaker-pattern" in text and "--speaker-groups" in text
    pattern = [*("--speaker-pattern", r"(?P<speaker>[ab])")]
    again = CliRunner().invoke(app, ["extract", str(tmp_path / "flat"), "--out", str(tmp_path / "run2"), *pattern])
    assert "own speaker" not in again.output  # a pattern was given: no note


def test_the_note_needs_several_files_named_as_their_speakers():
    assert speaker_per_file_note({"x/a.wav": "x"}, CorpusSettings()) == ""
    assert speaker_per_file_note({"a.wav": "a", "b.wav": "b"}, CorpusSettings()).startswith("each of the 2")
    assert speaker_per_file_note({"a.wav": "a", "b.wav": "b"}, CorpusSettings(speaker_from="file")) == ""
    assert speaker_per_file_note({"s1/a.wav": "s1", "s1/b.wav": "s1"}, CorpusSettings()) == ""


def test_a_wrong_phones_tier_names_the_real_tiers_on_the_terminal(tmp_path):
    write_pair(tmp_path / "c" / "spk", "x", ["IY1"])
    result = CliRunner().invoke(
        app, ["extract", str(tmp_path / "c"), "--out", str(tmp_path / "run"), "--phones-tier", "phone"]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "missing tier" in text and "no interval tier 'phone'; tiers are 'words', 'phones'" in text
    assert "Traceback" not in text
