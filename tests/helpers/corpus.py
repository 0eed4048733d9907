"""Small corpora built in tests: source-filter vowels with known formants, written as WAV/FLAC + TextGrids."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

VOWEL_FORMANTS = {"IY": (300, 2300, 3000), "AE": (700, 1750, 2600), "AA": (750, 1150, 2550), "UW": (320, 900, 2250)}


def vowel(
    formants: Sequence[float], dur: float = 0.25, sr: int = 16000, f0: float = 120.0, seed: int = 0
) -> np.ndarray:
    """Impulse train with a -6 dB/octave tilt through cascaded 2-pole resonators at F1-F3 (bandwidths 80/100/140 Hz)
    and fixed F4/F5 (3500/4500 Hz, as Praat's 5-formant analysis expects), normalised to -6 dBFS peak."""
    n = int(dur * sr)
    src = np.zeros(n)
    src[:: int(sr / f0)] = 1.0
    x = src + 0.001 * np.random.default_rng(seed).standard_normal(n)
    x = lfilter([1], [1, -0.95], x)
    for f, bw in zip(tuple(formants) + (3500, 4500), (80, 100, 140, 200, 250)):
        if f >= sr / 2:
            continue
        r = np.exp(-np.pi * bw / sr)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r], x)
    return 0.5 * x / np.max(np.abs(x))


def noise(dur: float, sr: int, level: float = 0.05, seed: int = 1) -> np.ndarray:
    """White noise (a stand-in for frication)."""
    return level * np.random.default_rng(seed).standard_normal(int(dur * sr))


def textgrid_text(tiers: dict[str, list[tuple[float, float, str]]], xmax: float) -> str:
    """A long-format TextGrid with the given interval tiers."""
    lines = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        "xmin = 0",
        f"xmax = {xmax}",
        "tiers? <exists>",
        f"size = {len(tiers)}",
        "item []:",
    ]
    for k, (name, ivs) in enumerate(tiers.items(), start=1):
        lines += [
            f"    item [{k}]:",
            '        class = "IntervalTier"',
            f'        name = "{name}"',
            "        xmin = 0",
            f"        xmax = {xmax}",
            f"        intervals: size = {len(ivs)}",
        ]
        for i, (a, b, t) in enumerate(ivs, start=1):
            lines += [
                f"        intervals [{i}]:",
                f"            xmin = {a}",
                f"            xmax = {b}",
                f'            text = "{t}"',
            ]
    return "\n".join(lines) + "\n"


def utterance(
    labels: Sequence[str], sr: int = 16000, seed: int = 0
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Audio + phone intervals: silence, then each label (vowel or 'S' noise), then silence."""
    parts, ivs, t = [np.zeros(int(0.1 * sr))], [(0.0, 0.1, "")], 0.1
    for i, lab in enumerate(labels):
        base = lab.rstrip("012")
        seg = (
            vowel(VOWEL_FORMANTS[base], sr=sr, seed=seed + i)
            if base in VOWEL_FORMANTS
            else noise(0.12, sr, seed=seed + i)
        )
        parts.append(seg)
        ivs.append((round(t, 6), round(t + len(seg) / sr, 6), lab))
        t += len(seg) / sr
    parts.append(np.zeros(int(0.1 * sr)))
    ivs.append((round(t, 6), round(t + 0.1, 6), ""))
    return np.concatenate(parts), ivs


def write_pair(
    folder: Path,
    stem: str,
    labels: Sequence[str],
    sr: int = 16000,
    fmt: str = "WAV",
    subtype: str = "PCM_16",
    channels: int = 1,
    phones_tier: str = "phones",
    words: bool = True,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write ``stem.wav|flac`` and ``stem.TextGrid`` (words + phones) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    audio, ivs = utterance(labels, sr, seed)
    xmax = round(len(audio) / sr, 6)
    data = np.stack([audio] * channels, axis=1) if channels > 1 else audio
    ext = ".flac" if fmt == "FLAC" else ".wav"
    wav = folder / f"{stem}{ext}"
    sf.write(wav, data, sr, format=fmt, subtype=subtype)
    tiers = {}
    if words:
        tiers["words"] = [(0.0, 0.1, ""), (0.1, ivs[-1][0], "word"), (ivs[-1][0], xmax, "")]
    tiers[phones_tier] = ivs
    grid = folder / f"{stem}.TextGrid"
    grid.write_text(textgrid_text(tiers, xmax), encoding="utf-8")
    return wav, grid
