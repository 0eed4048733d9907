"""Content fingerprints of a run's files, and the temporary files that interrupted atomic writes leave.

A file's state is its size, modification time (ns) and SHA-256. Hashing is what makes a fingerprint one of
content; it is done once per version of a file: a state already known with the same size and mtime is reused,
except for models (``*.pt``), whose bytes are hashed every time (a model copied over another keeping its size and
time is still noticed).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# rundir.atomic_path's names: ``.{target}.{8 random characters}{suffix}`` (tempfile.mkstemp), e.g.
# ``cams/.true.npy.k2j4_x9a.npy``; the run directory holds no other file of this shape.
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")


@dataclass(frozen=True)
class FileState:
    """What a file was when a stage read or wrote it."""

    size: int
    mtime_ns: int
    sha256: str

    def as_list(self) -> list:
        """The JSON form (``[size, mtime_ns, sha256]``)."""
        return [self.size, self.mtime_ns, self.sha256]

    @classmethod
    def from_list(cls, value: object) -> FileState | None:
        """The state written by :meth:`as_list`, or None when malformed."""
        try:
            size, mtime_ns, sha = value  # type: ignore[misc]
            return cls(int(size), int(mtime_ns), str(sha))
        except (TypeError, ValueError):
            return None


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_state(path: Path, known: FileState | None = None) -> FileState | None:
    """The state of ``path`` (None when absent); ``known``'s hash is reused when size and mtime are unchanged."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    if known is not None and known.size == stat.st_size and known.mtime_ns == stat.st_mtime_ns:
        return known
    return FileState(stat.st_size, stat.st_mtime_ns, sha256_file(path))


def is_temp_file(path: Path) -> bool:
    """Whether ``path`` is the temporary file of an atomic write (never a run's output)."""
    return bool(TEMP_NAME.match(path.name))


def walk(root: Path, names: Iterable[str], skip: Iterable[str] = ()) -> Iterator[str]:
    """The files (paths relative to ``root``, ``/``-separated, sorted) that ``names`` denote: a file itself, a
    folder every file below it. Hidden files (temporary files, lock drafts) and anything under a name of ``skip``
    are left out."""
    skipped = set(skip)
    found: set[str] = set()
    for name in names:
        path = root / name
        if path.is_file():
            found.add(name)
        elif path.is_dir():
            for sub in path.rglob("*"):
                if sub.is_file():
                    found.add(sub.relative_to(root).as_posix())
    for rel in sorted(found):
        parts = rel.split("/")
        if not any("/".join(parts[: i + 1]) in skipped for i in range(len(parts))) and not parts[-1].startswith("."):
            yield rel


ALWAYS_HASHED = (".pt",)


def states(root: Path, rels: Iterable[str], known: Mapping[str, FileState]) -> dict[str, FileState]:
    """``{rel: state}`` of the files ``rels`` below ``root`` that exist (hashes reused from ``known``, but for
    models)."""
    out = {}
    for rel in rels:
        state = file_state(root / rel, None if rel.endswith(ALWAYS_HASHED) else known.get(rel))
        if state is not None:
            out[rel] = state
    return out


def remove_temp_files(root: Path) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes left anywhere below ``root``; return them.

    Only safe while no other process writes into ``root`` (the caller holds the run's lock)."""
    removed = []
    for path in root.rglob(".*"):
        if path.is_file() and is_temp_file(path):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
    if removed:
        log.info("%s: removed %d temporary file(s) left by an interrupted run", root, len(removed))
    return removed
