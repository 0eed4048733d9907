"""Operating-system faults without mounting anything: every write under a folder fails as a read-only file system or
a full disk would fail it (``os.open``/``open`` for writing, ``mkdir``, ``rename``, ``unlink``, ``fallocate``)."""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path: object, root: Path) -> bool:
    try:
        return Path(os.fsdecode(path)).absolute().is_relative_to(root)  # type: ignore[arg-type]
    except TypeError:  # a file descriptor
        return False


def break_writes(monkeypatch: pytest.MonkeyPatch, root: str | Path, code: int = errno.EROFS) -> None:
    """From now on, writing anything under ``root`` raises ``OSError(code)`` naming the path."""
    root = Path(root).absolute()
    message = os.strerror(code)

    def fail(path: object) -> None:
        raise OSError(code, message, os.fsdecode(path))  # type: ignore[arg-type]

    real_os_open, real_open, real_mkdir = os.open, builtins.open, os.mkdir
    real_replace, real_rename, real_unlink = os.replace, os.rename, os.unlink

    def os_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS and _inside(path, root):
            fail(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and _inside(file, root):
            fail(file)
        return real_open(file, mode, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if _inside(path, root) and not Path(os.fsdecode(path)).exists():
            fail(path)
        return real_mkdir(path, *args, **kwargs)

    def moved(real):
        def move(src, dst, *args, **kwargs):
            if _inside(dst, root) or _inside(src, root):
                fail(dst)
            return real(src, dst, *args, **kwargs)

        return move

    def unlink(path, *args, **kwargs):
        if _inside(path, root):
            fail(path)
        return real_unlink(path, *args, **kwargs)

    def fallocate(fd, offset, length):
        raise OSError(code, message)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "replace", moved(real_replace))
    monkeypatch.setattr(os, "rename", moved(real_rename))
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "posix_fallocate", fallocate)
