"""Vocal-tract-length warp of a token's spectral envelope (test ``vtl_warp`` in ``faithfulness.csv``).

A longer or shorter vocal tract scales every formant by one factor; it does not shift them by a fixed number of
Hz (Rothmann's objection to a linear frequency shift). Each frame's dB spectrum is split into a cepstrally
smoothed envelope (DCT along frequency, components with a period of at least ``ENVELOPE_RESOLUTION_HZ`` kept)
and the rest (harmonics, noise); only the envelope's frequency axis is scaled, ``E'(f) = E(f / factor)``
(linear interpolation, the top row held beyond the axis), and the rest is added back, so F0 and its harmonics
stay where they were. The same warp by resynthesis of real audio is in :mod:`vowelcam.explain.evidence.causal`.

Rows, condition ``x<factor>``: ``accuracy``, ``changed_share`` (prediction differs from the unwarped one),
``prob_true_change``; ``map_scale``: the factor ``s`` (searched from 0.8 to 1.25) for which the unwarped token's
CAM profile stretched by ``s`` best correlates with the warped token's profile; ``map_follow`` =
``log(map_scale) / log(factor)`` (1 = the map moved with the formants, 0 = it stayed) and ``energy_follow``, the
same for the model-free energy profile (what "following" looks like for a map that is only the spectrum).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.fft import dct, idct

from .common import FaithInputs, FaithSpec, energy_profiles, interval_profiles, layer_maps, predict, stat_row

ENVELOPE_RESOLUTION_HZ = 400.0
SCALES = np.geomspace(0.8, 1.25, 91)


def envelope_split(
    specs: np.ndarray, hz_per_row: float, resolution_hz: float = ENVELOPE_RESOLUTION_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """``(envelope, rest)`` of ``[N, F, T]`` dB spectrograms, ``envelope + rest == specs``."""
    n_rows = specs.shape[1]
    keep = max(2, int(np.ceil(2 * n_rows * hz_per_row / resolution_hz)))
    coef = dct(specs.astype(np.float64), type=2, axis=1, norm="ortho")
    coef[:, keep:] = 0.0
    envelope = idct(coef, type=2, axis=1, norm="ortho")
    return envelope, specs - envelope


def stretch_rows(values: np.ndarray, factor: float, axis: int = 1) -> np.ndarray:
    """``out[r] = values[r / factor]`` along ``axis`` (row 0 at 0 Hz or any evenly spaced start), linear, edges held."""
    n = values.shape[axis]
    src = np.clip(np.arange(n) / factor, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (src - lo).reshape([-1 if a == axis else 1 for a in range(values.ndim)])
    return np.take(values, lo, axis=axis) * (1 - frac) + np.take(values, hi, axis=axis) * frac


def warp_envelope(specs: np.ndarray, factor: float, hz_per_row: float, first_hz: float = 0.0) -> np.ndarray:
    """Spectrograms whose envelope is scaled by ``factor`` in frequency, the rest kept (see the module docstring).
    ``first_hz`` is the frequency of row 0 (scaling is about 0 Hz)."""
    envelope, rest = envelope_split(specs, hz_per_row)
    offset = int(round(first_hz / hz_per_row)) if hz_per_row else 0
    padded = np.concatenate([np.repeat(envelope[:, :1], offset, axis=1), envelope], axis=1) if offset else envelope
    warped = stretch_rows(padded, factor)[:, offset:]
    return (warped + rest).astype(np.float32)


def profile_scale(base: np.ndarray, moved: np.ndarray, scales: np.ndarray = SCALES) -> np.ndarray:
    """Per token, the scale ``s`` for which ``base`` stretched by ``s`` correlates best with ``moved`` (NaN for flat
    profiles)."""

    def centred(x: np.ndarray) -> np.ndarray:
        x = x - x.mean(axis=1, keepdims=True)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    target = centred(moved)
    scores = np.stack([(centred(stretch_rows(base, s)) * target).sum(axis=1) for s in scales], axis=1)
    flat = (np.ptp(base, axis=1) <= 0) | (np.ptp(moved, axis=1) <= 0)
    return np.where(flat, np.nan, scales[np.argmax(scores, axis=1)])


def vtl_warp(
    inp: FaithInputs, base_probs: np.ndarray, base_profiles: np.ndarray, spec: FaithSpec
) -> list[dict[str, Any]]:
    """Prediction and map changes when the envelope is scaled by each of ``spec.warp_factors``."""
    idx, true = np.arange(len(inp.specs)), inp.true_idx
    df, first_hz = inp.grid.input_hz_per_row, float(inp.grid.input_freqs[0])
    base_energy = energy_profiles(inp.specs, inp.frames, spec.noise_percentile)
    rows: list[dict[str, Any]] = []
    for factor in spec.warp_factors:
        warped = warp_envelope(inp.specs, factor, df, first_hz)
        probs = predict(inp, warped, spec)
        profiles = interval_profiles(layer_maps(inp, warped, spec), inp)
        scale = profile_scale(base_profiles, profiles)
        energy_scale = profile_scale(base_energy, energy_profiles(warped, inp.frames, spec.noise_percentile))

        def row(metric: str, values: np.ndarray, factor=factor) -> dict[str, Any]:
            return stat_row("vtl_warp", f"x{factor:g}", metric, values, inp.clusters, inp.unit, spec)

        rows += [
            row("accuracy", (probs.argmax(1) == true).astype(float)),
            row("changed_share", (probs.argmax(1) != base_probs.argmax(1)).astype(float)),
            row("prob_true_change", probs[idx, true] - base_probs[idx, true]),
            row("map_scale", scale),
            row("map_follow", np.log(scale) / np.log(factor)),
            row("energy_follow", np.log(energy_scale) / np.log(factor)),
        ]
    return rows
