"""Vowel-nucleus detection without a TextGrid (de Jong & Wempe 2009 method, :mod:`vowelcam.acoustics.nuclei`)
against forced-aligned / hand-marked vowels.

- **recall**: the share of aligned vowel intervals that contain at least one detected nucleus (its intensity peak);
- **precision**: the share of detected nuclei whose peak lies inside an aligned vowel interval.

Corpora: ``../shared/data/ljspeech-32`` (32 read sentences, MFA ``phones`` tier, every vowel of any stress,
reduced ones included) and ``../shared/data/hillenbrand1995`` (1116 /hVd/ words; the ``phones`` tier's vowel
is the measured vowel nucleus, so an /h/ or /d/ peak outside it counts against precision). Nuclei are detected
on each whole file with the detector's default parameters (no tuning on these data).

    python -m bench.bench_nuclei [--limit N]    # writes bench/results/nuclei.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import soundfile as sf

from bench.lib.nuclei import nucleus_recall_precision
from vowelcam.acoustics.nuclei import NucleiSettings, find_nuclei
from vowelcam.corpus.labels import detect_convention
from vowelcam.corpus.textgrids import read_textgrid

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def vowel_intervals(textgrid: Path) -> list[tuple[float, float]]:
    """The vowel intervals of the ``phones`` tier."""
    tier = read_textgrid(textgrid).tier("phones")
    labels = detect_convention(iv.text for iv in tier.intervals)
    out = []
    for iv in tier.intervals:
        phone = labels.lookup(iv.text).phone
        if phone is not None and phone.kind == "vowel" and iv.duration > 0:
            out.append((iv.start, iv.end))
    return out


def score(pairs: list[tuple[Path, Path]], settings: NucleiSettings) -> dict:
    """Pooled recall and precision over files, plus per-file medians."""
    totals = {"n_vowels": 0, "n_nuclei": 0, "n_vowels_found": 0, "n_inside": 0}
    t0 = time.perf_counter()
    seconds_audio = 0.0
    for wav, tg in pairs:
        x, sr = sf.read(wav, dtype="float64", always_2d=False)
        seconds_audio += len(x) / sr
        peaks = [n.peak for n in find_nuclei(x, sr, settings)]
        result = nucleus_recall_precision(peaks, vowel_intervals(tg))
        for k in totals:
            totals[k] += result[k]
    elapsed = time.perf_counter() - t0
    return {
        "files": len(pairs),
        **totals,
        "recall": totals["n_vowels_found"] / totals["n_vowels"],
        "precision": totals["n_inside"] / totals["n_nuclei"] if totals["n_nuclei"] else None,
        "seconds": round(elapsed, 2),
        "audio_seconds": round(seconds_audio, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="files per corpus (0 = all)")
    args = parser.parse_args()
    settings = NucleiSettings()
    lj = DATA / "ljspeech-32"
    lj_pairs = [(w, lj / "textgrids" / f"{w.stem}.TextGrid") for w in sorted((lj / "wavs").glob("*.wav"))]
    hb = DATA / "hillenbrand1995"
    hb_pairs = [
        (w, hb / "textgrids" / f"{w.stem}.TextGrid") for g in ("men", "women") for w in sorted((hb / g).glob("*.wav"))
    ]
    if args.limit:
        lj_pairs, hb_pairs = lj_pairs[: args.limit], hb_pairs[:: max(1, len(hb_pairs) // args.limit)]
    results = {
        "method": "de Jong & Wempe (2009) intensity peaks in voiced stretches",
        "settings": vars(settings),
        "ljspeech-32": score(lj_pairs, settings),
        "hillenbrand1995": score(hb_pairs, settings),
    }
    out = ROOT / "bench" / "results" / "nuclei.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    for corpus in ("ljspeech-32", "hillenbrand1995"):
        r = results[corpus]
        print(
            f"{corpus}: recall {100 * r['recall']:.1f} % ({r['n_vowels_found']}/{r['n_vowels']}), "
            f"precision {100 * r['precision']:.1f} % ({r['n_inside']}/{r['n_nuclei']}), {r['seconds']} s"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
