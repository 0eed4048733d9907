"""A long synthetic recording with an aligned TextGrid, written in blocks (never whole in memory).

The recording repeats a 0.6 s cycle: a noise consonant ``S`` (0.1 s), a source-filter vowel (0.2 s; IY, AE, AA,
UW in turn, F0 100-130 Hz) and 0.3 s of faint noise, so it holds one token per 0.3 s (6 000 tokens and 9 000
intervals in 30 minutes). Tiers: ``words`` (one word per consonant + vowel) and ``phones``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

SR = 16000
CYCLE = (("S", 0.1), ("V", 0.2), ("", 0.3))
VOWELS = {"IY": (300, 2300, 3000), "AE": (700, 1750, 2600), "AA": (750, 1150, 2550), "UW": (320, 900, 2250)}
WORDS = {"IY": "see", "AE": "sad", "AA": "sod", "UW": "sue"}
BLOCK_CYCLES = 100  # cycles written to the WAV at once (60 s)


def _vowel(formants: tuple[int, ...], f0: float, rng: np.random.Generator, dur: float = 0.2) -> np.ndarray:
    """An impulse train through cascaded resonators at F1-F3 (+ F4/F5 at 3500/4500 Hz), -6 dBFS peak."""
    n = int(dur * SR)
    source = np.zeros(n)
    source[:: int(SR / f0)] = 1.0
    x = lfilter([1], [1, -0.95], source + 0.001 * rng.standard_normal(n))
    for f, bw in zip(formants + (3500, 4500), (80, 100, 140, 200, 250)):
        r = np.exp(-np.pi * bw / SR)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / SR), r * r], x)
    return 0.5 * x / np.max(np.abs(x))


def _cycles(n_cycles: int, seed: int) -> Iterator[tuple[str, np.ndarray]]:
    """(vowel, 0.6 s of audio) per cycle; vowels from a pool of 4 vowels x 4 F0s."""
    rng = np.random.default_rng(seed)
    pool = {(v, f0): _vowel(formants, f0, rng) for v, formants in VOWELS.items() for f0 in (100, 110, 120, 130)}
    names = list(VOWELS)
    for i in range(n_cycles):
        vowel = names[i % len(names)]
        consonant = 0.05 * rng.standard_normal(int(0.1 * SR))
        pause = 0.002 * rng.standard_normal(int(0.3 * SR))
        yield vowel, np.concatenate([consonant, pool[(vowel, 100 + 10 * ((i // 4) % 4))], pause])


def write_long_recording(folder: Path, minutes: float, seed: int = 0, stem: str = "interview") -> tuple[Path, Path]:
    """Write ``folder/stem.wav`` (16-bit, 16 kHz) and ``folder/stem.TextGrid`` of ``minutes`` minutes."""
    folder.mkdir(parents=True, exist_ok=True)
    period = sum(d for _, d in CYCLE)
    n_cycles = int(round(minutes * 60 / period))
    wav, grid = folder / f"{stem}.wav", folder / f"{stem}.TextGrid"
    vowels = []
    with sf.SoundFile(wav, "w", SR, 1, "PCM_16") as out:
        block: list[np.ndarray] = []
        for vowel, audio in _cycles(n_cycles, seed):
            vowels.append(vowel)
            block.append(audio)
            if len(block) == BLOCK_CYCLES:
                out.write(np.concatenate(block))
                block = []
        if block:
            out.write(np.concatenate(block))
    _write_textgrid(grid, vowels, period)
    return wav, grid


def _write_textgrid(path: Path, vowels: list[str], period: float) -> None:
    """The long-format TextGrid of the cycles (written line by line)."""
    end = round(len(vowels) * period, 6)
    phones, words = [], []
    for i, vowel in enumerate(vowels):
        t = i * period
        phones += [(t, t + 0.1, "S"), (t + 0.1, t + 0.3, f"{vowel}1"), (t + 0.3, t + period, "")]
        words += [(t, t + 0.3, WORDS[vowel]), (t + 0.3, t + period, "")]
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = {end}\n')
        fh.write("tiers? <exists>\nsize = 2\nitem []:\n")
        for k, (name, intervals) in enumerate((("words", words), ("phones", phones)), start=1):
            fh.write(f'    item [{k}]:\n        class = "IntervalTier"\n        name = "{name}"\n')
            fh.write(f"        xmin = 0\n        xmax = {end}\n        intervals: size = {len(intervals)}\n")
            for i, (a, b, text) in enumerate(intervals, start=1):
                fh.write(f"        intervals [{i}]:\n            xmin = {round(a, 6)}\n")
                fh.write(f'            xmax = {min(round(b, 6), end)}\n            text = "{text}"\n')
