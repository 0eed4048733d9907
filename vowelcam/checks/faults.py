"""Operating-system faults as one line that says what to do: a run directory that cannot be written (read-only
file system, no permission) and a full disk.

The array stores write through :func:`writing` (they know how many bytes a write needs); the command line turns
any other :class:`OSError` into one line with :func:`os_fault_message`.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import RunDirError

READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
ELSEWHERE = "give another run directory (--out/-o DIR, or copy the run directory somewhere writable and use that)"


def size_text(n_bytes: float) -> str:
    """``1536`` -> ``"1.5 kB"`` (decimal units, as ``df -H``)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n_bytes) < 1000 or unit == "TB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"  # pragma: no cover - the loop returns


def free_space(path: str | Path) -> int | None:
    """Free bytes on the disk holding ``path`` (its nearest existing parent), or None when unknown."""
    place = Path(path).absolute()
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        return shutil.disk_usage(place).free
    except OSError:
        return None


def os_fault_message(exc: OSError, path: str | Path | None = None, needed: int | None = None) -> str:
    """One line for an OS error while writing ``path`` (default: the error's own file name)."""
    where = path or exc.filename or "a file"
    if exc.errno == errno.EROFS:
        return f"{where}: cannot write (read-only file system); {ELSEWHERE}"
    if exc.errno in READ_ONLY:
        return f"{where}: permission denied; fix its permissions or {ELSEWHERE}"
    if exc.errno in DISK_FULL:
        free = free_space(where) if where != "a file" else None
        need = f"{size_text(needed)} needed, " if needed else ""
        left = f"{size_text(free)} free" if free is not None else "free space unknown"
        return f"{where}: disk full ({need}{left}); free some space there or {ELSEWHERE}"
    return f"{where}: {exc.strerror or exc}"


@contextmanager
def writing(path: str | Path, needed: int | None = None) -> Iterator[None]:
    """Turn a read-only or disk-full :class:`OSError` inside the block into a one-line :class:`RunDirError`."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in READ_ONLY | DISK_FULL:
            raise
        raise RunDirError(os_fault_message(exc, path, needed)) from None
