"""The spectrogram store: memory-mappable ``.npy`` shards plus their axes.

Layout of ``run/spectrograms/``::

    meta.json          settings (SpectrogramSettings as a dict), n_freqs, n_frames, format version
    freqs.npy          float64 [F]  centre frequency of each row in Hz (row 0 = 0 Hz, ascending)
    times.npy          float64 [T]  time of each frame centre in s, relative to the token's centre
    shard-00000.npy    float16 [N_i, F, T]  dB re full scale, one token per row; no per-token normalisation
    *.npy.sha256       the SHA-256 of each array, written with it (see :mod:`vowelcam.checks.checksums`)

A token's place is ``(spec_shard, spec_row)`` in ``tokens.csv``. Shards are written whole and atomically, one per
extraction chunk, so an interrupted extraction resumes at the first missing chunk. The first time a process reads
a shard it checks the shard's checksum and that it holds no NaN or infinity: a damaged shard is an error naming
it (and the tokens, for NaN), never NaN maps downstream. Stores written before checksums load unverified.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..checks.checksums import save_npy, verify
from ..checks.finite import check_finite
from ..errors import RunDirError
from ..rundir import atomic_write_text

STORE_VERSION = 1
REMEDY = "re-extract with `vowelcam extract --force` (or `vowelcam analyze --force`)"


def shard_name(index: int) -> str:
    """File name of shard ``index``."""
    return f"shard-{index:05d}.npy"


def write_axes(store_dir: str | Path, settings: Any, freqs: np.ndarray, times: np.ndarray) -> None:
    """Write ``meta.json``, ``freqs.npy`` and ``times.npy`` (atomically)."""
    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in (("freqs.npy", freqs), ("times.npy", times)):
        save_npy(store_dir / name, np.asarray(arr, dtype=np.float64))
    meta = {"version": STORE_VERSION, "settings": asdict(settings), "n_freqs": len(freqs), "n_frames": len(times)}
    atomic_write_text(store_dir / "meta.json", json.dumps(meta, indent=2))


def write_shard(store_dir: str | Path, index: int, specs: np.ndarray) -> Path:
    """Write one shard ``[N, F, T]`` atomically, with its checksum, and return its path."""
    return save_npy(Path(store_dir) / shard_name(index), specs)


class SpectrogramStore:
    """Read access to a store: axes plus memory-mapped shards.

    >>> store = SpectrogramStore(run_dir / "spectrograms")    # doctest: +SKIP
    >>> batch = store.get_many([(0, 3), (0, 4)], max_freq=4000)  # [2, F', T] float32
    """

    def __init__(self, store_dir: str | Path):
        self.dir = Path(store_dir)
        try:
            self.meta = json.loads((self.dir / "meta.json").read_text())
            self.freqs = np.load(self.dir / "freqs.npy")
            self.times = np.load(self.dir / "times.npy")
        except (OSError, ValueError) as exc:
            raise RunDirError(
                f"{self.dir}: no readable spectrogram store ({exc}); run `vowelcam extract` first"
            ) from None
        for name in ("freqs.npy", "times.npy"):
            verify(self.dir / name, REMEDY)
        if self.meta.get("version") != STORE_VERSION:
            raise RunDirError(
                f"{self.dir}: spectrogram store version {self.meta.get('version')} is not {STORE_VERSION}"
            )

    @property
    def settings(self) -> dict[str, Any]:
        """The SpectrogramSettings the store was made with, as a dict."""
        return dict(self.meta["settings"])

    @property
    def hz_per_row(self) -> float:
        """Frequency step between rows in Hz."""
        return float(self.freqs[1] - self.freqs[0])

    def n_rows(self, max_freq: float = 0.0) -> int:
        """Number of frequency rows kept for a band limit (0 = all)."""
        if not max_freq:
            return len(self.freqs)
        return int(np.searchsorted(self.freqs, max_freq, side="right"))

    @lru_cache(maxsize=64)  # noqa: B019 - a store lives as long as its run; the cache holds 64 memory maps
    def _shard(self, index: int) -> np.ndarray:
        """Shard ``index`` memory-mapped; checked (checksum, NaN) the first time this process reads it."""
        path = self.dir / shard_name(index)
        try:
            shard = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{path}: cannot read spectrogram shard ({exc}); {REMEDY}") from None
        names = f"the tokens with spec_shard {index} and spec_row"
        verify(path, REMEDY, also=lambda: check_finite(shard, str(path), names, REMEDY))
        return shard

    def get(self, shard: int, row: int, max_freq: float = 0.0) -> np.ndarray:
        """One spectrogram ``[F, T]`` as float32, rows above ``max_freq`` dropped."""
        return np.asarray(self._shard(int(shard))[int(row), : self.n_rows(max_freq)], dtype=np.float32)

    def get_many(self, places: Sequence[tuple[int, int]], max_freq: float = 0.0) -> np.ndarray:
        """Several spectrograms ``[N, F, T]`` as float32."""
        n_rows = self.n_rows(max_freq)
        out = np.empty((len(places), n_rows, len(self.times)), dtype=np.float32)
        for i, (shard, row) in enumerate(places):
            out[i] = self._shard(int(shard))[int(row), :n_rows]
        return out
