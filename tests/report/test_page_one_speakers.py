"""Page 1 names the held-out speakers and marks an interval over fewer than five of them."""

from __future__ import annotations

from types import SimpleNamespace

from vowelcam.config import Settings
from vowelcam.report.sections import evaluation


def report_data(test_speakers: list[str]) -> SimpleNamespace:
    """Just what :func:`evaluation` reads: prediction rows, the tokens by id and the run's settings."""
    tokens, predictions = {}, []
    for speaker in [*test_speakers, "train01", "train02"]:
        for i, vowel in enumerate(("IY", "AA", "UW")):
            token_id = f"{speaker}/{i}"
            tokens[token_id] = {"token_id": token_id, "speaker": speaker, "file": f"{speaker}/{i}.wav"}
            split = "test" if speaker in test_speakers else "train"
            predictions.append(
                {"token_id": token_id, "split": split, "true": vowel, "predicted": vowel, "correct": "1"}
            )
    return SimpleNamespace(predictions=predictions, by_id=tokens, settings=Settings())


def test_four_held_out_speakers_are_named_and_marked_few():
    shown = evaluation(report_data(["c01", "m01", "w01", "w02"]))
    assert shown["tested"] == ["c01", "m01", "w01", "w02"] and shown["few_tested"]


def test_five_held_out_speakers_are_named_without_the_mark():
    shown = evaluation(report_data(["c01", "c02", "m01", "w01", "w02"]))
    assert len(shown["tested"]) == 5 and not shown["few_tested"]
