"""Per-token band metrics: where a CAM's mass sits in Hz, against the token's formants and reference formants.

For one map ``[F, T]`` on the model's input grid and the token's own frames ``[frame_start, frame_end)``:

- **profile**: the map summed over the token's frames, negative values clipped to 0 first. The clip is the
  ReLU that ends Grad-CAM, Grad-CAM++, HiResCAM, LayerCAM and Score-CAM; for the original CAM (no ReLU in its
  definition) it is our choice: mass = positive evidence for the class. ``neg_share`` reports how much negative
  mass was clipped, so nothing disappears silently.
- **bands** around F1, F2, F3 at 50 % of the token: ``centre +- halfwidth`` with ``halfwidth`` a fixed
  ``band_halfwidth_hz``, or (when that is 0) half the measured bandwidth ``b_k/2`` but at least
  ``band_min_halfwidth_hz``; and in either case never narrower than the CAM layer's measured point spread
  (``point_spread_hz``, see :mod:`vowelcam.explain.maps.resolution`): a band narrower than what one map cell can
  resolve would claim a precision the map does not have. ``mass_fk`` = the band's share of the profile's mass;
  ``enrich_fk`` = ``mass_fk`` / the band's share of the frequency axis (rows in band / all rows): 1 = no
  preference, > 1 = more mass than a band of that width gets on average.
- **overlapping bands**: when the bands of two formants of the same token overlap (F1 and F2 of a back vowel, F2
  and F3 of a front vowel, once the bands are as wide as the point spread), the map cannot tell which of the two
  formants its mass belongs to: both readings are left empty (``mass_fk``/``enrich_fk`` NaN, ``bandk_overlap`` 1)
  for the map and for every control read on the same bands, instead of crediting one formant with its
  neighbour's mass. Agreement means count only tokens with a value (the ``_n`` columns).
- **peaks**: the profile's maximum (``peak1``) plus up to two further local maxima with a prominence of at least
  10 % of the maximum, located by parabolic interpolation through the peak sample and its neighbours one map
  sample away (``sample_step_rows`` input rows: the layer's row stride, since between layer rows the upsampled
  map is a straight line and its maxima sit on layer rows), so a peak between two 125 Hz rows is reported between
  them instead of snapped to one; each with its nearest formant, the distance in Hz, and whether it lies inside that
  formant's band (``peak1_on_formant`` is the "top peak falls on a formant" flag).
- **high-frequency shares**: mass above the F3 band's upper edge (``hf_share_above_f3``) and above 4 kHz
  (``hf_share_above_4k``, empty when the model's axis stops at 4 kHz).

Each row also carries the CAM layer's measured point spread (``point_spread_hz``, ``point_spread_ms``).

Every formant metric exists twice: against the token's measured formants (no suffix) and against the reference
means of its vowel and speaker group (suffix ``_ref``; reference bands use the same half-widths). Missing
formants leave their metrics empty (NaN) and the rest is still computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import find_peaks

FORMANTS = ("f1", "f2", "f3")
N_PEAKS = 3
PEAK_PROMINENCE = 0.10  # of the profile maximum
HF_EDGE_HZ = 4000.0


@dataclass(frozen=True)
class BandSpec:
    """How wide the formant bands are, and the map's resolution (see the module docstring)."""

    halfwidth_hz: float = 0.0  # 0 = half the measured bandwidth
    min_halfwidth_hz: float = 50.0
    point_spread_hz: float = float("nan")  # measured point spread of the CAM layer (central-50 % width)
    point_spread_ms: float = float("nan")
    sample_step_rows: int = 1  # input rows between the map's own (layer-grid) samples

    def halfwidth(self, bandwidth: float) -> float:
        """Half-width in Hz for a formant of measured ``bandwidth`` (NaN when unknown), never below half the
        point spread."""
        if self.halfwidth_hz > 0:
            half = self.halfwidth_hz
        else:
            half = max(bandwidth / 2 if np.isfinite(bandwidth) else 0.0, self.min_halfwidth_hz)
        return max(half, self.point_spread_hz / 2) if np.isfinite(self.point_spread_hz) else half

    def describe(self) -> str:
        """One line for meta.json and reports."""
        text = (
            f"+-{self.halfwidth_hz:g} Hz around each formant"
            if self.halfwidth_hz > 0
            else f"+- half the measured bandwidth, at least {self.min_halfwidth_hz:g} Hz"
        )
        if np.isfinite(self.point_spread_hz):
            text += f", and at least half the layer's measured point spread ({self.point_spread_hz / 2:.0f} Hz)"
        return text


def frequency_profile(cam: np.ndarray, frame_start: int, frame_end: int) -> tuple[np.ndarray, float]:
    """The clipped profile ``[F]`` over frames ``[frame_start, frame_end)`` and the share of mass clipped."""
    part = np.asarray(cam, dtype=np.float64)[:, max(0, frame_start) : max(frame_start + 1, frame_end)]
    positive = np.clip(part, 0, None)
    negative = float(np.abs(np.clip(part, None, 0).sum()))  # abs: never -0.0 in the CSV
    total = positive.sum() + negative
    return positive.sum(axis=1), float(negative / total) if total > 0 else float("nan")


def formant_bands(centres: Sequence[float], halfwidths: Sequence[float]) -> list[tuple[float, float] | None]:
    """``(lo, hi)`` Hz per formant, None where the centre is missing."""
    return [(c - h, c + h) if np.isfinite(c) and c > 0 else None for c, h in zip(centres, halfwidths)]


def overlapping_bands(bands: Sequence[tuple[float, float] | None]) -> list[bool]:
    """Per band: whether it overlaps another of the token's bands (so its mass cannot be told apart)."""
    out = []
    for i, band in enumerate(bands):
        others = [b for j, b in enumerate(bands) if j != i and b is not None]
        out.append(band is not None and any(band[0] < b[1] and b[0] < band[1] for b in others))
    return out


def band_metrics(
    profile: np.ndarray, freqs: np.ndarray, bands: Sequence[tuple[float, float] | None], suffix: str = ""
) -> dict[str, float]:
    """Mass share, enrichment and high-frequency shares of ``profile`` for F1..F3 ``bands``; empty (NaN) for a
    band that overlaps another (see the module docstring)."""
    total = profile.sum()
    out: dict[str, float] = {}
    for name, band, overlaps in zip(FORMANTS, bands, overlapping_bands(bands)):
        mass, enrich = float("nan"), float("nan")
        if band is not None and total > 0 and not overlaps:
            rows = (freqs >= band[0]) & (freqs <= band[1])
            if rows.any() and band[1] <= freqs[-1] + 1e-9:
                mass = float(profile[rows].sum() / total)
                enrich = mass / (rows.sum() / len(freqs))
        out[f"mass_{name}{suffix}"], out[f"enrich_{name}{suffix}"] = mass, enrich
    f3 = bands[2] if len(bands) > 2 else None
    out[f"hf_share_above_f3{suffix}"] = (
        float(profile[freqs > f3[1]].sum() / total) if f3 is not None and total > 0 else float("nan")
    )
    return out


def refine_peak(profile: np.ndarray, i: int, step: int = 1) -> float:
    """Fractional row of the peak at row ``i``: the vertex of the parabola through rows ``i - step``, ``i``,
    ``i + step`` (``i`` itself at the axis edges or where the three samples are not concave)."""
    if step < 1 or i - step < 0 or i + step >= len(profile):
        return float(i)
    a, b, c = (float(profile[j]) for j in (i - step, i, i + step))
    denom = a - 2 * b + c
    if denom >= 0 or b < max(a, c):
        return float(i)
    return i + step * float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def profile_peaks(profile: np.ndarray, freqs: np.ndarray, step: int = 1) -> list[tuple[float, float]]:
    """Up to :data:`N_PEAKS` ``(Hz, share of mass at the peak row)``: the maximum first, then by prominence;
    Hz interpolated (:func:`refine_peak`) on samples ``step`` rows apart."""
    total = profile.sum()
    if total <= 0:
        return []
    top = int(np.argmax(profile))
    idx, props = find_peaks(profile, prominence=PEAK_PROMINENCE * profile[top])
    order = [int(i) for i in idx[np.argsort(-props["prominences"])] if i != top]
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 0.0
    return [
        (float(freqs[0] + refine_peak(profile, i, step) * df), float(profile[i] / total))
        for i in [top, *order][:N_PEAKS]
    ]


def peak_metrics(
    peaks: list[tuple[float, float]],
    centres: Sequence[float],
    bands: Sequence[tuple[float, float] | None],
    suffix: str = "",
) -> dict[str, Any]:
    """Nearest formant, distance and on-formant flag for each peak."""
    out: dict[str, Any] = {}
    known = [(name.upper(), c, b) for name, c, b in zip(FORMANTS, centres, bands) if b is not None]
    for i in range(N_PEAKS):
        nearest, dist, on = "", float("nan"), float("nan")
        if i < len(peaks) and known:
            hz = peaks[i][0]
            nearest, centre, band = min(known, key=lambda k: abs(hz - k[1]))
            dist, on = hz - centre, float(band[0] <= hz <= band[1])
        out[f"peak{i + 1}_nearest{suffix}"] = nearest
        out[f"peak{i + 1}_dist_hz{suffix}"] = dist
        out[f"peak{i + 1}_on_formant{suffix}"] = on
    return out


def token_band_row(
    cam: np.ndarray, freqs: np.ndarray, token: Mapping[str, Any], spec: BandSpec, reference: Mapping[str, float] | None
) -> dict[str, Any]:
    """All band metrics of one token's map (columns: :data:`BAND_METRIC_COLUMNS`)."""
    profile, neg_share = frequency_profile(cam, int(token["frame_start"]), int(token["frame_end"]))
    measured = [float(token.get(f"{f}_50", np.nan)) for f in FORMANTS]
    halfwidths = [spec.halfwidth(float(token.get(f"b{k}_50", np.nan))) for k in (1, 2, 3)]
    ref = [float(reference.get(f"{f}_mean", np.nan)) if reference else np.nan for f in FORMANTS]
    bands, ref_bands = formant_bands(measured, halfwidths), formant_bands(ref, halfwidths)
    peaks = profile_peaks(profile, freqs, spec.sample_step_rows)
    total = profile.sum()
    row: dict[str, Any] = {
        "point_spread_hz": spec.point_spread_hz,
        "point_spread_ms": spec.point_spread_ms,
        "n_frames_used": max(1, int(token["frame_end"]) - int(token["frame_start"])),
        "mass_total": float(total),
        "neg_share": neg_share,
        "n_formants_measured": sum(b is not None for b in bands),
        "has_reference": int(reference is not None),
        "hf_share_above_4k": (
            float(profile[freqs > HF_EDGE_HZ].sum() / total) if freqs[-1] > HF_EDGE_HZ and total > 0 else float("nan")
        ),
    }
    for k, (c, b, rc, rb) in enumerate(zip(measured, bands, ref, ref_bands), start=1):
        row[f"f{k}_hz"], row[f"f{k}_ref_hz"] = c if b else float("nan"), rc if rb else float("nan")
        row[f"band{k}_lo_hz"], row[f"band{k}_hi_hz"] = b if b else (float("nan"),) * 2
    for k, (b, overlaps) in enumerate(zip(bands, overlapping_bands(bands)), start=1):
        row[f"band{k}_overlap"] = int(overlaps) if b else float("nan")
    row.update(band_metrics(profile, freqs, bands))
    row.update(band_metrics(profile, freqs, ref_bands, "_ref"))
    for i in range(N_PEAKS):
        row[f"peak{i + 1}_hz"] = peaks[i][0] if i < len(peaks) else float("nan")
        row[f"peak{i + 1}_share"] = peaks[i][1] if i < len(peaks) else float("nan")
    row.update(peak_metrics(peaks, measured, bands))
    row.update(peak_metrics(peaks, ref, ref_bands, "_ref"))
    return row


def _metric_columns() -> list[str]:
    cols = [
        "point_spread_hz",
        "point_spread_ms",
        "n_frames_used",
        "mass_total",
        "neg_share",
        "n_formants_measured",
        "has_reference",
    ]
    for k in (1, 2, 3):
        cols += [f"f{k}_hz", f"band{k}_lo_hz", f"band{k}_hi_hz", f"band{k}_overlap", f"f{k}_ref_hz"]
    for suffix in ("", "_ref"):
        cols += [f"{m}_{f}{suffix}" for f in FORMANTS for m in ("mass", "enrich")]
        cols.append(f"hf_share_above_f3{suffix}")
    cols.append("hf_share_above_4k")
    for i in range(1, N_PEAKS + 1):
        cols += [f"peak{i}_hz", f"peak{i}_share"]
        for suffix in ("", "_ref"):
            cols += [f"peak{i}_nearest{suffix}", f"peak{i}_dist_hz{suffix}", f"peak{i}_on_formant{suffix}"]
    return cols


BAND_METRIC_COLUMNS = _metric_columns()


GROUP_ALIASES = {
    "m": "men",
    "man": "men",
    "male": "men",
    "w": "women",
    "woman": "women",
    "f": "women",
    "female": "women",
    "c": "children",
    "child": "children",
    "b": "children",
    "g": "children",
}


def reference_for(
    table: Mapping[tuple[str, str], Mapping[str, float]], vowel: str, group: str
) -> Mapping[str, float] | None:
    """The reference means of ``vowel`` for a speaker ``group`` (aliases m/w/c... accepted), None if absent."""
    group = (group or "").strip().lower()
    return table.get((vowel.upper(), GROUP_ALIASES.get(group, group)))
