"""Build test corpora from the real recordings in ../shared/data: resampled, concatenated or relabelled copies.

No new recordings: every helper takes a real clip and changes its rate, its position in time or its labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from vowelcam.config import Settings
from vowelcam.corpus.textgrid_write import write_textgrid
from vowelcam.corpus.textgrids import Interval, TextGrid, Tier, read_textgrid
from vowelcam.extract import extract
from vowelcam.rundir import read_csv
from vowelcam.tokens import read_tokens

LJ_CLIPS = ("LJ001-0001", "LJ001-0002", "LJ001-0003")


def lj_paths(shared: Path, clip: str) -> tuple[Path, Path]:
    """The wav and TextGrid of one LJSpeech-32 clip."""
    root = shared / "ljspeech-32"
    return root / "wavs" / f"{clip}.wav", root / "textgrids" / f"{clip}.TextGrid"


def resampled_copy(wav: Path, grid: Path, out: Path, rate: int | None) -> None:
    """``wav`` resampled to ``rate`` (None = as is) and its TextGrid, written as ``out``.wav/.TextGrid."""
    audio, sr = sf.read(wav, dtype="float64")
    if rate and rate != sr:
        g = math.gcd(rate, sr)
        audio = resample_poly(audio, rate // g, sr // g)
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out.with_suffix(".wav"), audio, rate or sr, subtype="PCM_16")
    out.with_suffix(".TextGrid").write_bytes(grid.read_bytes())


def shifted_grid(grid: TextGrid, offset: float, scale: float = 1.0) -> TextGrid:
    """``grid`` with every time t becoming ``offset + t * scale`` (and a leading silence interval when offset > 0)."""

    def move(t: float) -> float:
        return offset + t * scale

    tiers = []
    for tier in grid.tiers:
        intervals = [Interval(0.0, offset, "", 1)] if offset > 0 else []
        intervals += [
            Interval(move(iv.start), move(iv.end), iv.text, len(intervals) + i + 1)
            for i, iv in enumerate(tier.intervals)
        ]
        tiers.append(Tier(tier.name, 0.0 if offset > 0 else move(tier.start), move(tier.end), intervals, tier.is_point))
    return TextGrid(grid.path, 0.0 if offset > 0 else move(grid.start), move(grid.end), tiers)


def relabelled_grid(grid: TextGrid, relabel: Callable[[list[str], int], str], tier: str = "phones") -> TextGrid:
    """``grid`` with the labels of ``tier`` replaced by ``relabel(labels, index)``."""
    out = []
    for t in grid.tiers:
        if t.name == tier:
            labels = [iv.text for iv in t.intervals]
            t = Tier(
                t.name,
                t.start,
                t.end,
                [Interval(iv.start, iv.end, relabel(labels, i), iv.index) for i, iv in enumerate(t.intervals)],
                t.is_point,
            )
        out.append(t)
    return TextGrid(grid.path, grid.start, grid.end, out)


def write_relabelled(shared: Path, clip: str, out: Path, relabel: Callable[[list[str], int], str]) -> None:
    """An LJSpeech clip with its phone labels rewritten."""
    wav, grid = lj_paths(shared, clip)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".wav").write_bytes(wav.read_bytes())
    write_textgrid(relabelled_grid(read_textgrid(grid), relabel), out.with_suffix(".TextGrid"))


def run_extract(folder: Path, out: Path, **sections) -> tuple[list[dict], list[dict], list[dict]]:
    """Extract ``folder`` (vowels only unless asked) and return (tokens, problems, speakers)."""
    overrides = {"labels": {"include_unvoiced": False}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    extract(folder, out, settings=Settings().with_overrides(overrides))
    return read_tokens(out / "tokens.csv"), read_csv(out / "problems.csv"), read_csv(out / "speakers.csv")


def share_within(a: np.ndarray, b: np.ndarray, tolerance: float = 0.15) -> float:
    """Share of the tokens with a value in ``a`` whose value in ``b`` lies within ``tolerance`` (empty = miss)."""
    has = np.isfinite(a)
    ok = has & np.isfinite(b) & (np.abs(b - a) <= tolerance * np.abs(a))
    return float(ok.sum() / max(has.sum(), 1))
