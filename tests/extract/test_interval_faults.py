"""Faults of one interval or one stretch of audio cost that token alone: a reversed or zero-length interval is a
problem row for that interval, NaN audio is reported as NaN audio (not as a silent token)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.helpers.corpus import textgrid_text, utterance, write_pair
from vowelcam.acoustics.store import SpectrogramStore
from vowelcam.extract import extract
from vowelcam.rundir import read_csv
from vowelcam.tokens import read_tokens

VOWELS = ["IY1", "AE1", "UW1", "AA1"]


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    _, ivs = utterance(VOWELS)
    write_pair(corpus / "spk1", "reversed", VOWELS)
    reversed_ivs = [(b, a, t) if t == "AE1" else (a, b, t) for a, b, t in ivs]
    (corpus / "spk1" / "reversed.TextGrid").write_text(textgrid_text({"phones": reversed_ivs}, ivs[-1][1]))
    write_pair(corpus / "spk1", "zero", VOWELS)
    zero_ivs = [(a, a, t) if t == "UW1" else (a, b, t) for a, b, t in ivs]
    (corpus / "spk1" / "zero.TextGrid").write_text(textgrid_text({"phones": zero_ivs}, ivs[-1][1]))
    write_pair(corpus / "spk2", "nan", VOWELS, subtype="FLOAT")
    audio, sr = sf.read(corpus / "spk2" / "nan.wav")
    start, end, _ = ivs[1]  # IY1
    audio[int((start + 0.05) * sr) : int((start + 0.06) * sr)] = np.nan
    sf.write(corpus / "spk2" / "nan.wav", audio, sr, subtype="FLOAT")
    out = tmp_path_factory.mktemp("run")
    extract(corpus, out)
    return out


def _problems(out, name):
    return [p for p in read_csv(out / "problems.csv") if p["path"].endswith(name)]


def test_a_reversed_interval_is_one_problem_and_the_rest_of_its_file_stays(faulty_run):
    problems = _problems(faulty_run, "reversed.TextGrid")
    assert [(p["reason"], p["tier"], p["interval"]) for p in problems] == [
        ("interval ends before it starts", "phones", "3")
    ]
    phones = [t["phone"] for t in read_tokens(faulty_run / "tokens.csv") if t["file"].endswith("reversed.wav")]
    assert phones == ["IY", "UW", "AA"]


def test_a_zero_length_interval_is_one_problem_and_the_rest_of_its_file_stays(faulty_run):
    problems = _problems(faulty_run, "zero.TextGrid")
    assert [(p["reason"], p["interval"]) for p in problems] == [("zero-length interval", "4")]
    phones = [t["phone"] for t in read_tokens(faulty_run / "tokens.csv") if t["file"].endswith("zero.wav")]
    assert phones == ["IY", "AE", "AA"]


def test_nan_audio_is_reported_as_nan_audio_and_never_stored(faulty_run):
    problems = _problems(faulty_run, "nan.wav")
    assert {p["reason"] for p in problems} == {"NaN audio"}
    assert all("NaN or infinite" in p["detail"] for p in problems)
    assert not any(p["reason"] == "silent token" for p in read_csv(faulty_run / "problems.csv"))
    tokens = read_tokens(faulty_run / "tokens.csv")
    store = SpectrogramStore(faulty_run / "spectrograms")  # loads: every stored spectrogram is finite
    specs = store.get_many([(int(t["spec_shard"]), int(t["spec_row"])) for t in tokens])
    assert np.isfinite(specs).all()
