"""Extraction throughput, parallel scaling, linearity and peak memory on real data.

Measures, in one run:
- per-core throughput of full extraction (formants + F0 + spectrograms + writing) on Hillenbrand et al. (1995)
  (1116 tokens, 16 kHz) and on LJSpeech-32 (1393 tokens, 22.05 kHz), with ``jobs=1``;
- the split of per-token cost between Praat measurement and the spectrogram (same tokens, in process);
- ``jobs=2`` against ``jobs=1`` on Hillenbrand (parallel speed-up on this 2-core machine);
- the LJSpeech scale corpus at 1x, 4x, 16x (``bench/lib/scale_corpus.py``), jobs=2: wall time and peak resident
  memory of the whole process tree (sampled every 0.1 s with psutil), to show linear time and flat memory;
- an extrapolation to the full LJSpeech corpus (343 872 vowel tokens + its unvoiced consonants) on 16 cores.

    python -m bench.bench_extract [--quick]

Writes bench/results/extract.json and prints a Rich table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from bench.lib.memory import peak_tree_rss
from bench.lib.paths import RESULTS
from bench.lib.scale_corpus import make_scale_corpus

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

RUNNER = """
import sys, json, time
from vowelcam.config import Settings
from vowelcam.extract import extract
corpus, out, tg, jobs, pattern = sys.argv[1:6]
s = Settings().with_overrides({"extract": {"jobs": int(jobs)}, "corpus": {"speaker_pattern": pattern}})
t = time.perf_counter()
summary = extract(corpus, out, tg or None, s, force=True)
print(json.dumps({"tokens": summary.n_tokens, "seconds": time.perf_counter() - t}))
"""


def run_extract(corpus: Path, textgrids: Path | None, jobs: int, pattern: str = "") -> dict:
    """Extract in a subprocess; return tokens, seconds (inside extract) and the tree's peak RSS in MB."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-c", RUNNER, str(corpus), out, str(textgrids or ""), str(jobs), pattern]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        peak = peak_tree_rss(proc)
        stdout, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"extraction failed on {corpus}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(
        peak_rss_mb=round(peak / 2**20, 1), tokens_per_s=round(result["tokens"] / result["seconds"], 1), jobs=jobs
    )
    return result


def cost_split(limit: int = 300) -> dict:
    """Milliseconds per token for Praat measurement vs the spectrogram, on Hillenbrand tokens."""
    import numpy as np

    from vowelcam.acoustics import praat
    from vowelcam.acoustics.audio import audio_info, read_segment
    from vowelcam.acoustics.features import geometry, token_spectrogram
    from vowelcam.config import MeasureSettings, SpectrogramSettings
    from vowelcam.corpus.textgrids import read_textgrid

    wavs = sorted((DATA / "hillenbrand1995").glob("*/*.wav"))[:: max(1, 1116 // limit)][:limit]
    spec_settings, geo, measure = SpectrogramSettings(), geometry(SpectrogramSettings()), MeasureSettings()
    t_measure = t_spec = 0.0
    for wav in wavs:
        grid = read_textgrid(DATA / "hillenbrand1995" / "textgrids" / f"{wav.stem}.TextGrid")
        vowel = grid.tier("phones").intervals[1]
        info = audio_info(wav)
        samples, _ = read_segment(info, 0, info.duration)
        group = "men" if wav.name.startswith("m") else "women"
        t0 = time.perf_counter()
        praat.measure_token(samples, info.sample_rate, vowel.start, vowel.end, group, measure)
        t1 = time.perf_counter()
        token_spectrogram(samples, info.sample_rate, (vowel.start + vowel.end) / 2, spec_settings, geo)
        t_spec += time.perf_counter() - t1
        t_measure += t1 - t0
    n = len(wavs)
    return {
        "tokens": n,
        "measure_ms": round(1000 * t_measure / n, 2),
        "spectrogram_ms": round(1000 * t_spec / n, 2),
        "np_version": np.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="extraction benchmark")
    parser.add_argument("--quick", action="store_true", help="skip the 16x scale corpus")
    args = parser.parse_args()
    h95, lj = DATA / "hillenbrand1995", DATA / "ljspeech-32"
    results: dict = {"cpu_count": psutil.cpu_count(), "cost_split": cost_split()}
    results["hillenbrand_jobs1"] = run_extract(h95, h95 / "textgrids", 1, "hillenbrand")
    results["hillenbrand_jobs2"] = run_extract(h95, h95 / "textgrids", 2, "hillenbrand")
    results["ljspeech32_jobs1"] = run_extract(lj / "wavs", lj / "textgrids", 1)
    scale = {}
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1, 4) if args.quick else (1, 4, 16):
            corpus = make_scale_corpus(Path(tmp) / f"x{factor}", factor)
            scale[f"{factor}x"] = run_extract(corpus, None, 2)
    results["scale_jobs2"] = scale
    results["speedup_jobs2"] = round(
        results["hillenbrand_jobs2"]["tokens_per_s"] / results["hillenbrand_jobs1"]["tokens_per_s"], 2
    )
    per_core = results["ljspeech32_jobs1"]["tokens_per_s"]
    full_tokens = 343_872 * 1393 / 879  # vowels of all 13 100 clips, plus unvoiced consonants in LJ-32's ratio
    efficiency = results["speedup_jobs2"] / 2
    results["full_ljspeech_16_cores_minutes"] = round(full_tokens / (per_core * 16 * efficiency) / 60, 1)
    results["extrapolation"] = (
        f"{full_tokens:.0f} tokens / ({per_core} tokens/s/core x 16 cores x "
        f"{efficiency:.2f} parallel efficiency measured at 2 jobs)"
    )
    out = RESULTS / "extract.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    show(results)


def show(results: dict) -> None:
    table = Table(title="extraction (tokens/s, peak RSS of the process tree)")
    for col in ("run", "tokens", "seconds", "tokens/s", "peak MB"):
        table.add_column(col, justify="right" if col != "run" else "left")
    rows = [(k, v) for k, v in results.items() if isinstance(v, dict) and "tokens_per_s" in v]
    rows += [(f"LJ scale {k} (jobs 2)", v) for k, v in results["scale_jobs2"].items()]
    for name, r in rows:
        table.add_row(
            name, str(r["tokens"]), f"{r['seconds']:.1f}", f"{r['tokens_per_s']:.1f}", f"{r['peak_rss_mb']:.0f}"
        )
    console = Console()
    console.print(table)
    split = results["cost_split"]
    console.print(
        f"per token: Praat {split['measure_ms']} ms, spectrogram {split['spectrogram_ms']} ms; "
        f"jobs=2 speed-up {results['speedup_jobs2']}x; full LJSpeech on 16 cores "
        f"≈ {results['full_ljspeech_16_cores_minutes']} min ({results['extrapolation']})"
    )


if __name__ == "__main__":
    main()
