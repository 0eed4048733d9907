"""Controls for every CAM reading: two model-free "explainers" and a null, read exactly as the CAM is.

Formants are energy peaks, so "the CAM sits on F2" means nothing until a map that knows nothing about the model has
been read the same way. For each explained token, on the same tokens, the same grid and through the same
:func:`vowelcam.explain.readings.bands.token_band_row` as the CAM:

- **energy** (baseline explainer): the input the model saw, minus the token's floor (its 5th percentile over the
  whole window), clipped at 0. The model's input is the dB spectrogram under an affine normalisation, so this is
  "dB above the token's floor" in the input's units (mass shares and enrichments do not depend on the unit).
- **envelope** (baseline explainer): the same input cepstrally smoothed along frequency frame by frame (DCT-II of
  the column, coefficients with quefrency below :data:`LIFTER_MS` kept, inverse DCT), minus its own 5th
  percentile, clipped at 0: the spectral envelope without harmonics or noise.
- **null**: the token's own CAM scored against *another vowel's* formants from the *same speaker*: the measured
  F1-F3 at 50 % (and bandwidths) of one of that speaker's tokens of a different vowel, drawn at random (seeded per
  token id, so every rank and batch size draws the same). It gives the chance rate of "peak on a formant" and
  chance enrichment for this map's shape. A token whose speaker has no other measured vowel gets an empty null
  (its columns NaN, ``null_token_id`` empty) and is counted (``n_no_null`` in agreement.csv).

``bands.csv`` carries, per control ``c`` in energy/envelope/null, the columns ``c_<metric>`` for each metric in
:data:`CONTROL_METRICS`, plus ``null_token_id`` and ``null_vowel``. Every row (CAM and controls) also has
``peak1_on_f1..f3``: the top peak lies in that formant's band (0/1; empty when there is no peak or no formants).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ...rundir import as_float
from .bands import FORMANTS, BandSpec, frequency_profile, token_band_row

BASELINES = ("energy", "envelope")
CONTROLS = (*BASELINES, "null")
FLOOR_PERCENTILE = 5.0
LIFTER_MS = 2.0  # quefrency cut-off of the envelope: removes harmonics of F0 up to 500 Hz
CONTROL_METRICS = [
    "enrich_f1",
    "enrich_f2",
    "enrich_f3",
    "mass_f1",
    "mass_f2",
    "mass_f3",
    "peak1_hz",
    "peak1_nearest",
    "peak1_on_formant",
    "peak1_on_f1",
    "peak1_on_f2",
    "peak1_on_f3",
    "hf_share_above_f3",
]
PEAK_FORMANT_COLUMNS = ["peak1_on_f1", "peak1_on_f2", "peak1_on_f3"]
CONTROL_COLUMNS = [f"{c}_{m}" for c in CONTROLS for m in CONTROL_METRICS] + ["null_token_id", "null_vowel"]
_FORMANT_FIELDS = [f"{f}_50" for f in FORMANTS] + [f"b{k}_50" for k in (1, 2, 3)]


def floor_above(maps: torch.Tensor, percentile: float = FLOOR_PERCENTILE) -> torch.Tensor:
    """``[N, F, T]`` maps minus each map's ``percentile`` (over all its cells), clipped at 0."""
    flat = maps.reshape(len(maps), -1).float()
    floor = torch.quantile(flat, percentile / 100.0, dim=1)
    return (maps - floor[:, None, None].to(maps.dtype)).clamp_min(0)


def energy_maps(x: torch.Tensor) -> torch.Tensor:
    """The energy baseline of a model input ``[N, 1, F, T]`` (or ``[N, F, T]``): ``[N, F, T]`` above the floor."""
    return floor_above(x.reshape(len(x), *x.shape[-2:]))


def envelope_matrix(n_rows: int, hz_per_row: float, lifter_ms: float = LIFTER_MS) -> np.ndarray:
    """``[F, F]`` matrix that cepstrally smooths a column of ``n_rows`` dB values ``hz_per_row`` apart.

    Orthonormal DCT-II ``D``; coefficient ``k`` has quefrency ``k / (2 * F * hz_per_row)`` s; ``D.T @ L @ D`` with
    ``L`` keeping coefficients below ``lifter_ms``."""
    n = np.arange(n_rows)
    dct = np.cos(np.pi * n[:, None] * (n[None, :] + 0.5) / n_rows) * np.sqrt(2.0 / n_rows)
    dct[0] /= np.sqrt(2.0)
    quefrency_ms = 1000.0 * n / (2.0 * n_rows * hz_per_row) if hz_per_row > 0 else np.zeros(n_rows)
    keep = (quefrency_ms < lifter_ms).astype(np.float64)
    keep[0] = 1.0
    return (dct.T * keep) @ dct


def envelope_maps(x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """The envelope baseline of a model input: every frame smoothed by ``matrix``, then above its floor."""
    spec = x.reshape(len(x), *x.shape[-2:])
    smooth = torch.einsum("fg,ngt->nft", matrix.to(spec.device, spec.dtype), spec)
    return floor_above(smooth)


def baseline_maps(x: torch.Tensor, matrix: torch.Tensor) -> dict[str, np.ndarray]:
    """Both baseline explainers of a batch, as float32 arrays ``[N, F, T]`` on the CPU."""
    with torch.no_grad():
        return {
            "energy": energy_maps(x).float().cpu().numpy(),
            "envelope": envelope_maps(x, matrix).float().cpu().numpy(),
        }


def null_partners(
    chosen: Sequence[Mapping[str, Any]], all_tokens: Sequence[Mapping[str, Any]], seed: int = 0
) -> dict[str, Mapping[str, Any] | None]:
    """For each chosen token id, one token of the same speaker and another vowel with a measured formant, or None.

    The draw is seeded by ``seed`` and the token id, so it does not depend on order, batching or rank."""
    by_speaker: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for t in all_tokens:
        if t.get("kind", "vowel") == "vowel" and t.get("speaker") and _has_formant(t):
            by_speaker[str(t["speaker"])].append(t)
    out: dict[str, Mapping[str, Any] | None] = {}
    for t in chosen:
        pool = sorted(
            (o for o in by_speaker.get(str(t.get("speaker") or ""), []) if o.get("phone") != t.get("phone")),
            key=lambda o: str(o["token_id"]),
        )
        if not pool:
            out[str(t["token_id"])] = None
            continue
        rng = np.random.default_rng([seed, zlib.crc32(str(t["token_id"]).encode())])
        out[str(t["token_id"])] = pool[int(rng.integers(len(pool)))]
    return out


def _has_formant(token: Mapping[str, Any]) -> bool:
    return any(np.isfinite(as_float(token.get(f"{f}_50"))) and as_float(token.get(f"{f}_50")) > 0 for f in FORMANTS)


def peak_formant_flags(row: Mapping[str, Any]) -> dict[str, float]:
    """``peak1_on_f1..f3`` of a band row: 1 when the top peak lies in that formant's band, else 0 (NaN when the
    row has no top peak on or off a formant to speak of)."""
    on, nearest = as_float(row.get("peak1_on_formant")), str(row.get("peak1_nearest") or "")
    if not np.isfinite(on):
        return {c: float("nan") for c in PEAK_FORMANT_COLUMNS}
    return {f"peak1_on_f{k}": float(on == 1.0 and nearest == f"F{k}") for k in (1, 2, 3)}


@dataclass
class Controls:
    """What the cam pass needs to score each token's controls."""

    envelope: torch.Tensor  # [F, F] smoothing matrix
    partners: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """For ``cams/meta.json``."""
        return {
            "energy": f"model input minus the token's {FLOOR_PERCENTILE:g}th percentile, clipped at 0",
            "envelope": f"model input cepstrally smoothed per frame (quefrency < {LIFTER_MS:g} ms), minus its "
            f"{FLOOR_PERCENTILE:g}th percentile, clipped at 0",
            "null": "the CAM scored against the measured formants of a random token of another vowel from the "
            "same speaker",
            "n_no_null": sum(p is None for p in self.partners.values()),
        }


def control_row(
    cam: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    freqs: np.ndarray,
    token: Mapping[str, Any],
    partner: Mapping[str, Any] | None,
    spec: BandSpec,
) -> dict[str, Any]:
    """The control columns (:data:`CONTROL_COLUMNS`) of one token: each baseline map and the null through
    :func:`token_band_row`, on the same frames, bands and grid as the CAM."""
    out: dict[str, Any] = {}
    for name, base in baselines.items():
        out.update(_prefixed(name, token_band_row(base, freqs, token, spec, None)))
    if partner is None:
        out.update({f"null_{m}": float("nan") for m in CONTROL_METRICS})
        out["null_peak1_nearest"], out["null_token_id"], out["null_vowel"] = "", "", ""
        return out
    swapped = {**token, **{k: partner.get(k, "") for k in _FORMANT_FIELDS}}
    out.update(_prefixed("null", token_band_row(cam, freqs, swapped, spec, None)))
    out["null_token_id"], out["null_vowel"] = str(partner["token_id"]), str(partner.get("phone", ""))
    return out


def _prefixed(name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    full = {**row, **peak_formant_flags(row)}
    return {f"{name}_{m}": full[m] for m in CONTROL_METRICS}


def baseline_profiles(baselines: Mapping[str, np.ndarray], token: Mapping[str, Any], i: int) -> dict[str, np.ndarray]:
    """Each baseline's frequency profile over the token's frames (for the report's profile figure)."""
    start, end = int(token["frame_start"]), int(token["frame_end"])
    return {name: frequency_profile(maps[i], start, end)[0] for name, maps in baselines.items()}
