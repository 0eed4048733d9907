"""The CLI's end-of-run summary names the held-out speakers and marks an interval over fewer than five."""

from __future__ import annotations

from types import SimpleNamespace

from vowelcam.commands.train import held_out_row


def test_few_held_out_speakers_are_named_and_marked():
    head, text = held_out_row(SimpleNamespace(test_groups=["w01", "w02"], ci_unit="speaker"))
    assert "held-out speakers" in head and "only 2" in text and "(w01, w02)" in text
    assert "fewer than 5 speakers is a sanity check" in text


def test_enough_speakers_are_named_without_a_mark_and_none_gives_no_row():
    names = [f"s{i:02d}" for i in range(20)]
    head, text = held_out_row(SimpleNamespace(test_groups=names, ci_unit="recording"))
    assert head == "held-out recordings" and text.startswith("s00, s01") and "(20 in all)" in text
    assert "sanity" not in text
    assert held_out_row(SimpleNamespace(test_groups=[], ci_unit="speaker")) is None
