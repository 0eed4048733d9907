"""Audio reading: a recording held whole and one read around each token give the same tokens."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.helpers.corpus import utterance, write_pair
from vowelcam.acoustics import audio as audio_mod
from vowelcam.acoustics.audio import AudioInfo, Recording, audio_info, read_segment, resample
from vowelcam.acoustics.praat import measure_token
from vowelcam.acoustics.store import SpectrogramStore
from vowelcam.config import MeasureSettings
from vowelcam.errors import AudioError
from vowelcam.extract import extract
from vowelcam.tokens import read_tokens


@pytest.fixture
def stereo_22k(tmp_path):
    samples, _ = utterance(["IY1", "S", "AA1", "UW1"], sr=22050)
    stereo = np.stack([samples, 0.5 * samples], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 22050, subtype="PCM_24")
    return path, stereo.mean(axis=1)


def test_whole_and_streamed_segments_are_the_same_samples(stereo_22k):
    path, mono = stereo_22k
    info = audio_info(path)
    whole, streamed = Recording(info), Recording(info, whole_max_samples=0)
    assert whole.whole and not streamed.whole
    for start, end in [(-0.05, 0.1), (0.31, 0.52), (info.duration - 0.1, info.duration + 0.2)]:
        a, a0 = whole.segment(start, end)
        b, b0 = streamed.segment(start, end)
        assert a0 == b0 == max(0, int(np.floor(start * 22050))) / 22050
        np.testing.assert_allclose(a, b, atol=1e-12)
        np.testing.assert_allclose(a, mono[int(round(a0 * 22050)) :][: len(a)], atol=1e-6)  # 24-bit quantisation


def test_resampled_segment_is_cut_from_the_whole_recording_resampled_once(stereo_22k):
    path, _ = stereo_22k
    info = audio_info(path)
    recording = Recording(info)
    samples, first_s, rate = recording.resampled_segment(0.2, 0.4, 16000)
    full = resample(recording.segment(0, info.duration)[0], 22050, 16000)
    assert rate == 16000 and first_s == pytest.approx(0.2)
    np.testing.assert_array_equal(samples, full[3200:6400])
    # streamed: the segment is resampled alone; away from its edges it agrees with the whole-file version
    streamed, s0, _ = Recording(info, whole_max_samples=0).resampled_segment(0.2, 0.4, 16000)
    offset = int(round((s0 - 0.2) * 16000))
    middle = slice(400, 2800)
    assert np.max(np.abs(streamed[middle] - full[3200 + offset :][middle])) < 0.01 * np.max(np.abs(full))


def test_recording_shorter_than_its_header_fails_only_past_its_data(tmp_path):
    path, _ = write_pair(tmp_path, "cut", ["IY1", "AE1", "UW1"])
    real = audio_info(path)
    promised = AudioInfo(real.path, real.sample_rate, real.frames * 2, real.channels)  # a header promising more
    recording = Recording(promised)
    assert recording.whole
    early, _ = recording.segment(0.0, 0.1)
    assert len(early) == 1600
    late = (real.duration + 0.1, real.duration + 0.3)
    with pytest.raises(AudioError, match="truncated audio"):
        recording.segment(*late)
    with pytest.raises(AudioError, match="truncated audio"):
        recording.resampled_segment(*late, 8000)
    with pytest.raises(AudioError, match="cut.wav"):
        read_segment(promised, *late)  # the streamed path fails too (its seek), naming the file


def test_unreadable_recording_names_the_file(tmp_path):
    path, _ = write_pair(tmp_path, "bad", ["IY1"])
    info = audio_info(path)
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    with pytest.raises(AudioError, match="bad.wav"):
        Recording(info).segment(0, 0.1)


def test_extraction_streamed_or_whole_gives_the_same_tokens(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    write_pair(corpus, "a16k", ["IY1", "S", "AE1", "UW1"])
    write_pair(corpus, "b22k", ["AA1", "IY1"], sr=22050, seed=3)
    extract(corpus, tmp_path / "whole")
    monkeypatch.setattr(audio_mod, "WHOLE_FILE_MAX_SAMPLES", 0)
    extract(corpus, tmp_path / "streamed")
    whole, streamed = (read_tokens(tmp_path / run / "tokens.csv") for run in ("whole", "streamed"))
    assert [r["token_id"] for r in whole] == [r["token_id"] for r in streamed] and len(whole) == 6
    for column in ("f0", "f1_50", "f2_50", "f3_50"):
        np.testing.assert_allclose([r[column] for r in whole], [r[column] for r in streamed], rtol=1e-4)
    a = SpectrogramStore(tmp_path / "whole" / "spectrograms")
    b = SpectrogramStore(tmp_path / "streamed" / "spectrograms")
    places = [(r["spec_shard"], r["spec_row"]) for r in whole]
    spec_a, spec_b = a.get_many(places), b.get_many(places)
    at_16k = np.array([r["file"] == "a16k.wav" for r in whole])
    np.testing.assert_array_equal(spec_a[at_16k], spec_b[at_16k])  # no resampling: identical
    below_7k = a.n_rows(7000)  # 22.05 kHz: the two resampling grids differ by a fraction of a sample
    assert np.median(np.abs(spec_a[~at_16k, :below_7k] - spec_b[~at_16k, :below_7k])) < 0.5


def test_measure_token_reuses_a_given_f0():
    samples, ivs = utterance(["AA1"], sr=16000)
    start, end, _ = ivs[1]
    settings = MeasureSettings()
    measured = measure_token(samples, 16000, start, end, "men", settings)
    reused = measure_token(samples, 16000, start, end, "men", settings, f0=123.0)
    assert reused["f0"] == 123.0 and measured["f0"] != 123.0
    assert {k: v for k, v in reused.items() if k != "f0"} == {k: v for k, v in measured.items() if k != "f0"}
