"""Formant tracks of a vowel (``tracks.csv``), their DCT coefficients, extra measurement points and intensity.

- **Track**: F1–F3 and B1–B3 every ``measure.track_step`` of the vowel (5 % by default: 21 points from its start
  to its end), measured at the token's *chosen* formant ceiling (the ``ceiling`` column) with the same Burg
  analysis as the ceiling search (:func:`vowelcam.acoustics.praat.formant_track`). ``tracks.csv`` has one row per
  token and time, the shape tidynorm, new-fave and fasttrackpy users load: ``token_id, file, speaker, group,
  vowel, word, time`` (s in the recording), ``prop_time`` (0–1 of the vowel), ``f1, f2, f3, b1, b2, b3`` (Hz;
  empty where Praat found no formant). ``track_step = 0`` writes no tracks. Files of version 1 and earlier were
  long (one row per formant: ``formant, hz, bandwidth``); :func:`read_track_points` reads both.
- **DCT**: per formant, the first ``measure.dct_order`` coefficients of the DCT-II of the Hz track, the
  parametrisation of new-fave and fasttrackpy, scaled forward (``scipy.fft.dct(track, norm="forward")``) so that
  ``f1_dct0`` is the track's mean in Hz and ``f1_dct1`` grows with its fall (positive = falling); the inverse DCT of the
  coefficients rebuilds the smoothed track. Empty when a frame of that formant is missing. ``f1_logdct0``… are the
  same of the track's natural log (new-fave's log-Hz DCT): ``f1_logdct0`` is the mean log Hz.
- **Points**: ``measure.points`` adds wide columns ``f1_<p>, f2_<p>, f3_<p>`` for any percentage other than the
  fixed 20/50/80, read from the track (Praat's linear interpolation between frames).
- **Intensity**: ``intensity_db``, the vowel's mean energy in dB re 2·10⁻⁵ (samples taken as Pa), exactly Praat's
  ``Sound: Get intensity (dB)`` over the vowel's samples.

The fixed ``f1_20``…``f3_80`` columns come from the ceiling search, whose F1 is pooled over neighbouring ceilings;
a track's F1 is the chosen ceiling's alone, so the two can differ by a few Hz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.fft import dct

from ..acoustics import praat
from ..config import MeasureSettings
from ..tokens import dct_columns, extra_points, point_columns

TOKEN_KEYS = ["token_id", "file", "speaker", "group", "vowel", "word"]
TRACK_COLUMNS = [*TOKEN_KEYS, "time", "prop_time", "f1", "f2", "f3", "b1", "b2", "b3"]
LONG_TRACK_COLUMNS = ["token_id", "time", "prop_time", "formant", "hz", "bandwidth"]  # tracks.csv before
DEFAULT_STEP = 0.05  # grid used for extra points when tracks.csv is off
N_FORMANTS = 3
P_REF = 2e-5  # Pa: Praat's intensity reference


@dataclass(frozen=True)
class Track:
    """F1–F3 of one token at ``fractions`` of it: ``hz``/``bandwidth`` are ``[len(fractions), 3]``."""

    start: float
    end: float
    fractions: np.ndarray
    hz: np.ndarray
    bandwidth: np.ndarray

    @property
    def times(self) -> np.ndarray:
        """Times of the frames in the recording (s)."""
        return self.start + self.fractions * (self.end - self.start)


def track_fractions(step: float) -> np.ndarray:
    """Fractions 0..1 at the nearest step that divides the vowel evenly (0.05 -> 21 points)."""
    if not step > 0:
        raise ValueError(f"track step must be > 0, got {step}")
    n = max(int(round(1.0 / step)), 1)
    return np.linspace(0.0, 1.0, n + 1)


def wants_track(settings: MeasureSettings) -> bool:
    """Whether a track must be measured (for tracks.csv, DCT or extra points)."""
    return settings.track_step > 0 or bool(extra_points(settings))


def measure_track(
    samples: np.ndarray,
    sr: int,
    start: float,
    end: float,
    ceiling: float,
    settings: MeasureSettings,
    offset: float = 0.0,
) -> Track:
    """The token's track at its chosen ``ceiling``; times relative to ``samples``, reported ``+ offset``."""
    fractions = track_fractions(settings.track_step if settings.track_step > 0 else DEFAULT_STEP)
    hz, bw = praat.formant_track(samples, sr, start, end, ceiling, fractions, settings)
    return Track(start + offset, end + offset, fractions, hz, bw)


def track_rows(token: dict[str, Any], track: Track) -> list[dict[str, Any]]:
    """The rows of ``tracks.csv`` for ``token`` (a tokens.csv row): one per frame, F1–F3 and B1–B3 as columns."""
    keys = {k: token.get("phone" if k == "vowel" else k, "") for k in TOKEN_KEYS}
    rows = []
    for i, (t, p) in enumerate(zip(track.times, track.fractions)):
        row = {**keys, "time": round(float(t), 6), "prop_time": round(float(p), 6)}
        row.update({f"f{k + 1}": float(track.hz[i, k]) for k in range(N_FORMANTS)})
        row.update({f"b{k + 1}": float(track.bandwidth[i, k]) for k in range(N_FORMANTS)})
        rows.append(row)
    return rows


def read_track_points(row: dict[str, str]) -> list[tuple[int, float, float, float]]:
    """``(formant, time, Hz, bandwidth)`` of one ``tracks.csv`` row, wide (current) or long (version 1)."""
    if "formant" in row:
        return [(int(row["formant"]), float(row["time"]), _num(row["hz"]), _num(row["bandwidth"]))]
    t = float(row["time"])
    return [(k, t, _num(row[f"f{k}"]), _num(row[f"b{k}"])) for k in range(1, N_FORMANTS + 1)]


def _num(text: str) -> float:
    return float(text) if text not in ("", "nan") else math.nan


def track_dct(values: np.ndarray, order: int) -> np.ndarray:
    """The first ``order`` DCT coefficients of a track (NaN when any frame is missing)."""
    values = np.asarray(values, dtype=float)
    if values.size < order or not np.isfinite(values).all():
        return np.full(order, math.nan)
    return dct(values, type=2, norm="forward")[:order]


def track_columns(track: Track, settings: MeasureSettings) -> dict[str, float]:
    """The wide columns a track gives: DCT coefficients of Hz and of log Hz (when tracks are on) and extra
    points."""
    out: dict[str, float] = {}
    if settings.track_step > 0:
        order = settings.dct_order
        for k in range(N_FORMANTS):
            hz = track.hz[:, k]
            with np.errstate(divide="ignore", invalid="ignore"):
                log_hz = np.where(hz > 0, np.log(hz), math.nan)
            out.update(zip([f"f{k + 1}_dct{i}" for i in range(order)], map(float, track_dct(hz, order))))
            out.update(zip([f"f{k + 1}_logdct{i}" for i in range(order)], map(float, track_dct(log_hz, order))))
    for p in extra_points(settings):
        for k in range(N_FORMANTS):
            out[f"f{k + 1}_{p}"] = interpolate(track.fractions, track.hz[:, k], p / 100)
    return out


def interpolate(fractions: np.ndarray, values: np.ndarray, at: float) -> float:
    """Linear interpolation between the two frames around ``at`` (NaN if either is missing)."""
    i = int(np.clip(np.searchsorted(fractions, at), 1, len(fractions) - 1))
    lo, hi = fractions[i - 1], fractions[i]
    w = 0.0 if hi == lo else (at - lo) / (hi - lo)
    return float((1 - w) * values[i - 1] + w * values[i])


def intensity_db(samples: np.ndarray) -> float:
    """Mean energy in dB re 2e-5 (Praat's ``Get intensity (dB)`` of these samples); NaN when silent or empty."""
    x = np.asarray(samples, dtype=float).reshape(-1)
    power = float(np.dot(x, x)) / x.size if x.size else 0.0
    return 10 * math.log10(power / P_REF**2) if power > 0 else math.nan


def empty_columns(settings: MeasureSettings) -> dict[str, float]:
    """The track-derived columns, all NaN (consonants, or a token without a ceiling)."""
    cols = dct_columns(settings.dct_order) if settings.track_step > 0 else []
    return dict.fromkeys(cols + point_columns(extra_points(settings)), math.nan)
