"""Without ``--dask`` nothing of Dask is imported: not by ``vowelcam -h``, not by an extraction, not by classifying
a corpus (``cam`` opens its runner the same way, :func:`vowelcam.commands.common.maybe_cluster`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers.corpus import write_pair

SCRIPT = """
import json, sys
from vowelcam.cli import app
for args in [["-h"], *json.loads(sys.argv[1])]:
    try:
        app(args, standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))))
"""


def modules_after(commands: list[list[str]], cwd) -> list[str]:
    """The Dask modules a fresh process has imported after ``vowelcam -h`` and ``commands`` (without
    ``$VOWELCAM_DASK``)."""
    env = {k: v for k, v in os.environ.items() if k != "VOWELCAM_DASK"}
    command = [sys.executable, "-c", SCRIPT, json.dumps(commands)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_dask_import_without_the_flag(tmp_path):
    write_pair(tmp_path / "corpus", "utt", ["IY1", "AE1"])
    args = ["extract", str(tmp_path / "corpus"), "--out", str(tmp_path / "run")]
    assert modules_after([args], tmp_path) == []
    assert (tmp_path / "run" / "tokens.csv").exists()  # the extraction really ran


def test_no_dask_import_when_classifying_a_corpus(corpus, trained_run_dir, tmp_path):
    classify = ["classify", str(corpus), "--model", str(trained_run_dir), "--out", str(tmp_path / "p.csv")]
    assert modules_after([classify], tmp_path) == []
    assert (tmp_path / "p.csv").exists()  # it really ran


def test_dask_flag_without_the_extra_is_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from vowelcam.cli import app

    monkeypatch.setitem(sys.modules, "distributed", None)  # an import of it fails, as without the extra
    write_pair(tmp_path / "corpus", "utt", ["IY1"])
    args = ["extract", str(tmp_path / "corpus"), "--out", str(tmp_path / "run"), "--dask", "tcp://127.0.0.1:8786"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --dask needs Dask's distributed scheduler: pip install 'vowelcam[cluster]'"
    ]
    assert not (tmp_path / "run").exists()
