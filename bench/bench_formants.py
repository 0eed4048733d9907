"""Formant measurement benchmark: vowelcam's ceiling search against hand-edited formants (Hillenbrand et al. 1995).

Ground truth: ``measurements/vowdata.dat`` columns 11–13 (F1–F3 at 50 % of the vowel, hand-edited LPC tracks;
0 = not measurable, excluded). The vowel nucleus comes from the ``phones`` tier of each TextGrid; the speaker
group (men/women) from the file name. Every method sees the same audio: the vowel plus 0.1 s on each side.

Methods, all in this one run so that speed ratios are comparable:

- ``vowelcam``: :func:`vowelcam.acoustics.praat.measure_token` (F0 and F1–F3 at 20/50/80 % included; its F0,
  the median over the middle 60 %, is also scored against column 3, the steady-state F0, 20 % = gross);
- ``vowelcam (group unknown)``: the same without the speaker group (wider ceiling search);
- ``plain Burg``: one Praat Burg call per token, 5 formants, ceiling 5000 Hz men / 5500 Hz women;
- ``fasttrackpy``: Fast Track 0.6.1 (20 ceilings 4500–6500 Hz men / 5000–7000 Hz women, 4 formants, its
  defaults otherwise) on a spread-out subset (``--fasttrack-tokens`` per group; it runs at a few tokens/s);
  vowelcam is scored on the same subset for a like-for-like comparison.

Speed: ``time.perf_counter`` around the measuring calls only (file reading excluded), in this single process;
also thread CPU time, which is the fairer per-core figure on a machine shared with other jobs. Methods take
turns token by token, so load changes during the run hit them alike; ``cpu_time_vs_plain_burg`` is the ratio.

    python bench/bench_formants.py [--limit N] [--fasttrack-tokens 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table

from bench.lib.formants import plain_burg_formants
from vowelcam.acoustics.praat import measure_token
from vowelcam.config import MeasureSettings
from vowelcam.corpus.textgrids import read_textgrid
from vowelcam.rundir import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "data" / "hillenbrand1995"
RESULTS = REPO / "bench" / "results" / "formants.json"
GROUPS = {"m": "men", "w": "women"}
PLAIN_CEILING = {"men": 5000.0, "women": 5500.0}
FASTTRACK_RANGE = {"men": (4500.0, 6500.0), "women": (5000.0, 7000.0)}
MARGIN_S = 0.1
GROSS = 0.15
MEASURED = ("f1_50", "f2_50", "f3_50", "f0")
F0_GROSS = 0.2  # an F0 more than 20 % off is an octave-type error


@dataclass
class Token:
    """One Hillenbrand vowel: audio with margin, the vowel's bounds in it, and the hand-measured F1–F3 at 50 %."""

    name: str
    group: str
    samples: np.ndarray
    sr: int
    start: float
    end: float
    reference: np.ndarray  # F1-F3 at 50 % and F0 at steady state (Hz), NaN = not measurable


def read_reference(path: Path) -> dict[str, np.ndarray]:
    """F1–F3 at 50 % (columns 11–13) and steady-state F0 (column 3) per file stem from ``vowdata.dat``.

    0 (not measurable) becomes NaN.
    """
    table = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"[mwbg]\d\d[a-z]{2}", parts[0]) and len(parts) >= 13:
            values = np.array([float(v) for v in (*parts[10:13], parts[2])])
            table[parts[0]] = np.where(values > 0, values, np.nan)
    return table


def vowel_bounds(textgrid: Path) -> tuple[float, float]:
    """Start and end (s) of the vowel interval (the one not HH or D) on tier ``phones``."""
    tier = read_textgrid(textgrid).tier("phones")
    if tier is None:
        raise SystemExit(f"{textgrid}: no tier 'phones'")
    vowel = next(iv for iv in tier.intervals if iv.text.strip() and iv.text.strip() not in {"HH", "D"})
    return vowel.start, vowel.end


def load_tokens(limit: int | None) -> list[Token]:
    """Tokens of both groups (``limit`` files per group, spread over speakers and vowels, when given)."""
    reference = read_reference(CORPUS / "measurements" / "vowdata.dat")
    tokens = []
    for folder in ("men", "women"):
        files = sorted((CORPUS / folder).glob("*.wav"))
        if limit:
            files = [files[i] for i in np.linspace(0, len(files) - 1, min(limit, len(files))).astype(int)]
        for wav in files:
            tokens.append(_load_token(wav, reference))
    return tokens


def _load_token(wav: Path, reference: dict[str, np.ndarray]) -> Token:
    audio, sr = sf.read(wav, dtype="float64", always_2d=False)
    start, end = vowel_bounds(CORPUS / "textgrids" / f"{wav.stem}.TextGrid")
    first = max(0, int((start - MARGIN_S) * sr))
    last = min(audio.size, int(np.ceil((end + MARGIN_S) * sr)))
    ref = reference.get(wav.stem, np.full(4, np.nan))
    return Token(wav.stem, GROUPS[wav.stem[0]], audio[first:last], sr, start - first / sr, end - first / sr, ref)


# ------------------------------------------------------------------------------------------ methods

Method = Callable[[Token], np.ndarray]


def vowelcam_method(settings: MeasureSettings, know_group: bool = True) -> Method:
    """F1–F3 at 50 % from :func:`measure_token` (which also measures F0 and 20/80 %).

    ``know_group=False`` hides the speaker group (the wider ceiling search for unlabelled corpora).
    """

    def run(tok: Token) -> np.ndarray:
        group = tok.group if know_group else None
        values = measure_token(tok.samples, tok.sr, tok.start, tok.end, group, settings)
        return np.array([values[k] for k in MEASURED])

    return run


def plain_method(tok: Token) -> np.ndarray:
    """One Burg call per token at the group's classic ceiling."""
    values = plain_burg_formants(tok.samples, tok.sr, tok.start, tok.end, PLAIN_CEILING[tok.group])
    return np.array([values.get(k, np.nan) for k in MEASURED])


def fasttrack_method(tok: Token) -> np.ndarray:
    """Fast Track's winning candidate at the frame nearest the vowel's midpoint (its own vowel-only excerpt)."""
    from fasttrackpy import CandidateTracks

    half_window = 0.025 / 2  # what fasttrackpy's TextGrid workflow adds around an interval
    first = max(0, int((tok.start - half_window) * tok.sr))
    last = int(np.ceil((tok.end + half_window) * tok.sr))
    low, high = FASTTRACK_RANGE[tok.group]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        candidates = CandidateTracks(
            samples=tok.samples[first:last],
            sampling_frequency=tok.sr,
            xmin=first / tok.sr,
            min_max_formant=low,
            max_max_formant=high,
            nstep=20,
            n_formants=4,
        )
    winner = candidates.winner
    frame = int(np.argmin(np.abs(winner.time_domain - (tok.start + tok.end) / 2)))
    return np.append(winner.formants[:3, frame].astype(float), np.nan)


def run_methods(methods: dict[str, Method], tokens: list[Token]) -> dict[str, tuple[np.ndarray, float, float]]:
    """Each method's measurements ``[n, 4]`` (F1–F3, F0) and wall / thread-CPU seconds spent inside it.

    The methods take turns token by token, so that a machine whose load changes during the run slows them alike
    and their speed ratio stays fair.
    """
    out = {name: np.full((len(tokens), len(MEASURED)), np.nan) for name in methods}
    wall = dict.fromkeys(methods, 0.0)
    cpu = dict.fromkeys(methods, 0.0)
    for i, tok in enumerate(tokens):
        for name, method in methods.items():
            w0, c0 = time.perf_counter(), time.thread_time()
            out[name][i] = method(tok)
            wall[name] += time.perf_counter() - w0
            cpu[name] += time.thread_time() - c0
    return {name: (out[name], wall[name], cpu[name]) for name in methods}


# ------------------------------------------------------------------------------------------ scoring


def score(tokens: list[Token], measured: np.ndarray) -> dict[str, dict[str, float]]:
    """Per group and formant: median relative error and gross-error rate (> 15 % off or not measured), in %.

    F0 (median over the middle 60 % against the steady-state F0) is scored too where the method measures it,
    with 20 % as its gross threshold.
    """
    result = {}
    for group in ("men", "women"):
        rows = [i for i, t in enumerate(tokens) if t.group == group]
        ref = np.array([tokens[i].reference for i in rows]).reshape(-1, len(MEASURED))
        got = measured[rows].reshape(-1, len(MEASURED))
        stats: dict[str, float] = {"tokens": len(rows)}
        for k, name in enumerate(("F1", "F2", "F3", "F0")):
            if name == "F0" and not np.isfinite(got[:, k]).any():
                continue
            stats.update(_error_stats(name, got[:, k], ref[:, k], F0_GROSS if name == "F0" else GROSS))
        result[group] = stats
    return result


def _error_stats(name: str, got: np.ndarray, ref: np.ndarray, gross: float) -> dict[str, float]:
    ok = np.isfinite(ref)
    rel = np.abs(got[ok] - ref[ok]) / ref[ok]
    rel = np.where(np.isfinite(rel), rel, np.inf)  # a missing measurement counts as a gross error
    if not rel.size:
        return {f"{name}_n": 0}
    return {
        f"{name}_median_rel_err_pct": round(100 * float(np.median(rel)), 2),
        f"{name}_gross_pct": round(100 * float(np.mean(rel > gross)), 2),
        f"{name}_n": int(ok.sum()),
    }


def evaluate(methods: dict[str, Method], tokens: list[Token]) -> dict[str, dict]:
    """Accuracy per group and speed of each method on ``tokens`` (methods interleaved, see :func:`run_methods`)."""
    n = len(tokens)
    entries = {}
    for name, (measured, wall, cpu) in run_methods(methods, tokens).items():
        entries[name] = {
            "tokens": n,
            "tokens_per_s_wall": round(n / wall, 2) if wall else None,
            "tokens_per_s_cpu": round(n / cpu, 2) if cpu else None,
            "ms_per_token_wall": round(1000 * wall / n, 3),
            "ms_per_token_cpu": round(1000 * cpu / n, 3),
            "groups": score(tokens, measured),
        }
    return entries


def print_table(results: dict) -> None:
    """One Rich table: method x group, median error and gross rate per formant, speed."""
    table = Table(title="F1–F3 at 50 % vs Hillenbrand et al. (1995) hand-edited values")
    for col in (
        "method",
        "group",
        "n",
        "F1 med %",
        "F2 med %",
        "F3 med %",
        "F1 gross %",
        "F2 gross %",
        "F3 gross %",
        "F0 med %",
        "F0 gross %",
        "tok/s wall",
        "tok/s CPU",
    ):
        table.add_column(col, justify="left" if col in {"method", "group"} else "right")
    for name, entry in results["methods"].items():
        for group, s in entry["groups"].items():
            table.add_row(
                name,
                group,
                str(s["tokens"]),
                *(f"{s[f'F{k}_median_rel_err_pct']:.2f}" for k in (1, 2, 3)),
                *(f"{s[f'F{k}_gross_pct']:.2f}" for k in (1, 2, 3)),
                *(f"{s[key]:.2f}" if key in s else "–" for key in ("F0_median_rel_err_pct", "F0_gross_pct")),
                f"{entry['tokens_per_s_wall']:.1f}",
                f"{entry['tokens_per_s_cpu']:.1f}",
            )
    Console(width=160).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="files per group (default: all)")
    parser.add_argument("--fasttrack-tokens", type=int, default=60, help="fasttrackpy subset per group (0 = skip)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        raise SystemExit(f"{CORPUS} not found (set VOWELCAM_SHARED)")
    settings = MeasureSettings()
    tokens = load_tokens(args.limit)
    methods = evaluate(
        {
            "vowelcam": vowelcam_method(settings),
            "vowelcam (group unknown)": vowelcam_method(settings, know_group=False),
            "plain Burg": plain_method,
        },
        tokens,
    )
    if args.fasttrack_tokens:
        subset = load_tokens(min(args.fasttrack_tokens, args.limit or args.fasttrack_tokens))
        subset_methods = {
            "vowelcam (fasttrack subset)": vowelcam_method(settings),
            "fasttrackpy (subset)": fasttrack_method,
        }
        methods.update(evaluate(subset_methods, subset))
    plain_cpu = methods["plain Burg"]["ms_per_token_cpu"]
    for entry in methods.values():
        entry["cpu_time_vs_plain_burg"] = round(entry["ms_per_token_cpu"] / plain_cpu, 2)
    results = {
        "corpus": str(CORPUS),
        "reference": "vowdata.dat columns 11-13 (F1-F3 at 50 % of the vowel) and 3 (F0), 0 excluded",
        "gross_threshold": GROSS,
        "f0_gross_threshold": F0_GROSS,
        "timing": "perf_counter (wall) and thread_time (CPU) around the measuring calls only, one process, "
        "methods interleaved token by token",
        "fasttrack_subset_per_group": args.fasttrack_tokens,
        "settings": dataclasses.asdict(settings),
        "load_average": os.getloadavg(),
        "methods": methods,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(results, indent=2, default=float))
    print_table(results)
    Console().print(f"written {args.out}")


if __name__ == "__main__":
    main()
