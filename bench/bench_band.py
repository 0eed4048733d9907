"""Band benchmark: LJSpeech-32 resampled to 8, 11.025, 16 and 44.1 kHz, measured against its own full band.

Every vowel token of ``data/ljspeech-32`` (879, one woman, MFA alignment) is measured in the original
22 050 Hz recording and again after the whole recording was resampled (``scipy.signal.resample_poly``, a
Kaiser-windowed polyphase low-pass: what a telephone band or a down-sampled archive looks like). The reference
of each method is its own full-band measurement, so the figures isolate what the band does.

Methods:

- ``vowelcam``: :func:`vowelcam.acoustics.praat.measure_token`, group ``women`` (what extraction estimates for
  this speaker from F0), band-aware (acoustics/band.py);
- ``vowelcam (group unknown)``: the same without the group (the wider ceiling search);
- ``plain band-aware Burg``: one Praat Burg call per token, women's classic 5 formants / 5500 Hz, or, when the
  band ends below 5500 Hz, a ceiling just under Nyquist (0.975) with proportionally fewer formants
  (``5 * ceiling / 5500`` in half steps): the loop a careful Praat user writes.

Figures per rate, method and formant (F1–F3 at 50 % of the vowel): ``median_rel_err_pct`` and ``gross_pct``
(share off by more than 15 %) over tokens measured at both rates, ``within15_pct`` over all tokens measured at
full band (an empty value counts as a miss), and ``empty`` (full band measured, this rate empty: a formant the
band does not hold). The done-criterion of issue 12 is ``within15_pct`` of F1 and F2 at 8 kHz >= 95 %.

    python -m bench.bench_band [--limit N]     (writes bench/results/band.json)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bench.lib.formants import plain_burg_formants
from vowelcam.acoustics.praat import measure_token
from vowelcam.config import LabelSettings, MeasureSettings
from vowelcam.corpus.select import select_tokens
from vowelcam.corpus.textgrids import read_textgrid
from vowelcam.corpus.tiers import find_tier_groups
from vowelcam.rundir import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "data" / "ljspeech-32"
RESULTS = REPO / "bench" / "results" / "band.json"
FULL_RATE = 22050
RATES = (8000, 11025, 16000, 44100)
MARGIN_S = 0.1
GROSS = 0.15
FORMANTS = ("f1_50", "f2_50", "f3_50")
PLAIN_CEILING, PLAIN_FORMANTS, PLAIN_EDGE = 5500.0, 5.0, 0.975


@dataclass
class Recording:
    """One LJSpeech clip: its audio and the (start, end) of its vowel tokens."""

    name: str
    audio: np.ndarray
    tokens: list[tuple[float, float]]


def load(limit: int | None) -> list[Recording]:
    """Every clip with its vowel tokens (``limit`` clips when given)."""
    wavs = sorted((CORPUS / "wavs").glob("*.wav"))[:limit]
    labels = LabelSettings(include_unvoiced=False)
    out = []
    for wav in wavs:
        audio, sr = sf.read(wav, dtype="float64")
        assert sr == FULL_RATE, f"{wav}: {sr} Hz"
        grid = read_textgrid(CORPUS / "textgrids" / f"{wav.stem}.TextGrid")
        specs, _ = select_tokens(grid, find_tier_groups(grid), labels)
        out.append(Recording(wav.stem, audio, [(s.start, s.end) for s in specs]))
    return out


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` (at 22 050 Hz) at ``rate``."""
    if rate == FULL_RATE:
        return audio
    g = math.gcd(rate, FULL_RATE)
    return resample_poly(audio, rate // g, FULL_RATE // g)


def plain_band_aware(samples, sr, start, end) -> dict[str, float]:
    """Plain Burg at the women's classic setting, or just under Nyquist with fewer formants."""
    ceiling = min(PLAIN_CEILING, PLAIN_EDGE * sr / 2)
    formants = math.floor(2 * PLAIN_FORMANTS * ceiling / PLAIN_CEILING) / 2
    return plain_burg_formants(samples, sr, start, end, ceiling, formants)


def methods(settings: MeasureSettings) -> dict:
    """Name -> function(samples, sr, start, end) -> dict with the FORMANTS keys."""
    return {
        "vowelcam": lambda x, sr, a, b: measure_token(x, sr, a, b, "women", settings),
        "vowelcam (group unknown)": lambda x, sr, a, b: measure_token(x, sr, a, b, None, settings),
        "plain band-aware Burg": plain_band_aware,
    }


def measure_all(recordings: list[Recording], rate: int, funcs: dict) -> dict[str, np.ndarray]:
    """[tokens, 3] F1–F3 at 50 % per method, every recording resampled to ``rate``; plus seconds per method."""
    values = {name: [] for name in funcs}
    seconds = dict.fromkeys(funcs, 0.0)
    for rec in recordings:
        audio = resample(rec.audio, rate)
        for start, end in rec.tokens:
            lo = max(0, int((start - MARGIN_S) * rate))
            hi = min(audio.size, int(math.ceil((end + MARGIN_S) * rate)))
            part, a, b = audio[lo:hi], start - lo / rate, end - lo / rate
            for name, func in funcs.items():
                t0 = time.thread_time()
                out = func(part, rate, a, b)
                seconds[name] += time.thread_time() - t0
                values[name].append([out[k] for k in FORMANTS])
    return {name: np.array(v, dtype=float) for name, v in values.items()}, seconds


def score(full: np.ndarray, band: np.ndarray) -> dict:
    """Per formant: median relative error, gross share, within-15 % share (empty = miss), empties."""
    out = {}
    for k, name in enumerate(("F1", "F2", "F3")):
        ref, got = full[:, k], band[:, k]
        has_ref = np.isfinite(ref)
        both = has_ref & np.isfinite(got)
        err = np.abs(got[both] - ref[both]) / ref[both]
        out[name] = {
            "median_rel_err_pct": round(100 * float(np.median(err)), 2) if err.size else None,
            "gross_pct": round(100 * float(np.mean(err > GROSS)), 2) if err.size else None,
            "within15_pct": round(100 * float(np.sum(err <= GROSS)) / max(int(has_ref.sum()), 1), 2),
            "n_both": int(both.sum()),
            "empty": int((has_ref & ~np.isfinite(got)).sum()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N clips only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON file to write")
    args = parser.parse_args()
    settings = MeasureSettings()
    funcs = methods(settings)
    recordings = load(args.limit)
    n_tokens = sum(len(r.tokens) for r in recordings)
    full, _ = measure_all(recordings, FULL_RATE, funcs)
    result = {
        "corpus": str(CORPUS),
        "clips": len(recordings),
        "tokens": n_tokens,
        "reference": "each method at 22050 Hz",
        "resampler": "scipy.signal.resample_poly (Kaiser window, default)",
        "gross_threshold": GROSS,
        "band_fraction": getattr(settings, "band_fraction", None),
        "rates": {},
    }
    for rate in RATES:
        band, seconds = measure_all(recordings, rate, funcs)
        result["rates"][str(rate)] = {
            name: {**score(full[name], band[name]), "ms_per_token_cpu": round(1000 * seconds[name] / n_tokens, 2)}
            for name in funcs
        }
        print(
            rate,
            json.dumps(
                {
                    m: {f: v["within15_pct"] for f, v in r.items() if f.startswith("F")}
                    for m, r in result["rates"][str(rate)].items()
                }
            ),
        )
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
