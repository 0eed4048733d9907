"""Each CAM layer's resolution, measured: the effective point spread of one layer cell in Hz and ms.

Hz per row (:attr:`vowelcam.explain.maps.grid.CamGrid.hz_per_row`) is the map's sampling step. What one cell can
*resolve* is the part of the input that moves it: its effective receptive field (Luo et al. 2016). We measure it as
the gradient of one central cell (its activations summed over channels) with respect to the normalised input, for
real tokens through the trained network:

- ``|grad|`` summed over time gives a mass along frequency, summed over frequency a mass along time;
- the **point spread** along an axis is the width holding the central 50 % of that mass (from the 25th to the
  75th percentile of the mass, each input cell's mass spread evenly over the cell, so ``n`` equal cells hold
  their central half in ``n / 2`` cells), in input rows x Hz per input row, and input frames x ms per frame;
- averaged over tokens (mean and standard deviation are both kept).

A Gaussian spread of standard deviation ``s`` has a central-50 % width of 1.349 ``s``. Formant bands are never
narrower than the CAM layer's point spread (:class:`vowelcam.explain.readings.bands.BandSpec`), and ``cams/meta.json``
states, for every layer, the spread beside the Hz per row and ms per column.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import CamError
from .capture import eval_mode

log = logging.getLogger(__name__)

CENTRAL_FRACTION = 0.5
# A map whose time columns are wider than this cannot place evidence inside a vowel (Hillenbrand vowels: ~150-400 ms)
MAX_MS_PER_COLUMN = 40.0
DEFINITION = (
    "width holding the central 50 % of |d(cell)/d(input)| (cell = the layer's central row and column, "
    "activations summed over channels), along frequency (summed over time) and along time (summed over "
    "frequency); mean over tokens"
)


@dataclass(frozen=True)
class PointSpread:
    """The measured point spread of one layer (widths are means over ``n_tokens`` tokens)."""

    layer: str
    point_spread_hz: float
    point_spread_ms: float
    point_spread_hz_sd: float
    point_spread_ms_sd: float
    n_tokens: int
    cell_row: int
    cell_col: int

    def describe(self) -> dict[str, Any]:
        """Plain dict for ``cams/meta.json``."""
        return {**asdict(self), "definition": DEFINITION}


def central_width(mass: np.ndarray, fraction: float = CENTRAL_FRACTION) -> float:
    """Width (in cells) holding the central ``fraction`` of a non-negative 1-D ``mass``, each cell's mass spread
    evenly over the cell; NaN for an all-zero mass."""
    mass = np.clip(np.asarray(mass, dtype=np.float64), 0, None)
    total = mass.sum()
    if total <= 0:
        return float("nan")
    cum = np.cumsum(mass) / total
    return _position(mass / total, cum, 0.5 + fraction / 2) - _position(mass / total, cum, 0.5 - fraction / 2)


def _position(share: np.ndarray, cum: np.ndarray, q: float) -> float:
    """Where (in cells, continuous) the cumulative share reaches ``q``."""
    j = min(int(np.searchsorted(cum, q)), len(cum) - 1)  # the first cell whose cumulative share reaches q
    before = cum[j - 1] if j > 0 else 0.0
    return j + (q - before) / share[j] if share[j] > 0 else float(j)


class _Stop(Exception):
    """Raised by the hook once the layer has run: nothing after it is needed."""


def cell_gradients(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, cell: tuple[int, int] | None = None
) -> tuple[torch.Tensor, tuple[int, int]]:
    """``|d cell / d x|`` ``[N, F, T]`` for the layer cell ``(row, col)`` (default: the central cell), its
    activations summed over channels; returns the gradients and the cell used."""
    captured: dict[str, torch.Tensor] = {}

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        captured["out"] = output
        raise _Stop

    x = x.detach().clone().requires_grad_(True)
    handle = layer.register_forward_hook(hook)
    try:
        with eval_mode(model), torch.enable_grad():
            try:
                model(x)
            except _Stop:
                pass
            if "out" not in captured:
                raise CamError("the layer did not run in the model's forward pass")
            out = captured["out"]
            row, col = cell if cell is not None else (out.shape[-2] // 2, out.shape[-1] // 2)
            (grad,) = torch.autograd.grad(out[:, :, row, col].sum(), x)
    finally:
        handle.remove()
    return grad.detach().abs().sum(dim=1), (int(row), int(col))


def measure_point_spread(
    model: nn.Module,
    layer: nn.Module,
    name: str,
    x: torch.Tensor,
    hz_per_input_row: float,
    ms_per_frame: float,
    batch_size: int = 32,
) -> PointSpread:
    """The :class:`PointSpread` of ``layer`` over the tokens ``x`` ``[N, 1, F, T]`` (normalised input)."""
    hz, ms, cell = [], [], (0, 0)
    for start in range(0, len(x), batch_size):
        grads, cell = cell_gradients(model, layer, x[start : start + batch_size])
        g = grads.cpu().double().numpy()
        hz += [central_width(m) * hz_per_input_row for m in g.sum(axis=2)]
        ms += [central_width(m) * ms_per_frame for m in g.sum(axis=1)]
    hz_arr, ms_arr = np.asarray(hz), np.asarray(ms)
    ok = np.isfinite(hz_arr) & np.isfinite(ms_arr)
    if not ok.any():
        return PointSpread(name, float("nan"), float("nan"), float("nan"), float("nan"), 0, *cell)
    return PointSpread(
        name,
        float(hz_arr[ok].mean()),
        float(ms_arr[ok].mean()),
        float(hz_arr[ok].std()),
        float(ms_arr[ok].std()),
        int(ok.sum()),
        *cell,
    )


def measure_layers(
    model: nn.Module,
    layers: Mapping[str, nn.Module],
    x: torch.Tensor,
    hz_per_input_row: float,
    ms_per_frame: float,
    batch_size: int = 32,
) -> dict[str, PointSpread]:
    """:func:`measure_point_spread` for every layer in ``layers`` (name -> module)."""
    return {
        name: measure_point_spread(model, module, name, x, hz_per_input_row, ms_per_frame, batch_size)
        for name, module in layers.items()
    }


def time_resolution_statement(
    layer: str,
    ms_per_column: float,
    spread: PointSpread | None,
    token_ms: float | None = None,
    n_columns: int | None = None,
) -> str:
    """A plain sentence on whether the map's time columns resolve the vowel (for meta.json and the report)."""
    psf = f"; one cell's measured point spread is {spread.point_spread_ms:.0f} ms" if spread else ""
    tok = f" (tokens average {token_ms:.0f} ms)" if token_ms else ""
    if ms_per_column <= MAX_MS_PER_COLUMN:
        return (
            f"At {layer} a time column is {ms_per_column:.0f} ms{psf}{tok}: columns resolve the vowel in time "
            f"(<= {MAX_MS_PER_COLUMN:.0f} ms per column)."
        )
    whole = (n_columns is not None and n_columns <= 4) or (
        spread is not None and token_ms and spread.point_spread_ms >= token_ms / 2
    )
    if whole or n_columns is None:
        return (
            f"At {layer} a time column is {ms_per_column:.0f} ms{psf}{tok}: the frequency profile integrates "
            f"the whole analysis window around the vowel; the token's own interval selects columns, not moments "
            f"inside the vowel."
        )
    return (
        f"At {layer} a time column is {ms_per_column:.0f} ms{psf}{tok}: coarser than {MAX_MS_PER_COLUMN:.0f} ms, "
        f"so the profile mixes {ms_per_column:.0f} ms stretches of the vowel and its context."
    )
