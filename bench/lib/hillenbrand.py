"""Hillenbrand et al. (1995): its vowel tokens with their hand-edited formants, the formant methods compared on
them (vowelcam, a plain Burg call, fasttrackpy) and their scoring; and a run extracted from the corpus.

Used by ``bench_formants`` (all methods on all tokens), ``bench_stages`` (the anchors and the plain Praat loop),
``bench_train_hillenbrand`` and ``bench_cpu_default`` (the extracted run, the accuracy target).
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.lib.formants import plain_burg_formants
from vowelcam.acoustics.praat import measure_token
from vowelcam.config import MeasureSettings, Settings
from vowelcam.corpus.textgrids import read_textgrid

from .paths import DATA

CORPUS = DATA / "hillenbrand1995"
GROUPS = {"m": "men", "w": "women"}
PLAIN_CEILING = {"men": 5000.0, "women": 5500.0}
FASTTRACK_RANGE = {"men": (4500.0, 6500.0), "women": (5000.0, 7000.0)}
MARGIN_S = 0.1
GROSS = 0.15
MEASURED = ("f1_50", "f2_50", "f3_50", "f0")
F0_GROSS = 0.2  # an F0 more than 20 % off is an octave-type error
TARGET = 0.952  # the best formant-based classifier on these speakers (LDA, 927 tokens; listeners ~95 %)


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


# ------------------------------------------------------------------------------------------ extracted run


def ensure_run(run: Path) -> None:
    """Extract the corpus (speakers from the file names) unless ``run`` already holds tokens."""
    if (run / "tokens.csv").is_file():
        return
    from vowelcam.extract import extract

    settings = Settings().with_overrides(
        {"corpus": {"speaker_pattern": "hillenbrand"}, "labels": {"include_unvoiced": False}}
    )
    extract(CORPUS, run, CORPUS / "textgrids", settings)
