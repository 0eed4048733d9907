"""One writer per run directory: the lock names its holder, refuses or waits, and takes over a dead one's."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vowelcam.cli import app
from vowelcam.runstate import lock as run_lock_module
from vowelcam.runstate.lock import LOCK_NAME, RunLockedError, holder, run_lock

HOLD = """
import sys
from vowelcam.runstate.lock import run_lock
with run_lock(sys.argv[1], "analyze"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes the pipe
print("released", flush=True)
"""


@pytest.fixture
def other_writer(tmp_path):
    """Start another process that holds ``tmp_path/run``'s lock until its stdin is closed: ``(run, process)``."""
    run = tmp_path / "run"
    run.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield run, proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(timeout=60)


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    assert proc.stdout.readline().strip() == "released"
    proc.wait(timeout=60)


def test_a_second_writer_is_refused_in_one_line_naming_the_holder(other_writer):
    run, proc = other_writer
    with pytest.raises(RunLockedError) as refused:
        with run_lock(run, "cam"):
            pass
    message = str(refused.value)
    assert f"pid {proc.pid} on {socket.gethostname()}" in message and "vowelcam analyze" in message
    assert "--wait" in message and "\n" not in message
    assert holder(run)["pid"] == proc.pid  # the holder's lock is untouched
    _release(proc)
    with run_lock(run, "cam"):
        assert holder(run)["pid"] == os.getpid()
    assert not (run / LOCK_NAME).exists()


def test_a_waiting_writer_takes_the_lock_once_the_holder_ends(other_writer):
    run, proc = other_writer
    seen = []

    def on_wait(info: dict) -> None:  # called once, while the other process still holds the lock
        seen.append(info["pid"])
        _release(proc)

    with run_lock(run, "report", wait=True, on_wait=on_wait):
        assert holder(run)["command"] == "report"
    assert seen == [proc.pid]


def test_the_cli_refuses_a_second_writer_with_one_line(other_writer):
    run, proc = other_writer
    result = CliRunner().invoke(app, ["cam", str(run)])  # train and report take the lock the same way
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"pid {proc.pid}" in lines[0] and "Traceback" not in result.output


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_warning(tmp_path, caplog):
    run = tmp_path / "run"
    run.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    stale = {"pid": dead.pid, "host": socket.gethostname(), "command": "analyze", "since": "earlier"}
    (run / LOCK_NAME).write_text(json.dumps(stale))
    with caplog.at_level(logging.WARNING, logger="vowelcam"), run_lock(run, "cam"):
        assert holder(run)["pid"] == os.getpid()
    assert f"took over the lock of vowelcam analyze (pid {dead.pid}" in caplog.text


def test_a_lock_from_another_host_is_not_taken_over(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "command": "train"}))
    with pytest.raises(RunLockedError, match="pid 1 on elsewhere.example"):
        with run_lock(run, "cam"):
            pass


def test_the_lock_is_reentrant_in_one_process_and_released_at_the_end(tmp_path):
    run = tmp_path / "run"
    with run_lock(run, "analyze"):
        with run_lock(run, "train"):
            assert holder(run)["command"] == "analyze"
        assert (run / LOCK_NAME).exists()
    assert not run.exists()  # made for the lock and left empty: removed again (a typo leaves no folder)


def test_taking_the_lock_removes_temporary_files_of_an_interrupted_run(tmp_path):
    run = tmp_path / "run"
    (run / "cams").mkdir(parents=True)
    leftovers = [run / "cams" / ".true.npy.k2j4_x9a.npy", run / ".predictions.csv.abcdefgh.tmp"]
    kept = [run / "cams" / "true.npy", run / ".keep", run / "cams" / ".notes.txt"]
    for path in leftovers + kept:
        path.write_bytes(b"x")
    with run_lock(run, "analyze"):
        assert not any(p.exists() for p in leftovers)
    assert all(p.exists() for p in kept)


def test_a_folder_that_cannot_be_written_is_not_locked(tmp_path, monkeypatch):
    def read_only(root: Path, command: str) -> bool:
        raise PermissionError(13, "Permission denied", str(root))

    monkeypatch.setattr(run_lock_module, "_try_create", read_only)
    run = tmp_path / "run"
    run.mkdir()
    with run_lock(run, "show"):  # the command's own write gives the error, if it writes there
        assert holder(run) is None


def test_without_hard_links_the_lock_is_an_exclusive_create(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    run = tmp_path / "run"
    run.mkdir()
    with run_lock(run, "analyze"):
        assert holder(run)["pid"] == os.getpid() and [p.name for p in run.iterdir()] == [LOCK_NAME]
    assert list(run.iterdir()) == []
    (run / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "command": "train"}))
    with pytest.raises(RunLockedError, match="pid 1 on elsewhere.example"):
        with run_lock(run, "cam"):
            pass
