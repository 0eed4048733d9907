"""Every Praat (parselmouth) measurement of vowelcam: F0, F1–F3 tracks, bandwidths, formant ceiling choice.

One public entry point, :func:`measure_token`, measures one token from a stretch of audio around it and returns
the values of :data:`vowelcam.tokens.MEASURE_COLUMNS`.

How the formant ceiling is chosen (after Fast Track, Barreda 2021, made cheap enough for corpus use):

1. Only the token is analysed: Burg LPC frames sit at fixed *fractions* of the token (by default every 10 %
   from 10 % to 90 %), so a long and a short vowel cost the same and 20/50/80 % fall on frames.
2. For each candidate ceiling (5 within +-18 % of the speaker group's centre, or of a speaker's own ceiling;
   12 within +-30 % when the group is unknown) the span is resampled to twice the ceiling by truncating one FFT
   spectrum shared by all candidates, and Praat's Burg analysis (5.5 formants) runs with the ceiling at the new
   Nyquist frequency. A ceiling above the recording's band is analysed up to the band with proportionally fewer
   formants (same formant spacing), and only the formants the band holds are judged and reported
   (:mod:`vowelcam.acoustics.band`).
3. Each candidate's log F1–F3 tracks are fitted by a 5-term DCT; the candidate with the smallest residual
   (the smoothest tracks) plus a small penalty for straying from the group's centre wins, after sanity priors
   that rule out impossible tracks (median F1 above 1200 Hz, a low F3 with F1 and F2 merged, B2/B3 so wide
   that a spurious pole must have taken a formant's place, missing frames).
4. F1, which barely depends on the ceiling near the right one but jitters from fit to fit, is the median over
   the winner and its two neighbouring ceilings on each side; F2, F3 and the bandwidths are the winner's.

On Hillenbrand et al. (1995) this beats both one-ceiling Burg and Fast Track against the hand-edited formants,
for about the CPU time of one plain Burg call over the token, F0 included (bench/bench_formants.py,
bench/results/formants.json).

Measurement problems (silence, unvoiced audio, a token too short to analyse, Praat refusing the input) never
raise: the affected values are NaN and the caller records the problem. Only programming errors (bad argument
types, ``end < start``) raise ``ValueError``.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache

import numpy as np
import parselmouth
from scipy.fft import dct, irfft, next_fast_len, rfft

from ..config import MeasureSettings
from ..tokens import FORMANT_COLUMNS, MEASURE_COLUMNS, normalise_group
from .band import TRACKED_FORMANTS, analysis_for, band_edge, formants_held

log = logging.getLogger(__name__)

_SILENCE_RMS = 1e-6  # below this the span is treated as silence (about -120 dBFS)


def measure_token(
    samples: np.ndarray,
    sr: int,
    start: float,
    end: float,
    group: str | None,
    settings: MeasureSettings,
    f0: float | None = None,
    ceiling: float | None = None,
) -> dict[str, float]:
    """Measure F0, F1–F3 at 20/50/80 %, bandwidths at 50 % and the chosen ceiling of one token.

    ``samples`` is mono audio (-1..1) containing the token, ideally with some margin on each side;
    ``start``/``end`` are the token's bounds in seconds relative to the first sample; ``group`` is the
    speaker group (``"men"``, ``"women"``, ``"children"``; ``None``/``""`` when unknown). Returns a dict with
    exactly the keys of :data:`~vowelcam.tokens.MEASURE_COLUMNS`; values that cannot be measured are NaN.
    ``f0``, when given, is the token's :func:`median_f0` already measured with the same settings (it is reused).
    ``ceiling``, when given, replaces the group's central ceiling (a per-speaker override).
    Formants the recording's band cannot hold (see :mod:`vowelcam.acoustics.band`) are NaN.
    """
    if end < start:
        raise ValueError(f"token ends before it starts ({start} > {end})")
    result = dict.fromkeys(MEASURE_COLUMNS, math.nan)
    result.update(sample_rate=float(sr), band_hz=band_edge(sr, settings))
    audio = as_mono_float(samples)
    if end - start <= 0 or audio.size == 0 or not _audible(audio, sr, start, end):
        return result
    result["f0"] = _safe_median_f0(audio, sr, start, end, settings) if f0 is None else float(f0)
    try:
        result.update(measure_formants(audio, sr, start, end, group, settings, ceiling))
    except parselmouth.PraatError as exc:  # Praat refusing odd input must not stop a corpus run
        log.debug("Praat could not measure formants of token %.3f-%.3f s: %s", start, end, exc)
    return result


def as_mono_float(samples: np.ndarray) -> np.ndarray:
    """Finite float64 1-D samples (channels averaged, NaN/inf replaced); the input itself when already so."""
    audio = np.asarray(samples, dtype=np.float64)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    audio = audio.reshape(-1)
    if np.isfinite(audio.sum()):  # one pass; the common case needs no replacement
        return audio
    return np.nan_to_num(audio, nan=0.0, posinf=1.0, neginf=-1.0)


def _audible(audio: np.ndarray, sr: int, start: float, end: float) -> bool:
    """Whether the token's own span holds more than digital silence."""
    part = audio[max(0, int(start * sr)) : max(int(start * sr) + 1, int(math.ceil(end * sr)))]
    return part.size > 0 and math.sqrt(float(np.dot(part, part)) / part.size) > _SILENCE_RMS


def _excerpt(audio: np.ndarray, sr: int, t0: float, t1: float) -> tuple[np.ndarray, float]:
    """Samples from ``t0`` to ``t1`` s, zero-padded where the span leaves the audio; returns (samples, true t0)."""
    i0 = int(math.floor(t0 * sr))
    i1 = int(math.ceil(t1 * sr))
    out = np.zeros(max(i1 - i0, 1))
    a, b = max(i0, 0), min(i1, audio.size)
    if b > a:
        out[a - i0 : b - i0] = audio[a:b]
    return out, i0 / sr


# ---------------------------------------------------------------------------------------------------- F0


def median_f0(samples: np.ndarray, sr: int, start: float, end: float, settings: MeasureSettings) -> float:
    """Median F0 (Hz) of the voiced frames in the middle 60 % of the token; NaN when none is voiced.

    Same conventions as :func:`measure_token` (times relative to the first sample); never raises for
    silent, unvoiced, clipped or very short input.
    """
    audio = as_mono_float(samples)
    if end <= start or audio.size == 0 or not _audible(audio, sr, start, end):
        return math.nan
    return _safe_median_f0(audio, sr, start, end, settings)


def _safe_median_f0(audio: np.ndarray, sr: int, start: float, end: float, settings: MeasureSettings) -> float:
    try:
        return _median_f0(audio, sr, start, end, settings)
    except parselmouth.PraatError as exc:  # Praat refusing odd input must not stop a corpus run
        log.debug("Praat could not measure F0 of token %.3f-%.3f s: %s", start, end, exc)
        return math.nan


def _median_f0(audio: np.ndarray, sr: int, start: float, end: float, settings: MeasureSettings) -> float:
    duration = end - start
    mid0, mid1 = start + 0.2 * duration, start + 0.8 * duration
    half_window = 1.5 / settings.pitch_floor  # Praat's AC window is 3 periods of the pitch floor
    part, t0 = _excerpt(audio, sr, mid0 - half_window, mid1 + half_window)
    step = max((mid1 - mid0) / max(settings.f0_frames - 1, 1), 1.0 / sr)
    pitch = parselmouth.Sound(part, sampling_frequency=sr, start_time=t0).to_pitch_ac(
        time_step=step, pitch_floor=settings.pitch_floor, pitch_ceiling=settings.pitch_ceiling
    )
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else math.nan


# ---------------------------------------------------------------------------------------------- formants


def candidate_ceilings(group: str | None, settings: MeasureSettings, centre: float | None = None) -> np.ndarray:
    """The formant ceilings (Hz) tried for a token of ``group`` (one when the search is off).

    ``centre`` overrides the group's central ceiling (a per-speaker ceiling); the search then spans the
    known-group range around it.
    """
    key = normalise_group(group or "")
    if centre is not None and centre == centre:
        return _candidate_ceilings(key or "given", settings, float(centre)).copy()
    return _candidate_ceilings(key, settings, group_ceiling(key, settings)).copy()


@lru_cache(maxsize=64)
def _candidate_ceilings(group: str, settings: MeasureSettings, centre: float) -> np.ndarray:
    if not settings.ceiling_search:
        return np.array([centre])
    span = settings.ceiling_span if group else settings.ceiling_span_unknown
    steps = settings.ceiling_steps if group else settings.ceiling_steps_unknown
    if steps <= 1:
        return np.array([centre])
    return np.round(centre * np.geomspace(1.0 - span, 1.0 + span, steps) / 50.0) * 50.0


def group_ceiling(group: str | None, settings: MeasureSettings) -> float:
    """The central formant ceiling (Hz) of a speaker group (any spelling ``normalise_group`` knows)."""
    table = {"men": settings.ceiling_men, "women": settings.ceiling_women, "children": settings.ceiling_children}
    return table.get(normalise_group(group or ""), settings.ceiling_unknown)


def measure_formants(
    audio: np.ndarray,
    sr: int,
    start: float,
    end: float,
    group: str | None,
    settings: MeasureSettings,
    ceiling: float | None = None,
) -> dict[str, float]:
    """F1–F3 at 20/50/80 %, B1–B3 at 50 %, the ceiling and formant count, from the best candidate ceiling.

    Each candidate ceiling becomes the analysis its band allows (:func:`~vowelcam.acoustics.band.analysis_for`);
    only the formants the band holds for the speaker's central ceiling are judged and reported (others NaN).
    A candidate's score is (number of violated sanity priors, roughness + ceiling prior); the lowest wins.
    F1 hardly depends on the ceiling near the right one, but each LPC fit jitters it (harmonics pull it), so
    F1 is the median over the winner and its ``f1_pool`` neighbours on each side.
    ``audio`` must be finite float64 mono (as :func:`measure_token` prepares it); Praat may raise
    ``parselmouth.PraatError`` on input it refuses, which :func:`measure_token` turns into NaNs.
    """
    centre = float(ceiling) if ceiling is not None and ceiling == ceiling else group_ceiling(group, settings)
    held = formants_held(centre, sr, settings)
    if held == 0:
        return {}
    fractions = np.linspace(settings.track_from, 1.0 - settings.track_from, max(settings.track_frames, 1))
    times = start + fractions * (end - start)
    span = _AnalysisSpan(audio, sr, times, settings)
    analyses = [analysis_for(c, sr, settings) for c in candidate_ceilings(group, settings, ceiling)]
    used = np.empty(len(analyses))  # the ceiling each candidate really stood for (fast FFT lengths)
    freqs = np.full((len(analyses), len(times), TRACKED_FORMANTS), np.nan)  # [candidate, frame, F1-F3]
    bands = np.full_like(freqs, np.nan)
    for i, analysis in enumerate(analyses):
        formant, top = span.burg(analysis.top, analysis.formants, settings)
        used[i] = top * analysis.ceiling / analysis.top
        freqs[i, :, :held], bands[i, :, :held] = formant_values(formant, times, held)
    roughness = track_errors(freqs[..., :held], settings) + settings.ceiling_prior * np.log(used / centre) ** 2
    best = int(np.lexsort((roughness, implausible_counts(freqs, bands, settings, held)))[0])  # ties: lowest ceiling
    chosen = freqs[best].copy()
    pool = freqs[max(best - settings.f1_pool, 0) : best + settings.f1_pool + 1, :, 0]
    chosen[:, 0] = finite_medians(pool, axis=0)
    return {**_report(fractions, chosen, bands[best], used[best]), "formants": analyses[best].formants}


class _AnalysisSpan:
    """The stretch of audio that Burg frames centred on ``times`` need, ready to be band-limited to any ceiling.

    Resampling to ``2 * ceiling`` is done here by truncating one spectrum (an ideal low-pass, as Praat's own
    resampler does, but computed once for all ceilings), so Praat's Burg runs without resampling.
    """

    def __init__(self, audio: np.ndarray, sr: int, times: np.ndarray, settings: MeasureSettings) -> None:
        self.step = float(times[1] - times[0]) if times.size > 1 else 0.001
        half = settings.window_length  # Praat's Gaussian window spans twice the "window length"
        part, self.t0 = _excerpt(audio, sr, times[0] - half - 0.25 * self.step, times[-1] + half + 0.25 * self.step)
        self.sr = sr
        self.n = part.size
        self.n_fft = next_fast_len(part.size, real=True)
        self.spectrum = rfft(part, self.n_fft)

    def burg(self, ceiling: float, formants: float, settings: MeasureSettings) -> tuple[parselmouth.Formant, float]:
        """Praat's Burg analysis (``formants`` formants) of the span band-limited and resampled to ``2 * ceiling``.

        Returns the Formant object and the ceiling actually used: the new length is a fast FFT size, so it may
        differ from the one asked for by a fraction of a percent.
        """
        n_out = next_fast_len(max(int(round(self.n_fft * 2 * ceiling / self.sr)), 2), real=True)
        rate = n_out * self.sr / self.n_fft
        resampled = irfft(self.spectrum[: n_out // 2 + 1], n_out) * (n_out / self.n_fft)
        resampled = resampled[: int(round(self.n * n_out / self.n_fft))]
        sound = parselmouth.Sound(resampled, sampling_frequency=rate, start_time=self.t0)
        formant = sound.to_formant_burg(
            time_step=self.step,
            max_number_of_formants=formants,
            maximum_formant=rate / 2,
            window_length=settings.window_length,
            pre_emphasis_from=settings.pre_emphasis_from,
        )
        return formant, rate / 2


def formant_values(
    formant: parselmouth.Formant, times: np.ndarray, count: int = TRACKED_FORMANTS
) -> tuple[np.ndarray, np.ndarray]:
    """F1..F``count`` frequencies and bandwidths, each ``[len(times), count]`` in Hz (NaN where Praat found none)."""
    xs = formant.xs()
    frame_times = np.clip(times, xs[0], xs[-1]).tolist()
    at = [t for t in frame_times for _ in range(count)]  # frame-major, formant-minor
    numbers = list(range(1, count + 1)) * len(frame_times)
    shape = (len(frame_times), count)
    freqs = np.fromiter(map(formant.get_value_at_time, numbers, at), float, len(at)).reshape(shape)
    bands = np.fromiter(map(formant.get_bandwidth_at_time, numbers, at), float, len(at)).reshape(shape)
    return freqs, bands


@lru_cache(maxsize=32)
def _dct_residual_maker(n_frames: int, order: int) -> np.ndarray:
    """``I - P``: the projection onto what a DCT of ``order`` terms cannot fit, for ``n_frames`` samples."""
    basis = dct(np.eye(n_frames), type=2, norm="ortho")[:, :order]  # [frames, order]: cosine shapes
    return np.eye(n_frames) - basis @ np.linalg.pinv(basis)


def track_errors(freqs: np.ndarray, settings: MeasureSettings) -> np.ndarray:
    """How un-smooth each candidate's log F1–F3 tracks are: the summed mean squared DCT residual.

    ``freqs`` is ``[candidates, frames, formants]``; returns ``[candidates]``. Missing frames are filled with
    the track's median and cost ``missing_penalty`` per missing fraction.
    """
    logf = np.log(freqs)
    finite = np.isfinite(logf)
    n_frames = freqs.shape[1]
    missing = 1.0 - finite.sum(axis=(1, 2)) / finite[0].size
    if missing.any():
        logf = np.where(finite, logf, np.nan_to_num(finite_medians(logf, axis=1))[:, None, :])
    residual = _dct_residual_maker(n_frames, min(settings.smooth_order, n_frames)) @ logf
    return np.square(residual).sum(axis=(1, 2)) / n_frames + settings.missing_penalty * missing


def finite_medians(values: np.ndarray, axis: int) -> np.ndarray:
    """Median of the finite values along ``axis`` (NaN where there is none); cheap for small arrays."""
    ordered = np.sort(values, axis=axis)  # NaN sorts last
    finite = np.isfinite(values)
    if finite.all():  # the common case, without fancy indexing
        n = values.shape[axis]
        return 0.5 * (np.take(ordered, (n - 1) // 2, axis=axis) + np.take(ordered, n // 2, axis=axis))
    count = finite.sum(axis=axis, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0), axis=axis)
    high = np.take_along_axis(ordered, np.maximum(count // 2, 0), axis=axis)
    return np.squeeze(np.where(count > 0, (low + high) / 2, np.nan), axis=axis)


def implausible_counts(
    freqs: np.ndarray, bands: np.ndarray, settings: MeasureSettings, held: int = TRACKED_FORMANTS
) -> np.ndarray:
    """Violated sanity priors per candidate, on the median F1–F3 and B2–B3 (after Fast Track's heuristics).

    ``freqs``/``bands`` are ``[candidates, frames, 3]``; fewer is better. Very wide B2/B3 mean a spurious
    pole took a real formant's place (ceiling too low); too many missing frames count as 4. Only the first
    ``held`` formants count (the others are NaN because the band cannot hold them, and NaN violates nothing).
    """
    missing = 1.0 - np.isfinite(freqs[..., :held]).sum(axis=(1, 2)) / freqs[0, :, :held].size
    f1, f2, f3 = finite_medians(freqs, axis=1).T
    _, b2, b3 = finite_medians(bands, axis=1).T
    violations = (f1 > settings.f1_max).astype(int)
    violations += (f3 < 2000) & (f2 - f1 < 400)  # a rhotic-low F3 only with well separated F1 and F2
    violations += (b2 > settings.b2_max).astype(int) + (b3 > settings.b3_max)
    return np.where(missing > settings.max_missing, 4, violations)


def _report(fractions: np.ndarray, freqs: np.ndarray, bands: np.ndarray, ceiling: float) -> dict[str, float]:
    """The report columns from the chosen candidate: frame values at 20/50/80 %, bandwidths at 50 %."""
    out: dict[str, float] = {"ceiling": float(ceiling)}
    rows = {pct: int(np.argmin(np.abs(fractions - pct / 100))) for pct in (20, 50, 80)}
    for name in FORMANT_COLUMNS:
        k, pct = int(name[1]), int(name.split("_")[1])
        out[name] = float(freqs[rows[pct], k - 1])
    for k in range(1, 4):
        out[f"b{k}_50"] = float(bands[rows[50], k - 1])
    return out


def formant_track(
    samples: np.ndarray,
    sr: int,
    start: float,
    end: float,
    ceiling: float,
    fractions: np.ndarray,
    settings: MeasureSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """F1–F3 and B1–B3 (``[len(fractions), 3]`` Hz) at ``fractions`` of the token, at one (the chosen) ceiling.

    The same band-limiting and Burg analysis as the ceiling search (frames centred on the requested times), so a
    track measured at the ceiling :func:`measure_token` reports is that candidate's track (its F1 without the
    pooling over neighbouring ceilings). All NaN when the ceiling is unknown or Praat refuses the input.
    """
    fractions = np.asarray(fractions, dtype=float)
    shape = (len(fractions), TRACKED_FORMANTS)
    audio = as_mono_float(samples)
    if (
        not (ceiling == ceiling and ceiling > 0)
        or end <= start
        or len(fractions) < 2
        or not _audible(audio, sr, start, end)
    ):
        return np.full(shape, math.nan), np.full(shape, math.nan)
    times = start + fractions * (end - start)
    try:
        analysis = analysis_for(ceiling, sr, settings)  # band-aware, as in the ceiling search
        formant, _ = _AnalysisSpan(audio, sr, times, settings).burg(analysis.top, analysis.formants, settings)
        hz, bw = np.full(shape, math.nan), np.full(shape, math.nan)
        held = formants_held(ceiling, sr, settings)  # formants above the band stay NaN
        if held:
            hz[:, :held], bw[:, :held] = formant_values(formant, times, held)
        return hz, bw
    except parselmouth.PraatError as exc:
        log.debug("Praat could not track formants of token %.3f-%.3f s: %s", start, end, exc)
        return np.full(shape, math.nan), np.full(shape, math.nan)
