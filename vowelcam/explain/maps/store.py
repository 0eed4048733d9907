"""The ``cams/`` folder of a run: raw maps for the true and predicted class, their index and meta data.

Layout::

    cams/meta.json    method, layer, hz_per_row (at the CAM layer), freqs (Hz of each stored row), times,
                      n_frames, grid (the layer grid and its mapping), normalisation, norm_scale, band settings
    cams/index.csv    token_id, row, true, predicted, correct, split, frame_start, frame_end, hz_per_row
    cams/true.npy     float32 [N, F, T] raw maps for the true class on the model's input grid
    cams/pred.npy     float32 [N, F, T] raw maps for the predicted class
    cams/true_norm.npy, cams/pred_norm.npy   the same divided by one run-wide scale ``norm_scale`` (the 99th
                      percentile of the positive values of all stored raw maps): comparable across tokens,
                      unlike per-token 0-1 scaling; about 1 at the strong end of the run
    cams/contrast.npy float32 [N, F, T] contrastive maps: predicted-class minus true-class map before the method's
                      ReLU (zero for correct tokens; see :mod:`vowelcam.explain.readings.contrastive`); not normalised

Arrays are written through temporary files and renamed when complete, so a crash never leaves half a file; each
``.npy`` has its SHA-256 beside it (``true.npy.sha256``, ...; see :mod:`vowelcam.checks.checksums`), written before
the rename and checked, with a NaN/inf check, the first time a process reads the folder. The temporary files are
given their full size on disk when opened, so a full disk is a one-line error at the start, not a crash mid-way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.format import open_memmap

from ... import rundir
from ...checks.checksums import verify, write_checksum
from ...checks.faults import writing
from ...checks.finite import check_finite
from ...errors import RunDirError

INDEX_COLUMNS = ["token_id", "row", "true", "predicted", "correct", "split", "frame_start", "frame_end", "hz_per_row"]
MAP_NAMES = ("true", "pred")
CONTRAST = "contrast"
REMEDY = "re-run `vowelcam cam` on the run (or `vowelcam analyze --force`)"
NORMALISATION = (
    "raw maps divided by norm_scale, the 99th percentile of the positive values of all raw maps "
    "(true and pred) of this run; one scale for every token, no per-token rescaling"
)


class CamWriter:
    """Write ``true.npy``/``pred.npy`` block by block into memory maps, then the normalised copies and meta."""

    def __init__(self, cams_dir: str | Path, n_tokens: int, n_rows: int, n_frames: int):
        self.dir = Path(cams_dir)
        self.shape = (n_tokens, n_rows, n_frames)
        self._stack = ExitStack()
        self.arrays: dict[str, np.memmap] = {}
        self._tmp: dict[str, Path] = {}

    def __enter__(self) -> CamWriter:
        try:
            for name in (*MAP_NAMES, CONTRAST):
                tmp = self._stack.enter_context(rundir.atomic_path(self.dir / f"{name}.npy", suffix=".npy"))
                self.arrays[name] = _open_full(tmp, self.shape)
                self._tmp[name] = tmp
        except BaseException as exc:  # e.g. a full disk: remove the temporary files already made, rename none
            self.arrays.clear()
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def write(
        self, start: int, true_maps: np.ndarray, pred_maps: np.ndarray, contrast: np.ndarray | None = None
    ) -> None:
        """Store maps for tokens ``start .. start + len(true_maps)`` (contrast maps: zeros when not given)."""
        self.arrays["true"][start : start + len(true_maps)] = true_maps
        self.arrays["pred"][start : start + len(pred_maps)] = pred_maps
        if contrast is not None:
            self.arrays[CONTRAST][start : start + len(contrast)] = contrast

    def norm_scale(self) -> float:
        """The run-wide normalisation scale (see the module docstring)."""
        positives = np.concatenate([_positive_sample(self.arrays[n]) for n in MAP_NAMES])
        return float(np.percentile(positives, 99)) if len(positives) else 1.0

    def finish(self, meta: dict[str, Any]) -> float:
        """Write the normalised arrays and ``meta.json``; return the scale. Call inside the ``with`` block."""
        scale = self.norm_scale() or 1.0
        for name in MAP_NAMES:
            target = self.dir / f"{name}_norm.npy"
            with rundir.atomic_path(target, suffix=".npy") as tmp:
                out = _open_full(tmp, self.shape)
                for block in _blocks(self.shape[0]):
                    out[block] = self.arrays[name][block] / scale
                out.flush()
                del out
                write_checksum(tmp, target)
        for name, arr in self.arrays.items():
            arr.flush()
            write_checksum(self._tmp[name], self.dir / f"{name}.npy")
        full = {
            **meta,
            "normalisation": {
                "stored": "raw",
                "norm_arrays": ["true_norm.npy", "pred_norm.npy"],
                "norm": NORMALISATION,
                "norm_scale": scale,
            },
        }
        rundir.atomic_write_text(self.dir / "meta.json", json.dumps(full, indent=2))
        return scale

    def __exit__(self, *exc: object) -> None:
        self.arrays.clear()
        self._stack.__exit__(*exc)


def _open_full(tmp: Path, shape: tuple[int, int, int]) -> np.memmap:
    """A float32 ``.npy`` memory map at ``tmp`` with its whole size allocated on disk now: a full disk is an
    OSError here (a one-line error with the size needed), never a bus error when a page is written later."""
    with writing(tmp.parent, needed=4 * int(np.prod(shape))):
        arr = open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
        if hasattr(os, "posix_fallocate"):
            with open(tmp, "r+b") as fh:
                os.posix_fallocate(fh.fileno(), 0, os.path.getsize(tmp))
    return arr


def _blocks(n: int, size: int = 256) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _positive_sample(arr: np.ndarray, limit: int = 2_000_000) -> np.ndarray:
    step = max(1, arr.size // limit)
    flat = np.asarray(arr).reshape(-1)[::step]
    return flat[flat > 0]


@dataclass
class CamSet:
    """A run's stored CAMs (arrays memory-mapped)."""

    meta: dict[str, Any]
    index: list[dict[str, str]]
    true: np.ndarray
    pred: np.ndarray
    true_norm: np.ndarray
    pred_norm: np.ndarray
    contrast: np.ndarray | None = None  # absent in runs made before contrastive maps

    @property
    def freqs(self) -> np.ndarray:
        """Hz of each stored row."""
        return np.asarray(self.meta["freqs"], dtype=np.float64)


def read_cams(run_dir: str | Path) -> CamSet:
    """Open ``run_dir/cams`` (for the report); :class:`RunDirError` when it is missing or incomplete."""
    cams = Path(run_dir) / rundir.CAMS
    try:
        meta = json.loads((cams / "meta.json").read_text())
        arrays = {n: np.load(cams / f"{n}.npy", mmap_mode="r") for n in ("true", "pred", "true_norm", "pred_norm")}
        index = rundir.read_csv(cams / "index.csv")
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{cams}: no complete CAM store ({exc}); run `vowelcam cam` first") from None
    contrast = np.load(cams / f"{CONTRAST}.npy", mmap_mode="r") if (cams / f"{CONTRAST}.npy").exists() else None
    for name, arr in [*arrays.items(), (CONTRAST, contrast)]:
        if arr is not None:
            check_map_array(cams / f"{name}.npy", arr)
    return CamSet(meta, index, **arrays, contrast=contrast)


def check_map_array(path: Path, arr: np.ndarray) -> None:
    """Once per process: ``path`` matches its checksum and holds no NaN/inf (rows = ``index.csv``'s ``row``)."""
    verify(path, REMEDY, also=lambda: check_finite(arr, str(path), "the maps of index.csv rows", REMEDY))
