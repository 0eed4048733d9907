"""One writer per run directory: ``RUN/vowelcam.lock``.

Every command that writes into a run directory holds its lock. The lock file names its holder (pid, host,
command, start time) and is created atomically (a complete file is hard-linked into place, which fails when one
exists, also on network file systems). A second writer is refused with one line naming the holder, or waits
(``wait=True``). A lock whose holder ran on this host and is no longer alive (killed) is taken over with a
warning; a holder on another host cannot be checked from here, so its lock stays until it ends or is deleted.

The lock is re-entrant within a process (``analyze`` holds it while it calls the stages, which take it too).
Under ``torchrun`` only rank 0 takes it (the ranks of one job write together). A run directory this process may
not write into is not locked: nothing can be written there, and the write itself gives the error.
Taking the lock (not re-entering it) first removes the temporary files that interrupted runs left.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..errors import RunDirError
from .files import remove_temp_files

log = logging.getLogger(__name__)

LOCK_NAME = "vowelcam.lock"
POLL_S = 0.5  # how often a waiting writer looks again

_held: dict[Path, int] = {}  # run directories this process holds -> nesting depth
_guard = threading.Lock()


class RunLockedError(RunDirError):
    """Another process is writing into the run directory."""


def holder(root: str | Path) -> dict | None:
    """The holder recorded in ``root``'s lock file (pid, host, command, since), or None when unlocked."""
    try:
        return json.loads((Path(root) / LOCK_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: treated as held by someone unknown


@contextmanager
def run_lock(
    root: str | Path, command: str = "vowelcam", wait: bool = False, on_wait: Callable[[dict], None] | None = None
) -> Iterator[None]:
    """Hold ``root``'s lock for the block (creating ``root`` when absent; removed again if left empty).

    Raises :class:`RunLockedError` when another process holds it, unless ``wait``: then ``on_wait(holder)`` is
    called once and the lock is taken as soon as it is free."""
    root = Path(root).resolve()
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: rank 0 holds it for the job
        yield
        return
    with _guard:
        depth = _held.get(root, 0)
        if depth:
            _held[root] = depth + 1
    if depth:
        try:
            yield
        finally:
            _release_nested(root)
        return
    created = _make_root(root)
    taken = _acquire(root, command, wait, on_wait) if created is not None else False
    with _guard:
        _held[root] = 1
    try:
        if taken and int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            remove_temp_files(root)
        yield
    finally:
        with _guard:
            _held.pop(root, None)
        if taken:
            (root / LOCK_NAME).unlink(missing_ok=True)
        if created:
            _remove_if_empty(root)


def _release_nested(root: Path) -> None:
    with _guard:
        _held[root] -= 1


def _make_root(root: Path) -> bool | None:
    """Create ``root`` if absent: True when made here, False when it existed, None when it cannot be made."""
    if root.is_dir():
        return False
    try:
        root.mkdir(parents=True)
    except FileExistsError:
        return False
    except OSError:
        return None  # the command's own write will say why (read-only, no space, a file in the way)
    return True


def _remove_if_empty(root: Path) -> None:
    try:
        root.rmdir()
    except OSError:
        pass  # not empty: the command wrote into it


def _acquire(root: Path, command: str, wait: bool, on_wait: Callable[[dict], None] | None) -> bool:
    """Take the lock (True), or find the folder unwritable (False: run unlocked). Raises RunLockedError."""
    told = False
    while True:
        try:
            if _try_create(root, command):
                return True
        except OSError as exc:  # read-only, no space left...: the command's own write will say so
            log.debug("%s: no lock can be written (%s); running without one", root, exc)
            return False
        current = holder(root)
        if current is None:
            continue  # released meanwhile
        if _is_stale(current):
            if _take_over(root, current):
                continue
        if not wait:
            raise RunLockedError(_message(root, current))
        if not told and on_wait is not None:
            on_wait(current)
            told = True
        time.sleep(POLL_S)


def _try_create(root: Path, command: str) -> bool:
    """Create the lock file with our details in one step; False when one exists. OSError: it cannot be made."""
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
    draft = root / f".{LOCK_NAME}.{os.getpid()}.draft"
    try:
        draft.write_text(json.dumps(info), encoding="utf-8")
        try:
            os.link(draft, root / LOCK_NAME)
        except (FileExistsError, FileNotFoundError):  # taken; or our draft swept by the holder: look again
            return False
        except OSError:  # no hard links on this file system: an exclusive create (empty for a moment)
            return _create_exclusive(root / LOCK_NAME, json.dumps(info))
        return True
    finally:
        draft.unlink(missing_ok=True)


def _create_exclusive(target: Path, text: str) -> bool:
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return True


def _is_stale(info: dict) -> bool:
    """Whether the holder ran on this host and is gone."""
    if info.get("host") != socket.gethostname() or not isinstance(info.get("pid"), int):
        return False
    pid = info["pid"]
    if pid == os.getpid():
        return False  # a lock left by this very process (a former holder that crashed in this interpreter)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _take_over(root: Path, stale: dict) -> bool:
    """Move the stale lock aside (only one process can) and warn; True when it was ours to remove."""
    aside = root / f".{LOCK_NAME}.{os.getpid()}.stale"
    try:
        os.rename(root / LOCK_NAME, aside)
    except FileNotFoundError:
        return True  # someone else moved it: try again
    try:
        moved = json.loads(aside.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        moved = {}
    if moved != stale:  # a fresh lock taken between our read and the rename: give it back
        try:
            os.link(aside, root / LOCK_NAME)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    log.warning(
        "%s: took over the lock of %s (pid %s on %s, since %s), which is no longer running",
        root,
        f"vowelcam {stale.get('command', '?')}",
        stale.get("pid"),
        stale.get("host"),
        stale.get("since", "?"),
    )
    return True


def _message(root: Path, info: dict) -> str:
    """One line: who holds the lock and what to do."""
    if not info:
        who = "another vowelcam process (the lock file is unreadable)"
    else:
        who = (
            f"vowelcam {info.get('command', '?')} (pid {info.get('pid', '?')} on {info.get('host', '?')}, "
            f"since {info.get('since', '?')})"
        )
    return f"{root}: in use by {who}; wait for it to end or add --wait (if it is gone: delete {root / LOCK_NAME})"
