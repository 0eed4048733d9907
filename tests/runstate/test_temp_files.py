"""No temporary file outlives a failed or stopped write; a resumed run sweeps those a killed one left."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from vowelcam.rundir import atomic_path
from vowelcam.runstate.files import is_temp_file, remove_temp_files
from vowelcam.runstate.lock import LOCK_NAME

STOPPED_MID_WRITE = """
import sys
from vowelcam.commands.common import _terminate_as_exit
from vowelcam.rundir import atomic_path
from vowelcam.runstate.lock import run_lock

with _terminate_as_exit(), run_lock(sys.argv[1], "cam"), atomic_path(sys.argv[1] + "/cams/true.npy") as tmp:
    tmp.write_bytes(b"half a map")
    print("writing", flush=True)
    sys.stdin.read()  # stopped here by SIGTERM
"""


def test_a_failed_write_leaves_neither_a_temporary_file_nor_a_half_written_target(tmp_path):
    target = tmp_path / "bands.csv"
    target.write_text("complete\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk went away")
    assert target.read_text() == "complete\n" and [p.name for p in tmp_path.iterdir()] == ["bands.csv"]


def test_sigterm_mid_write_removes_the_temporary_file_and_releases_the_lock(tmp_path):
    run = tmp_path / "run"
    (run / "cams").mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", STOPPED_MID_WRITE, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    assert any(is_temp_file(p) for p in (run / "cams").iterdir())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    proc.stdin.close()
    assert list((run / "cams").iterdir()) == [] and not (run / LOCK_NAME).exists()


def test_only_temporary_files_are_swept(tmp_path):
    temps = [tmp_path / ".tokens.csv.a1b2c3d4.tmp", tmp_path / "cams" / ".pred_norm.npy.zz_9x8y7.npy"]
    others = [
        tmp_path / "tokens.csv",
        tmp_path / ".hidden",
        tmp_path / "cams" / ".a.b.npy",
        tmp_path / "x.abcdefgh.npy",
    ]
    (tmp_path / "cams").mkdir()
    for path in temps + others:
        path.write_bytes(b"")
    assert sorted(remove_temp_files(tmp_path)) == sorted(temps)
    assert all(p.exists() for p in others)
