"""Long recordings: cut into windows of ``chunk_seconds`` (several shards), the same tokens and spectrograms as
unwindowed, progress in seconds of audio within the recording, and resume between windows."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vowelcam import rundir
from vowelcam.acoustics.store import SpectrogramStore
from vowelcam.config import Settings
from vowelcam.corpus.discover import discover
from vowelcam.extract import extract
from vowelcam.extract.layout import layout_chunks
from vowelcam.extract.run import _band_once

sys.path.append(str(Path(__file__).resolve().parents[2]))  # the repository, for the benchmarks' helpers (bench/lib)
from bench.lib.long_recording import write_long_recording  # noqa: E402

MINUTES = 1.5  # 300 tokens, 150 vowels
WINDOW_S = 20.0  # 5 windows


@pytest.fixture(scope="module")
def long_corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("long")
    write_long_recording(root / "spk01", MINUTES, seed=3)
    return root


@pytest.fixture
def read_around_tokens(monkeypatch):
    """Treat the recording as one too long to read whole (as a long interview is)."""
    monkeypatch.setattr("vowelcam.acoustics.audio.WHOLE_FILE_MAX_SAMPLES", 100_000)


def _windowed(**extract_settings) -> Settings:
    return Settings().with_overrides({"extract": {"chunk_seconds": WINDOW_S, **extract_settings}})


def _tokens_and_spectrograms(run: Path) -> tuple[list[dict], np.ndarray]:
    rows = rundir.read_csv(run / rundir.TOKENS)
    store = SpectrogramStore(run / rundir.SPECTROGRAMS)
    specs = store.get_many([(int(r["spec_shard"]), int(r["spec_row"])) for r in rows])
    return [{k: v for k, v in r.items() if k not in ("spec_shard", "spec_row")} for r in rows], specs


def test_windows_give_the_tokens_of_the_whole_recording(long_corpus, tmp_path, read_around_tokens):
    whole = extract(long_corpus, tmp_path / "whole")
    seen: list[tuple[int, int, str]] = []
    windowed = extract(
        long_corpus, tmp_path / "windowed", settings=_windowed(), progress=lambda s, d, t, m: seen.append((d, t, m))
    )
    assert whole.n_tokens == windowed.n_tokens == 2 * round(MINUTES * 100)
    rows, specs = _tokens_and_spectrograms(tmp_path / "whole")
    rows_w, specs_w = _tokens_and_spectrograms(tmp_path / "windowed")
    assert rows == rows_w and np.array_equal(specs, specs_w)
    shards = sorted((tmp_path / "windowed" / rundir.SPECTROGRAMS).glob("shard-*.npy"))
    assert len(shards) == math.ceil(MINUTES * 60 / WINDOW_S)
    assert max(len(np.load(s, mmap_mode="r")) for s in shards) <= 2 * math.ceil(WINDOW_S / 0.6)  # 2 per 0.6 s
    for name in (rundir.PROBLEMS, "tracks.csv", "speakers.csv"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "windowed" / name).read_bytes()
    # progress in seconds of audio, moving within the one recording, tokens counted
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and done[0] == 0 and done[-1] == seen[-1][1] == round(MINUTES * 60)
    assert len({d for d in done if 0 < d < seen[-1][1]}) >= 3
    assert seen[-1][2].endswith(f"{windowed.n_tokens} tokens")


def test_a_run_stopped_between_windows_resumes_to_the_same_bytes(long_corpus, tmp_path):
    extract(long_corpus, tmp_path / "once", settings=_windowed())
    settings = _windowed(jobs=2)  # and two processes write what one does

    def stop_after_two_windows(stage: str, done: int, total: int, message: str) -> None:
        if done >= 2 * WINDOW_S:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract(long_corpus, tmp_path / "twice", settings=settings, progress=stop_after_two_windows)
    again = extract(long_corpus, tmp_path / "twice", settings=settings)
    assert again.n_chunks_skipped == 2
    for path in sorted((tmp_path / "once").rglob("*")):
        if path.is_file() and path.name not in ("sources.json", "config.toml"):  # config.toml: jobs = 1 / 2
            assert path.read_bytes() == (tmp_path / "twice" / path.relative_to(tmp_path / "once")).read_bytes(), path


def test_layout_groups_short_recordings_by_seconds_and_windows_long_ones(tmp_path):
    for name, seconds in (("a", 4), ("b", 4), ("c", 4), ("d", 1), ("long", 25)):  # discovered in this order
        sf.write(tmp_path / f"{name}.wav", np.zeros(int(seconds * 1000)), 1000)
        (tmp_path / f"{name}.TextGrid").write_text("", encoding="utf-8")
    pairs = discover(tmp_path, None, (".wav",)).pairs
    chunks = layout_chunks(pairs, Settings().with_overrides({"extract": {"chunk_seconds": 10.0}}))
    layout = [([p.audio.stem for p in c.pairs], c.seconds, c.window) for c in chunks]
    assert [names for names, _, _ in layout] == [["a", "b"], ["c", "d"], ["long"], ["long"], ["long"]]
    assert [seconds for _, seconds, _ in layout] == [8, 5, 10, 10, 5]
    windows = [w for _, _, w in layout if w is not None]
    assert windows[0].start == -math.inf and windows[-1].end == math.inf
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))
    assert [w.holds(10.0) for w in windows] == [False, True, False]  # a token at a boundary belongs to one window
    assert [c.reports_files for c in chunks] == [True, True, True, False, False]
    assert len({c.signature for c in chunks}) == len(chunks)


def test_band_problem_of_a_recording_is_reported_once_however_many_windows():
    band = {"path": "a.wav", "reason": "formant above the band", "detail": "speaker s: F3 empty"}
    other = {"path": "a.wav", "reason": "silent token", "detail": "x"}
    rows = [band, other, dict(band), dict(other), {**band, "path": "b.wav"}]
    assert list(_band_once(rows)) == [band, other, other, {**band, "path": "b.wav"}]
