"""Causal formant test on real tokens: move one formant (or scale all) by resynthesis, ask the model again.

For each token (a seeded subset of the explained tokens, at most ``causal_max_tokens``): the audio around it is
split into source and filter with Praat (:mod:`vowelcam.acoustics.resynthesis`) and re-rendered unchanged
("none") and with each manipulation (defaults in ``cam.causal_manipulations``: F1-F3 ±1 Bark, the shams F4 ±1
Bark and 1-Bark notches between F1/F2 and F2/F3, vocal-tract length x0.9 / x1.1; F0 kept). Each rendering goes
through the *same* spectrogram code and settings as the run's tokens
(:func:`vowelcam.acoustics.features.token_spectrogram` with the store's settings), then through the model.
Every effect is "manipulated minus none", so the resynthesis' own artefacts cancel; "none minus original"
(the stored spectrogram) measures those artefacts. The renderings are also measured with the run's own Praat
formant measurement, so each row says where the moved formant really went. The verdicts read from these rows,
moves against shams per unit of distortion, are :mod:`.causal_verdicts`'.

``causal.csv`` (one row per token and manipulation, ``none`` included): token_id, speaker, group, file, vowel,
manipulation, formant (1-5; 0 = all or none), shift_bark, scale, f_before_hz (the moved formant measured on "none";
F2 for a length warp or a notch), f_target_hz, f_after_hz, placement_error_bark (after minus target; for a warp or a
notch the F1-F3 mean of absolute errors), f1_hz..f3_hz (measured on this rendering), prob_true_orig, prob_true,
d_prob_true (minus none), logit_true, d_logit_true, logodds_true and d_logodds_true (log(p / (1 - p)) of the true
class, which does not saturate), distortion_db (RMS dB change of the model's input over the token's frames against
none), predicted, runner_up (the most probable other class of the unmoved rendering: the competitor the verdicts
orient the moves by), changed (prediction differs from none's), map_shift_hz and energy_shift_hz (the CAM / energy
profile's centroid shift in a window around the old and new formant), map_follow and energy_follow (shift / formant
shift; for a warp log(profile scale) / log(factor), see :mod:`.warp`), follows (map_follow >= 0.5), new_band_gain
(the CAM profile's mass share in the new formant's band, ±half the move, minus the same band's share in "none"),
problem (why a token has no values).

``causal_summary.csv``: test (causal), condition (manipulation), metric, value, ci_lo, ci_hi, n, n_clusters, unit:
means over tokens with 95 % cluster-bootstrap intervals over speakers (:mod:`vowelcam.intervals`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...acoustics.audio import Recording, audio_info
from ...acoustics.features import context_seconds, geometry, token_spectrogram
from ...acoustics.praat import measure_token
from ...acoustics.resynthesis import NONE, Manipulation, ResynthesisError, SourceFilter, hz_to_bark
from ...config import MeasureSettings, SpectrogramSettings
from ...errors import DataProblem
from ...progress import ProgressCallback, report
from .common import (
    FaithInputs,
    FaithSpec,
    band_share,
    energy_profiles,
    interval_profiles,
    layer_maps,
    predict_logits,
    stat_row,
    window_centroid_shift,
)
from .warp import profile_scale

log = logging.getLogger(__name__)

CAUSAL = "causal.csv"
CAUSAL_SUMMARY = "causal_summary.csv"
CAUSAL_COLUMNS = (
    "token_id speaker group file vowel manipulation formant shift_bark scale f_before_hz f_target_hz "
    "f_after_hz placement_error_bark f1_hz f2_hz f3_hz prob_true_orig prob_true d_prob_true logit_true "
    "d_logit_true logodds_true d_logodds_true distortion_db predicted runner_up changed map_shift_hz "
    "energy_shift_hz map_follow energy_follow follows new_band_gain problem"
).split()
SUMMARY_COLUMNS = ["test", "condition", "metric", "value", "ci_lo", "ci_hi", "n", "n_clusters", "unit"]
MARGIN_S = 0.05  # audio beyond the spectrogram's context given to the LPC analysis (filter edges)
FOLLOW_THRESHOLD = 0.5


@dataclass
class CausalTokens:
    """The tokens to manipulate: tokens.csv rows, their stored spectrograms and true class, and where audio is."""

    rows: Sequence[dict[str, Any]]
    stored: np.ndarray  # [N, F, T] the model's inputs as extracted
    true_idx: np.ndarray
    corpus: Path
    spectrogram: SpectrogramSettings
    measure: MeasureSettings


def render_token(
    row: dict[str, Any], tokens: CausalTokens, manipulations: Sequence[Manipulation], n_rows: int
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Spectrograms ``[1 + M, n_rows, T]`` (none first) and Praat measurements of one token's renderings.
    Raises DataProblem (audio) or ResynthesisError (Praat)."""
    start, end = float(row["start"]), float(row["end"])
    centre = (start + end) / 2
    recording = Recording(audio_info(tokens.corpus / str(row["file"])))
    half = max(context_seconds(tokens.spectrogram), (end - start) / 2) + MARGIN_S
    samples, first_s = recording.segment(centre - half, centre + half)
    sr = recording.info.sample_rate
    ceiling = float(row.get("ceiling") or "nan")
    source_filter = SourceFilter(samples, sr, ceiling, where=str(row["token_id"]))
    span = (max(0, int((start - first_s) * sr)), int((end - first_s) * sr))
    geo = geometry(tokens.spectrogram)
    specs, measured = [], []
    for manipulation in (NONE, *manipulations):
        audio = source_filter.render(manipulation, span)
        specs.append(token_spectrogram(audio, sr, centre - first_s, tokens.spectrogram, geo)[:n_rows])
        measured.append(
            measure_token(
                audio, sr, start - first_s, end - first_s, str(row.get("group") or "") or None, tokens.measure
            )
        )
    return np.stack(specs), measured


def causal_rows(
    inp: FaithInputs,
    tokens: CausalTokens,
    manipulations: Sequence[Manipulation],
    spec: FaithSpec,
    progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """Per-token rows for ``causal.csv``; :func:`summarise` makes ``causal_summary.csv`` of them (gathered over
    folds, each fold's tokens through its own model)."""
    n_rows, n = inp.specs.shape[1], len(tokens.rows)
    rendered = np.repeat(tokens.stored[:, None], 1 + len(manipulations), axis=1).astype(np.float32)
    measured: list[list[dict[str, float]]] = [[{} for _ in range(1 + len(manipulations))] for _ in range(n)]
    problems = [""] * n
    for i, row in enumerate(tokens.rows):
        report(progress, "causal", i, n, "resynthesis")
        try:
            rendered[i], measured[i] = render_token(row, tokens, manipulations, n_rows)
        except (DataProblem, ResynthesisError) as exc:
            problems[i] = str(exc)
            log.warning("causal test skips %s: %s", row["token_id"], exc)
    report(progress, "causal", n, n, "model")
    flat = rendered.reshape(-1, *rendered.shape[2:])
    repeated = inp.subset(np.repeat(np.arange(n), 1 + len(manipulations)))
    distortion = distortion_db(rendered, inp.frames)
    logits = predict_logits(repeated, flat, spec)
    probs = torch.softmax(torch.from_numpy(logits), 1).numpy()
    cam = interval_profiles(layer_maps(repeated, flat, spec), repeated)
    energy = energy_profiles(flat, repeated.frames, spec.noise_percentile)
    shape = (n, 1 + len(manipulations))
    results = _Results(
        logits.reshape(*shape, -1),
        probs.reshape(*shape, -1),
        cam.reshape(*shape, -1),
        energy.reshape(*shape, -1),
        measured,
        problems,
        distortion,
    )
    stored_probs = torch.softmax(torch.from_numpy(predict_logits(inp, tokens.stored, spec)), 1).numpy()
    return _token_rows(inp, tokens, manipulations, results, stored_probs)


@dataclass
class _Results:
    logits: np.ndarray  # [N, 1 + M, classes]
    probs: np.ndarray
    cam: np.ndarray  # [N, 1 + M, F] profiles
    energy: np.ndarray
    measured: list[list[dict[str, float]]]
    problems: list[str]
    distortion: np.ndarray  # [N, 1 + M] dB RMS change of the model's input against "none"


def distortion_db(rendered: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``[N, R]`` root-mean-square dB difference of each rendering ``[N, R, F, T]`` from rendering 0 ("none")
    over the token's own frames: how much of the model's input a manipulation changed (0 for "none")."""
    out = np.zeros(rendered.shape[:2])
    for i, (start, end) in enumerate(frames):
        lo, hi = int(start), max(int(end), int(start) + 1)
        diff = rendered[i, :, :, lo:hi].astype(np.float64) - rendered[i, :1, :, lo:hi]
        out[i] = np.sqrt(np.mean(np.square(diff), axis=(1, 2)))
    return out


def log_odds(logits: np.ndarray, k: int) -> float:
    """log(p_k / (1 - p_k)) from logits, exactly (logit k minus the log-sum-exp of the others): unlike p it does
    not saturate for a confident model."""
    others = np.delete(np.asarray(logits, dtype=np.float64), k)
    top = others.max()
    return float(logits[k] - (top + np.log(np.exp(others - top).sum())))


def runner_up(logits: np.ndarray, k: int) -> int:
    """The most probable class other than ``k``."""
    others = np.asarray(logits, dtype=np.float64).copy()
    others[k] = -np.inf
    return int(others.argmax())


def _formant(measured: dict[str, Any], k: int) -> float:
    try:
        value = float(measured.get(f"f{k}_50", math.nan))
    except (TypeError, ValueError):  # an empty tokens.csv field
        return math.nan
    return value if np.isfinite(value) and value > 0 else math.nan


def _token_rows(
    inp: FaithInputs,
    tokens: CausalTokens,
    manipulations: Sequence[Manipulation],
    res: _Results,
    stored_probs: np.ndarray,
) -> list[dict[str, Any]]:
    freqs = inp.grid.input_freqs
    idx, true = np.arange(len(tokens.rows)), tokens.true_idx
    out: list[dict[str, Any]] = []
    for j, manipulation in enumerate((NONE, *manipulations)):
        k = manipulation.formant or 2
        before = np.array([_formant(m[0], k) for m in res.measured])
        target = np.array([manipulation.target(b, k) if np.isfinite(b) else np.nan for b in before])
        after = np.array([_formant(m[j], k) for m in res.measured])
        cam, energy = res.cam[:, j], res.energy[:, j]
        if manipulation.is_none:  # the round trip: "none" against the token's own measurement in tokens.csv
            map_shift = energy_shift = gain = follow = energy_follow = np.full(len(idx), np.nan)
            before = target = np.array([_formant(r, k) for r in tokens.rows])
            placement = _round_trip(tokens.rows, res.measured)
        elif manipulation.formant:
            map_shift = window_centroid_shift(res.cam[:, 0], cam, freqs, before, target, inp.grid.hz_per_row)
            energy_shift = window_centroid_shift(res.energy[:, 0], energy, freqs, before, target, inp.grid.hz_per_row)
            follow, energy_follow = map_shift / (target - before), energy_shift / (target - before)
            half = np.abs(target - before) / 2
            gain = band_share(cam, freqs, target - half, target + half) - band_share(
                res.cam[:, 0], freqs, target - half, target + half
            )
            placement = hz_to_bark(after) - hz_to_bark(target)
        else:
            map_shift = energy_shift = gain = np.full(len(idx), np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = math.log(manipulation.scale) if manipulation.scale != 1 else math.nan
                follow = np.log(profile_scale(res.cam[:, 0], cam)) / factor
                energy_follow = np.log(profile_scale(res.energy[:, 0], energy)) / factor
            placement = _warp_placement(res.measured, j, manipulation)
        per = {
            "f_before_hz": before,
            "f_target_hz": target,
            "f_after_hz": after,
            "placement_error_bark": placement,
            "map_shift_hz": map_shift,
            "energy_shift_hz": energy_shift,
            "map_follow": follow,
            "energy_follow": energy_follow,
            "new_band_gain": gain,
        }
        for i, row in enumerate(tokens.rows):
            out.append(
                _row(
                    row,
                    manipulation,
                    res,
                    i,
                    j,
                    int(true[i]),
                    float(stored_probs[i, true[i]]),
                    {key: float(v[i]) for key, v in per.items()},
                )
            )
    return out


def _round_trip(rows: Sequence[dict[str, Any]], measured: list[list[dict[str, float]]]) -> np.ndarray:
    """Mean absolute Bark difference of F1–F3 between "none" and the token's measurement in tokens.csv."""
    errors = []
    for row, m in zip(rows, measured):
        per = [abs(float(hz_to_bark(_formant(m[0], k)) - hz_to_bark(_formant(row, k)))) for k in (1, 2, 3)]
        errors.append(float(np.nanmean(per)) if np.isfinite(per).any() else math.nan)
    return np.array(errors)


def _warp_placement(measured: list[list[dict[str, float]]], j: int, manipulation: Manipulation) -> np.ndarray:
    errors = []
    for m in measured:
        per = [
            abs(float(hz_to_bark(_formant(m[j], k)) - hz_to_bark(manipulation.target(_formant(m[0], k), k))))
            for k in (1, 2, 3)
        ]
        errors.append(float(np.nanmean(per)) if np.isfinite(per).any() else math.nan)
    return np.array(errors)


def _row(
    row: dict[str, Any],
    manipulation: Manipulation,
    res: _Results,
    i: int,
    j: int,
    true: int,
    prob_orig: float,
    per: dict[str, float],
) -> dict[str, Any]:
    """One ``causal.csv`` row: token ``i``'s rendering ``j`` (0 = none); ``per`` holds its formant and map values."""
    problem = res.problems[i]
    nan = math.nan
    follow = per["map_follow"]
    values = (
        {}
        if problem
        else {
            **per,
            **{f"f{k}_hz": _formant(res.measured[i][j], k) for k in (1, 2, 3)},
            "prob_true_orig": prob_orig,
            "prob_true": res.probs[i, j, true],
            "d_prob_true": res.probs[i, j, true] - res.probs[i, 0, true],
            "logit_true": res.logits[i, j, true],
            "d_logit_true": res.logits[i, j, true] - res.logits[i, 0, true],
            "logodds_true": log_odds(res.logits[i, j], true),
            "d_logodds_true": log_odds(res.logits[i, j], true) - log_odds(res.logits[i, 0], true),
            "distortion_db": res.distortion[i, j],
            "predicted": int(res.probs[i, j].argmax()),
            "runner_up": runner_up(res.logits[i, 0], true),
            "changed": int(res.probs[i, j].argmax() != res.probs[i, 0].argmax()),
            "follows": float(follow >= FOLLOW_THRESHOLD) if np.isfinite(follow) else nan,
        }
    )
    base = {c: nan for c in CAUSAL_COLUMNS[9:]}
    return {
        **base,
        "token_id": row["token_id"],
        "speaker": row.get("speaker", ""),
        "group": row.get("group", ""),
        "file": row.get("file", ""),
        "vowel": row.get("phone", ""),
        "manipulation": manipulation.name,
        "formant": manipulation.formant,
        "shift_bark": manipulation.bark,
        "scale": manipulation.scale,
        **values,
        "problem": problem,
    }


SUMMARY_METRICS = (
    "d_prob_true",
    "d_logit_true",
    "d_logodds_true",
    "distortion_db",
    "changed",
    "placement_error_bark",
    "map_follow",
    "energy_follow",
    "follows",
    "new_band_gain",
    "map_shift_hz",
    "energy_shift_hz",
)


def summarise(
    rows: Sequence[dict[str, Any]], clusters: Sequence[str], unit: str, spec: FaithSpec
) -> list[dict[str, Any]]:
    """Per manipulation, each metric's mean over tokens with a cluster-bootstrap interval; for ``none`` the
    resynthesis artefact (prob_true minus the stored spectrogram's) and the round-trip formant errors."""
    by_token = {}
    for c, row in zip(_cycle(clusters, len(rows)), rows):
        by_token.setdefault(row["manipulation"], []).append((c, row))
    out = []
    for name, pairs in by_token.items():
        cl = [c for c, _ in pairs]

        def values(key: str, pairs=pairs) -> np.ndarray:
            return np.array([float(r[key]) if r[key] not in (None, "") else math.nan for _, r in pairs])

        if name == NONE.name:
            out.append(
                stat_row(
                    "causal",
                    name,
                    "prob_true_minus_orig",
                    values("prob_true") - values("prob_true_orig"),
                    cl,
                    unit,
                    spec,
                )
            )
            out.append(stat_row("causal", name, "prob_true", values("prob_true"), cl, unit, spec))
            out.append(
                stat_row("causal", name, "round_trip_error_bark", values("placement_error_bark"), cl, unit, spec)
            )
            continue
        for metric in SUMMARY_METRICS:
            v = np.abs(values(metric)) if metric == "placement_error_bark" else values(metric)
            out.append(stat_row("causal", name, metric, v, cl, unit, spec))
    return [{k: r[k] for k in SUMMARY_COLUMNS} for r in out]


def _cycle(clusters: Sequence[str], n: int) -> list[str]:
    """Cluster labels repeated for rows laid out manipulation-major (token order within each)."""
    return [clusters[i % len(clusters)] for i in range(n)]
