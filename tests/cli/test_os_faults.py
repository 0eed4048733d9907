"""A read-only run directory and a full disk are one line that says what to do, never a traceback.

Nothing is mounted: :func:`tests.helpers.faults.break_writes` makes every write under the run directory fail as a
read-only file system (EROFS) or a full disk (ENOSPC) would."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.helpers.corpus import write_pair
from tests.helpers.faults import break_writes
from tests.helpers.runs import predicted_run, reported_run
from vowelcam.cli import app


def one_error_line(result) -> str:
    """The command's one ``error:`` line (log lines before it are the command's ordinary progress)."""
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert errors[0] == result.output.rstrip().splitlines()[-1]  # the last thing said, and said once
    return errors[0]


@pytest.fixture
def reported(tmp_path: Path) -> Path:
    return reported_run(tmp_path / "run", n_tokens=24).root


def test_report_into_a_read_only_run_directory_is_one_line(reported, monkeypatch):
    break_writes(monkeypatch, reported, errno.EROFS)
    result = CliRunner().invoke(app, ["report", str(reported)])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "cannot write (read-only file system)" in line and "--out/-o" in line and str(reported) in line


def test_cam_into_a_read_only_run_directory_is_one_line(tmp_path, monkeypatch):
    run = predicted_run(tmp_path / "run")
    break_writes(monkeypatch, run, errno.EROFS)
    result = CliRunner().invoke(app, ["cam", str(run), "--no-faithfulness", "--device", "cpu"])
    assert result.exit_code == 2
    assert "cannot write (read-only file system)" in one_error_line(result)


def test_extract_onto_a_full_disk_says_how_much_was_needed(tmp_path, monkeypatch):
    write_pair(tmp_path / "corpus", "a", ["IY1", "AE1"])
    out = tmp_path / "run"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "corpus"), "--out", str(out)])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "disk full (" in line and " needed, " in line and " free)" in line and "--out/-o" in line


def test_cam_onto_a_full_disk_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    run = predicted_run(tmp_path / "run")
    (run / "cams").mkdir()
    break_writes(monkeypatch, run / "cams", errno.ENOSPC)
    result = CliRunner().invoke(app, ["cam", str(run), "--no-faithfulness", "--device", "cpu"])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "disk full" in line and "cams" in line
    assert list((run / "cams").iterdir()) == []


def test_report_onto_a_full_disk_is_one_line(reported, monkeypatch):
    break_writes(monkeypatch, reported, errno.ENOSPC)
    result = CliRunner().invoke(app, ["report", str(reported)])
    assert result.exit_code == 2
    assert "disk full" in one_error_line(result)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.EROFS, "/r/x.npy: cannot write (read-only file system); give another run directory (--out/-o DIR"),
        (errno.EACCES, "/r/x.npy: permission denied; fix its permissions or give another run directory"),
        (errno.ENOSPC, "/r/x.npy: disk full (2.5 MB needed, "),
        (errno.EIO, "/r/x.npy: Input/output error"),
    ],
)
def test_os_fault_messages_say_what_to_do(code, expected):
    from vowelcam.checks.faults import os_fault_message

    message = os_fault_message(OSError(code, os.strerror(code), "/r/x.npy"), needed=2_500_000)
    assert message.startswith(expected) and "\n" not in message
