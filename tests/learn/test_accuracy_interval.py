"""accuracy_interval resamples speakers: speakers that are all right or all wrong make a wide interval."""

from __future__ import annotations

import pytest

from vowelcam.learn.metrics import accuracy_interval


def _rows(n_speakers: int, per_speaker: int) -> tuple[list[dict], dict[str, dict]]:
    """Half the speakers all right, half all wrong; every speaker with ``per_speaker`` tokens over 2 files."""
    rows, tokens = [], {}
    for s in range(n_speakers):
        for i in range(per_speaker):
            tid = f"s{s}_{i}"
            rows.append({"token_id": tid, "correct": int(s % 2 == 0)})
            tokens[tid] = {"speaker": f"s{s}", "file": f"s{s}/f{i % 2}.wav"}
    return rows, tokens


def test_speaker_bootstrap_is_wide_when_speakers_differ():
    rows, tokens = _rows(8, 50)
    lo, hi, unit = accuracy_interval(rows, tokens)
    assert unit == "speaker"
    # 8 speakers, accuracy 0 or 1 each: the SD of the mean over speakers is 0.5 / sqrt(8) = 0.18 (95 %: +-0.35);
    # resampling the 400 tokens would give +-0.05.
    assert lo < 0.3 and hi > 0.7, (lo, hi)
    assert hi - lo == pytest.approx(2 * 1.96 * 0.5 / 8**0.5, rel=0.25)


def test_one_speaker_falls_back_to_recordings():
    rows = [{"token_id": f"t{i}", "correct": int(i % 4 < 2)} for i in range(40)]
    tokens = {f"t{i}": {"speaker": "a", "file": f"f{i % 2}.wav"} for i in range(40)}
    lo, hi, unit = accuracy_interval(rows, tokens)
    assert unit == "recording"
    # both files have the same accuracy (0.5): the recordings do not vary, so the interval is a point
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
