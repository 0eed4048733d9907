"""Band deletion that can fail: envelope in-fill, energy-matched random bands, an energy arm, several widths.

For one band width (rows ``[s, s + w)`` of the model's input, in every frame):

- **In-fill, not a constant.** The band is replaced, frame by frame, by a straight line (in dB) between the
  spectral envelope just below and just above it (the mean of ``max(2, w // 2)`` neighbouring rows on each side;
  one side only at the axis' edges), plus Gaussian noise whose SD is the neighbours' own spread around their
  mean in that frame. A peak inside the band is removed; the level, tilt and texture around it stay what the
  token had. (A constant fill, e.g. the token's 5th percentile, cuts a silent hole: a map that tracks loudness
  then "passes" because holes in loud bands hurt more.)
- **Arms.** ``top_cam_band``: the band with the most true-class CAM mass over the token's frames.
  ``top_energy_band``: the band with the highest mean dB over the token's frames ("where the energy is").
  ``random_band``: ``random_draws`` bands per token that do not overlap the top-CAM band and whose mean dB is
  within ``energy_tolerance_db`` of it (when no band is that close, the closest ones; ``matched_share`` and
  ``energy_mismatch_db`` say how well the match worked).
- **Metrics** per arm: ``accuracy``, ``prob_true``, ``prob_drop`` (original minus deleted, per token),
  ``accuracy_drop``; paired differences of ``prob_drop``: ``top_minus_random`` (the CAM band against bands of the
  same energy: the test a loudness map must fail) and ``top_minus_energy`` (what the CAM adds to the energy
  peak); ``top_cam_band``/``overlap_share``: tokens whose CAM and energy bands overlap by half a width or more.

``band_deletion`` rows are at the main width; ``deletion_curve`` rows repeat the three arms and the two paired
differences at every width of ``widths_hz`` (condition ``arm@<width>Hz``, column ``width_hz``). To bound the cost,
the curve's other widths draw ``curve_random_draws`` (default 1) random bands per token; the main width draws
``random_draws``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import FaithInputs, FaithSpec, predict, stat_row, token_frame_mask


def band_width_rows(width_hz: float, hz_per_row: float, n_rows: int) -> int:
    """Rows of a band ``width_hz`` wide (at least 1, fewer than the axis)."""
    return max(1, min(n_rows - 1, int(round(width_hz / hz_per_row))))


def band_means(specs: np.ndarray, frames: np.ndarray, width: int) -> np.ndarray:
    """``[N, F - width + 1]``: mean dB of rows ``[s, s + width)`` over each token's own frames, per start ``s``."""
    mask = token_frame_mask(frames, specs.shape[2])[:, None, :]
    rows = (specs * mask).sum(axis=2) / mask.sum(axis=2)
    csum = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(rows, axis=1)], axis=1)
    return (csum[:, width:] - csum[:, :-width]) / width


def top_band_starts(profiles: np.ndarray, width: int) -> np.ndarray:
    """First row of the ``width``-row window with the most profile mass, per token."""
    csum = np.concatenate([np.zeros((len(profiles), 1)), np.cumsum(profiles, axis=1)], axis=1)
    return np.argmax(csum[:, width:] - csum[:, :-width], axis=1)


def matched_random_starts(
    means: np.ndarray, top: np.ndarray, width: int, draws: int, tolerance_db: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random band starts ``[draws, N]`` off the ``top`` band and matched to its mean dB; per token the mean
    absolute dB mismatch of the drawn bands and whether any band was within ``tolerance_db``."""
    n, n_starts = means.shape
    starts = np.empty((draws, n), dtype=int)
    mismatch, matched = np.empty(n), np.zeros(n, dtype=bool)
    positions = np.arange(n_starts)
    for i in range(n):
        diff = np.abs(means[i] - means[i, top[i]])
        diff[np.abs(positions - top[i]) < width] = np.inf  # never the top band or a band overlapping it
        ok = np.flatnonzero(diff <= tolerance_db)
        matched[i] = len(ok) > 0
        if not matched[i]:
            ok = np.argsort(diff)[: max(1, draws)]
            ok = ok[np.isfinite(diff[ok])] if np.isfinite(diff[ok]).any() else np.array([top[i]])
        starts[:, i] = rng.choice(ok, draws, replace=len(ok) < draws)
        mismatch[i] = float(np.mean(np.minimum(diff[starts[:, i]], 1e9)))
    return starts, mismatch, matched


def infill_band(specs: np.ndarray, starts: np.ndarray, width: int, rng: np.random.Generator) -> np.ndarray:
    """A copy with rows ``[s, s + width)`` of each token in-filled from its neighbouring envelope plus matched
    noise (see the module docstring)."""
    out = np.array(specs, dtype=np.float32, copy=True)
    n_rows = specs.shape[1]
    k = max(2, width // 2)
    for i, s in enumerate(np.asarray(starts, dtype=int)):
        below, above = specs[i, max(0, s - k) : s], specs[i, s + width : min(n_rows, s + width + k)]
        sides = [part for part in (below, above) if len(part)]
        if not sides:
            continue
        resid = np.concatenate([part - part.mean(axis=0) for part in sides])
        sd = np.sqrt(np.mean(resid**2, axis=0))  # [T]
        rows = np.arange(s, s + width, dtype=np.float64)[:, None]
        if len(below) and len(above):
            at_a, at_b = s - (len(below) + 1) / 2, s + width - 1 + (len(above) + 1) / 2
            line = below.mean(0) + (rows - at_a) / (at_b - at_a) * (above.mean(0) - below.mean(0))
        else:
            line = np.broadcast_to(sides[0].mean(axis=0), (width, specs.shape[2]))
        out[i, s : s + width] = line + rng.normal(size=(width, specs.shape[2])) * sd
    return out


def deletion_arm(
    inp: FaithInputs,
    profiles: np.ndarray,
    width: int,
    spec: FaithSpec,
    rng: np.random.Generator,
    energy_arm: bool = True,
    draws: int | None = None,
) -> dict[str, np.ndarray]:
    """Per-token true-class probabilities after in-filling the top band of ``profiles`` (any map: a CAM, an energy
    map, a flat map), energy-matched random bands and (``energy_arm``) the band of maximal energy."""
    idx, true = np.arange(len(inp.specs)), inp.true_idx
    means = band_means(inp.specs, inp.frames, width)
    top = top_band_starts(profiles, width)
    draws = max(1, spec.random_draws if draws is None else draws)
    random_starts, mismatch, matched = matched_random_starts(means, top, width, draws, spec.energy_tolerance_db, rng)
    probs = predict(inp, infill_band(inp.specs, top, width, rng), spec)
    randoms = [predict(inp, infill_band(inp.specs, starts, width, rng), spec) for starts in random_starts]
    out = {
        "top": probs[idx, true],
        "acc_top": (probs.argmax(1) == true).astype(float),
        "random": np.mean([r[idx, true] for r in randoms], axis=0),
        "acc_random": np.mean([r.argmax(1) == true for r in randoms], axis=0),
        "mismatch_db": mismatch,
        "matched": matched.astype(float),
    }
    if energy_arm:
        energy_top = np.argmax(means, axis=1)
        probs = predict(inp, infill_band(inp.specs, energy_top, width, rng), spec)
        out.update(
            energy=probs[idx, true],
            acc_energy=(probs.argmax(1) == true).astype(float),
            overlap=(np.abs(energy_top - top) <= width / 2).astype(float),
        )
    return out


def band_deletion(
    inp: FaithInputs, base_probs: np.ndarray, profiles: np.ndarray, spec: FaithSpec
) -> list[dict[str, Any]]:
    """``band_deletion`` rows at ``spec.width_hz`` and ``deletion_curve`` rows at every width."""
    rng = np.random.default_rng(spec.seed)
    n_rows, df = inp.specs.shape[1], inp.grid.input_hz_per_row
    p0 = base_probs[np.arange(len(base_probs)), inp.true_idx]
    correct0 = (base_probs.argmax(1) == inp.true_idx).astype(float)
    widths = sorted({band_width_rows(w, df, n_rows) for w in (spec.width_hz, *spec.widths_hz)})
    main = band_width_rows(spec.width_hz, df, n_rows)
    rows: list[dict[str, Any]] = []
    for width in widths:
        arms = deletion_arm(inp, profiles, width, spec, rng, draws=None if width == main else spec.curve_random_draws)
        if width == main:
            rows += _main_rows(inp, p0, correct0, arms, spec, width * df)
        rows += _curve_rows(inp, p0, arms, spec, width * df)
    return rows


def _main_rows(
    inp: FaithInputs,
    p0: np.ndarray,
    correct0: np.ndarray,
    arms: dict[str, np.ndarray],
    spec: FaithSpec,
    width_hz: float,
) -> list[dict[str, Any]]:
    def row(condition: str, metric: str, values: np.ndarray) -> dict[str, Any]:
        return stat_row("band_deletion", condition, metric, values, inp.clusters, inp.unit, spec, width_hz)

    rows = [row("none", "accuracy", correct0), row("none", "prob_true", p0)]
    for condition, key in (("top_cam_band", "top"), ("top_energy_band", "energy"), ("random_band", "random")):
        acc = arms[f"acc_{key}"]
        rows += [
            row(condition, "accuracy", acc),
            row(condition, "prob_true", arms[key]),
            row(condition, "prob_drop", p0 - arms[key]),
            row(condition, "accuracy_drop", correct0 - acc),
        ]
    rows += [
        row("random_band", "energy_mismatch_db", arms["mismatch_db"]),
        row("random_band", "matched_share", arms["matched"]),
        row("top_cam_band", "overlap_share", arms["overlap"]),
        row("top_minus_random", "prob_drop", arms["random"] - arms["top"]),
        row("top_minus_energy", "prob_drop", arms["energy"] - arms["top"]),
        {**row("all", "width_hz", np.full(len(p0), width_hz)), "ci_lo": None, "ci_hi": None},
    ]
    return rows


def _curve_rows(
    inp: FaithInputs, p0: np.ndarray, arms: dict[str, np.ndarray], spec: FaithSpec, width_hz: float
) -> list[dict[str, Any]]:
    values = {
        "top_cam_band": p0 - arms["top"],
        "top_energy_band": p0 - arms["energy"],
        "random_band": p0 - arms["random"],
        "top_minus_random": arms["random"] - arms["top"],
        "top_minus_energy": arms["energy"] - arms["top"],
    }
    return [
        stat_row("deletion_curve", f"{name}@{width_hz:g}Hz", "prob_drop", v, inp.clusters, inp.unit, spec, width_hz)
        for name, v in values.items()
    ]
