"""Group estimation benchmark: can extraction tell men, women and children apart, and what does it buy?

Speakers: Hillenbrand et al. (1995) men (45) and women (48) as recorded, and "children": every woman scaled
1.15x (the same samples declared at 18 400 Hz instead of 16 000: F0 and every formant times 1.15, about the
women-to-children ratio of H95's F3 and F0). The shared data hold no children's recordings; the scaled women
have known formants (the hand-edited values x 1.15), which real children's recordings would not give us here.

1. Group estimation (``vowelcam.extract.groups``, what extraction does for speakers nobody named) on each
   speaker's 12 vowels: confusion matrix, against F0 alone (the rule before issue 12: men below 160 Hz, else
   women).
2. Measurement of the scaled women's F1–F3 at 50 % against the scaled hand values, with group ``women`` (what
   the F0-only rule gave them), ``children`` (the truth) and the estimated group: median relative error and
   gross (> 15 %) share. The price of the estimate's mistakes: the real women measured with their given group
   and with their estimated group (some are called children) against the hand values.

    python -m bench.bench_groups [--limit N]     (writes bench/results/groups.json)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from vowelcam.acoustics.praat import measure_token, median_f0
from vowelcam.config import MeasureSettings
from vowelcam.corpus.textgrids import read_textgrid
from vowelcam.extract.groups import ESTIMATE_SPAN, ESTIMATE_STEPS, MEN_BELOW_HZ, decide
from vowelcam.rundir import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "data" / "hillenbrand1995"
RESULTS = REPO / "bench" / "results" / "groups.json"
SCALE = 1.15
MARGIN_S = 0.1
GROSS = 0.15


def reference() -> dict[str, np.ndarray]:
    """F1–F3 at 50 % (hand-edited, NaN = not measurable) per file stem."""
    out = {}
    for line in (CORPUS / "measurements" / "vowdata.dat").read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"[mw]\d\d[a-z]{2}", parts[0]):
            values = np.array([float(v) for v in parts[10:13]])
            out[parts[0]] = np.where(values > 0, values, np.nan)
    return out


def tokens(speaker: str, scale: float):
    """(audio, rate, start, end, stem) of a speaker's vowels; ``scale`` != 1 plays them faster (header only)."""
    folder = "men" if speaker[0] == "m" else "women"
    for wav in sorted((CORPUS / folder).glob(f"{speaker}*.wav")):
        audio, sr = sf.read(wav, dtype="float64")
        vowel = next(
            iv
            for iv in read_textgrid(CORPUS / "textgrids" / f"{wav.stem}.TextGrid").tier("phones").intervals
            if iv.text.strip() not in ("", "HH", "D")
        )
        lo, hi = max(0, int((vowel.start - MARGIN_S) * sr)), int(math.ceil((vowel.end + MARGIN_S) * sr))
        rate = int(round(sr * scale))
        yield audio[lo:hi], rate, (vowel.start - lo / sr) / scale, (vowel.end - lo / sr) / scale, wav.stem


def estimate(speaker: str, scale: float, settings: MeasureSettings) -> tuple[str, str]:
    """(estimated group, F0-only group) of one speaker, as extraction estimates it."""
    quick = dataclasses.replace(settings, ceiling_steps_unknown=ESTIMATE_STEPS, ceiling_span_unknown=ESTIMATE_SPAN)
    f0s, formants = [], []
    for audio, sr, start, end, _ in tokens(speaker, scale):
        f0 = median_f0(audio, sr, start, end, settings)
        if math.isnan(f0):
            continue
        values = measure_token(audio, sr, start, end, None, quick, f0=f0)
        f0s.append(f0)
        formants.append([values["f1_50"], values["f2_50"], values["f3_50"]])
    est = decide(speaker, np.array(f0s), np.array(formants, dtype=float))
    return est.group, ("men" if np.median(f0s) < MEN_BELOW_HZ else "women")


def scores(errors: list[np.ndarray]) -> dict:
    """Median relative error and gross share per formant."""
    err = np.array(errors)
    out = {}
    for k in range(3):
        e = err[:, k][np.isfinite(err[:, k])]
        out[f"F{k + 1}"] = {
            "median_rel_err_pct": round(100 * float(np.median(e)), 2),
            "gross_pct": round(100 * float(np.mean(e > GROSS)), 2),
            "n": int(e.size),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="speakers per group")
    args = parser.parse_args()
    settings = MeasureSettings()
    men = sorted({p.stem[:3] for p in (CORPUS / "men").glob("*.wav")})[: args.limit]
    women = sorted({p.stem[:3] for p in (CORPUS / "women").glob("*.wav")})[: args.limit]
    speakers = (
        [(s, 1.0, "men") for s in men] + [(s, 1.0, "women") for s in women] + [(s, SCALE, "children") for s in women]
    )
    confusion = {"estimated": defaultdict(Counter), "f0_only": defaultdict(Counter)}
    estimated = {}
    for speaker, scale, truth in speakers:
        group, f0_group = estimate(speaker, scale, settings)
        confusion["estimated"][truth][group] += 1
        confusion["f0_only"][truth][f0_group] += 1
        estimated[(speaker, scale)] = group
    ref = reference()
    errors = defaultdict(list)
    for speaker in women:
        for audio, sr, start, end, stem in tokens(speaker, SCALE):
            truth = ref[stem] * SCALE
            for name, group in (
                ("as women", "women"),
                ("as children", "children"),
                ("estimated group", estimated[(speaker, SCALE)]),
            ):
                values = measure_token(audio, sr, start, end, group, settings)
                got = np.array([values["f1_50"], values["f2_50"], values["f3_50"]])
                errors[name].append(np.abs(got - truth) / truth)
    real = defaultdict(list)
    for speaker in women:
        for audio, sr, start, end, stem in tokens(speaker, 1.0):
            for name, group in (("as women", "women"), ("estimated group", estimated[(speaker, 1.0)])):
                values = measure_token(audio, sr, start, end, group, settings)
                got = np.array([values["f1_50"], values["f2_50"], values["f3_50"]])
                real[name].append(np.abs(got - ref[stem]) / ref[stem])
    result = {
        "corpus": str(CORPUS),
        "children": f"women scaled {SCALE}x (header rate {int(16000 * SCALE)} Hz)",
        "speakers": {"men": len(men), "women": len(women), "children": len(women)},
        "confusion": {k: {t: dict(c) for t, c in v.items()} for k, v in confusion.items()},
        "scaled_women_measured": {name: scores(e) for name, e in errors.items()},
        "real_women_measured": {name: scores(e) for name, e in real.items()},
    }
    atomic_write_text(RESULTS, json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
