"""Checksums of stored arrays: a SHA-256 written beside each ``.npy`` when it is written, checked on first load.

The checksum of ``shard-00000.npy`` is ``shard-00000.npy.sha256`` in the same folder, in ``sha256sum`` format
(``sha256sum -c shard-00000.npy.sha256`` checks it by hand). It is written *before* the array is renamed into
place, so an array never sits in its folder without its checksum. :func:`verify` reads a file once per process
(the result is remembered by path, size and modification time): a damaged file (random bytes in the middle, the
size unchanged) is an error that names the file and what to do. A store written before checksums existed has no
``.sha256`` files: it loads unverified (one debug note per folder in the log, shown with ``-v``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import RunDirError
from ..rundir import atomic_path, atomic_write_text
from .faults import writing

log = logging.getLogger(__name__)

SUFFIX = ".sha256"
_BLOCK = 1 << 20
_verified: set[tuple[str, int, int, str]] = set()  # (path, size, mtime_ns, digest) checked in this process
_unverified_noted: set[str] = set()  # folders whose missing checksums were logged


def sidecar(path: str | Path) -> Path:
    """The checksum file of ``path``."""
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def digest_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            sha.update(block)
    return sha.hexdigest()


def write_checksum(written: str | Path, target: str | Path) -> str:
    """Hash ``written`` (a finished temporary file about to become ``target``) into ``target``'s checksum file."""
    digest = digest_file(written)
    atomic_write_text(sidecar(target), f"{digest}  {Path(target).name}\n")
    return digest


def save_npy(target: str | Path, array: Any) -> Path:
    """``np.save`` ``array`` to ``target`` atomically, its checksum written first; a read-only or full disk is a
    one-line :class:`RunDirError`."""
    import numpy as np  # the checks package stays importable without NumPy at CLI start-up

    target = Path(target)
    arr = np.asarray(array)
    with writing(target, arr.nbytes), atomic_path(target, suffix=".npy") as tmp:
        np.save(tmp, arr)
        write_checksum(tmp, target)
    return target


def expected_digest(path: str | Path) -> str | None:
    """The digest recorded for ``path``, or None when it has no checksum file (an older store)."""
    try:
        text = sidecar(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RunDirError(f"{sidecar(path)}: cannot read the checksum ({exc.strerror})") from None
    return text.split()[0] if text.split() else ""


def verify(path: str | Path, remedy: str, also: Callable[[], None] | None = None) -> bool:
    """Check ``path`` against its checksum file once per process (by path, size and modification time), running
    ``also`` (e.g. a NaN check) the first time too. True when the checksum matches, False when there is none to
    check (an older store: logged once per folder); :class:`RunDirError` naming the file and ``remedy`` (what to
    run) when the bytes differ from those written."""
    path = Path(path)
    expected = expected_digest(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read ({exc.strerror}); {remedy}") from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected or "")
    if key in _verified:
        return expected is not None
    if expected is None and str(path.parent) not in _unverified_noted:
        _unverified_noted.add(str(path.parent))
        log.debug("%s: arrays without checksums (written by an older vowelcam): loaded unverified", path.parent)
    if expected is not None and digest_file(path) != expected:
        raise RunDirError(
            f"{path}: damaged (its SHA-256 is not the one written with it in {sidecar(path).name}); {remedy}"
        )
    if also is not None:
        also()
    _verified.add(key)
    return expected is not None
