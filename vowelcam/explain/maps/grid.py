"""Where a CAM row sits in Hz: the layer grid and its upsampling onto the token's Hz x time grid.

The mapping, written down once:

- A convolution or pooling with an odd kernel ``k``, padding ``(k - 1) / 2`` and stride ``s`` centres its output
  cell ``o`` on input cell ``o * s`` (this holds for every stage of the torchvision ResNets vowelcam uses, the
  stride-2 1x1 shortcut included). Stacked, layer row ``r`` is centred on input row ``r * S`` where ``S`` is the
  product of the frequency strides up to that layer; likewise column ``c`` on input frame ``c * S_t``.
- An average pooling of the input over ``p`` rows without padding (the model's optional ``input_pool``) centres
  cell ``o`` on input row ``o * p + (p - 1) / 2``: an offset of ``(p - 1) / 2`` rows before the strides above.
- So layer row ``r`` sits at ``freqs[0] + (offset + r * S) * df`` Hz (``df`` = input Hz per row) and the CAM has
  ``S * df`` Hz per row (125 Hz with 31.25 Hz input rows and ``S = 4``). Each cell still *sees* a receptive field
  much wider than that; Hz per row is the sampling step of the map, not its resolution in the ear's sense.
- Upsampling is linear interpolation between neighbouring row centres (and column centres), separately along
  frequency and time; input rows beyond the last centre take the last row's value (no extrapolation).

:class:`CamGrid` holds these numbers and applies the interpolation as two small matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import CamError


def interpolation_matrix(n_in: int, n_cells: int, stride: int, offset: float = 0.0) -> np.ndarray:
    """``[n_in, n_cells]`` weights: input position ``i`` linearly between cell centres ``offset + j * stride``."""
    if n_cells < 1 or stride < 1:
        raise CamError(f"bad layer grid: {n_cells} cells with stride {stride}")
    out = np.zeros((n_in, n_cells), dtype=np.float32)
    if n_cells == 1:
        out[:, 0] = 1.0
        return out
    pos = (np.arange(n_in, dtype=np.float64) - offset) / stride
    left = np.clip(np.floor(pos).astype(int), 0, n_cells - 2)
    frac = np.clip(pos - left, 0.0, 1.0)
    rows = np.arange(n_in)
    out[rows, left] = 1.0 - frac
    out[rows, left + 1] += frac
    return out


@dataclass(frozen=True)
class CamGrid:
    """A CAM layer's grid and its place on the model's input (Hz x frames) grid."""

    layer: str
    layer_rows: int
    layer_cols: int
    stride_rows: int
    stride_cols: int
    input_freqs: np.ndarray  # Hz of each input row (ascending, evenly spaced)
    input_frames: int
    offset_rows: float = 0.0  # input row on which layer row 0 is centred
    offset_cols: float = 0.0

    @property
    def input_hz_per_row(self) -> float:
        """Hz between input rows."""
        return float(self.input_freqs[1] - self.input_freqs[0]) if len(self.input_freqs) > 1 else 0.0

    @property
    def hz_per_row(self) -> float:
        """Hz between CAM rows at the layer (the map's frequency sampling step)."""
        return self.stride_rows * self.input_hz_per_row

    def layer_row_freqs(self) -> np.ndarray:
        """Hz at which each layer row is centred."""
        rows = self.offset_rows + np.arange(self.layer_rows) * self.stride_rows
        return self.input_freqs[0] + rows * self.input_hz_per_row

    def upsample(self, maps: torch.Tensor) -> torch.Tensor:
        """``[..., layer_rows, layer_cols]`` -> ``[..., F, T]`` on the input grid (see the module docstring)."""
        if tuple(maps.shape[-2:]) != (self.layer_rows, self.layer_cols):
            raise CamError(
                f"map of shape {tuple(maps.shape[-2:])} does not fit the {self.layer} grid "
                f"{self.layer_rows}x{self.layer_cols}"
            )
        rows = interpolation_matrix(len(self.input_freqs), self.layer_rows, self.stride_rows, self.offset_rows)
        cols = interpolation_matrix(self.input_frames, self.layer_cols, self.stride_cols, self.offset_cols)
        rows, cols = torch.from_numpy(rows), torch.from_numpy(cols)
        rows, cols = rows.to(maps.device, maps.dtype), cols.to(maps.device, maps.dtype)
        return torch.einsum("fh,...hw,tw->...ft", rows, maps, cols)

    def describe(self) -> dict[str, Any]:
        """Plain-dict summary for ``cams/meta.json``."""
        return {
            "layer": self.layer,
            "hz_per_row": self.hz_per_row,
            "input_hz_per_row": self.input_hz_per_row,
            "layer_rows": self.layer_rows,
            "layer_cols": self.layer_cols,
            "stride_rows": self.stride_rows,
            "stride_cols": self.stride_cols,
            "offset_rows": self.offset_rows,
            "offset_cols": self.offset_cols,
            "first_row_hz": float(self.layer_row_freqs()[0]),
            "last_row_hz": float(self.layer_row_freqs()[-1]),
            "mapping": "layer row r centred on input row offset_rows + r*stride_rows "
            "(Hz = first_row_hz + r*hz_per_row); "
            "linear interpolation between row centres along frequency and between column centres "
            "along time; held constant beyond the last centre",
        }


def _fits(n_in: int, n_cells: int, stride: int) -> bool:
    """Whether ``n_cells`` is ``n_in / stride`` rounded down or up (padded convs round up, plain pools down)."""
    return n_in // stride <= n_cells <= -(-n_in // stride)


def infer_stride(n_in: int, n_cells: int, declared: float | None = None, measured: int | None = None) -> int:
    """Total stride of a layer along one axis: ``measured`` (probed on a long input) checked against the sizes and
    against ``declared`` (from the checkpoint); without either, the stride closest to ``n_in / n_cells`` that fits.
    """
    for stride, source in ((measured, "measured"), (declared, "declared")):
        if stride and (round(stride) < 1 or not _fits(n_in, n_cells, int(round(stride)))):
            raise CamError(f"{source} stride {stride:g} does not map {n_in} input cells onto {n_cells}")
    if measured and declared and int(round(declared)) != measured:
        raise CamError(f"declared stride {declared:g} differs from the measured {measured}")
    if measured or declared:
        return int(round(measured or declared or 1))
    candidates = [s for s in range(1, n_in + 1) if _fits(n_in, n_cells, s)]
    if not candidates:
        raise CamError(f"cannot place a {n_cells}-cell layer on a {n_in}-cell input")
    return min(candidates, key=lambda s: abs(s - n_in / n_cells))


def make_grid(
    layer: str,
    layer_shape: tuple[int, int],
    input_freqs: np.ndarray,
    input_frames: int,
    hz_per_row: float | None = None,
    input_pool: tuple[int, int] = (1, 1),
    measured_strides: tuple[int | None, int | None] = (None, None),
) -> CamGrid:
    """The :class:`CamGrid` of a layer whose maps are ``layer_shape`` for an input of ``len(input_freqs)`` rows.

    ``measured_strides`` (rows, frames) come from :func:`vowelcam.explain.maps.cam.layer_grid`'s probe; ``hz_per_row``
    (as the checkpoint records it) must agree with the row stride. ``input_pool`` (rows, frames) is the model's
    unpadded input average pooling, which shifts centres by ``(p - 1) / 2``.
    """
    freqs = np.asarray(input_freqs, dtype=np.float64)
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 0.0
    declared = hz_per_row / df if (hz_per_row and df) else None
    stride_rows = infer_stride(len(freqs), layer_shape[0], declared, measured_strides[0])
    stride_cols = infer_stride(input_frames, layer_shape[1], None, measured_strides[1])
    return CamGrid(
        layer,
        int(layer_shape[0]),
        int(layer_shape[1]),
        stride_rows,
        stride_cols,
        freqs,
        int(input_frames),
        (input_pool[0] - 1) / 2,
        (input_pool[1] - 1) / 2,
    )
