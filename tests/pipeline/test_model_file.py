"""Where a model is: a run directory, its model/ folder or model.pt; a missing or foreign one is one line, before
torch loads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vowelcam.errors import ModelError
from vowelcam.learn.model_file import model_file, remember_model, resolve_model_path


def _fake_checkpoint(path: Path, tagged: bool = True) -> Path:
    """A torch-format zip whose pickle carries (or lacks) the vowelcam format tag, written without torch."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    payload = b"\x80\x02}q\x00X\x06\x00\x00\x00formatq\x01X\x0e\x00\x00\x00vowelcam-model" if tagged else b"\x80\x02}."
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", payload)
    return path


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VOWELCAM_CONFIG_DIR", str(tmp_path / "config"))


def test_a_run_directory_its_model_folder_or_the_file(tmp_path):
    pt = _fake_checkpoint(tmp_path / "run" / "model" / "model.pt")
    assert model_file(tmp_path / "run") == pt
    assert model_file(tmp_path / "run" / "model") == pt
    assert model_file(pt) == pt


def test_missing_empty_and_foreign_models_are_one_line(tmp_path):
    with pytest.raises(ModelError, match="no such model file or run directory"):
        model_file(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"a folder without a trained model \(no model/model.pt\)"):
        model_file(tmp_path / "empty")
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(160), 16000)
    with pytest.raises(ModelError, match="not a vowelcam model \\(not a PyTorch checkpoint\\)"):
        model_file(wav)
    with pytest.raises(ModelError, match="without the 'vowelcam-model' tag"):
        model_file(_fake_checkpoint(tmp_path / "plain.pt", tagged=False))


def test_the_remembered_model_is_the_default_and_the_base_model_the_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr("vowelcam.base_model.base_model_path", lambda: None)
    with pytest.raises(ModelError, match="none remembered, and this installation has no base model.*vowelcam analyze"):
        resolve_model_path(None)
    base = _fake_checkpoint(tmp_path / "base.pt")
    monkeypatch.setattr("vowelcam.base_model.base_model_path", lambda: base)
    assert resolve_model_path(None) == base and resolve_model_path("base") == base
    pt = _fake_checkpoint(tmp_path / "run" / "model" / "model.pt")
    remember_model(pt)
    assert resolve_model_path(None) == pt.resolve()  # the user's own model comes first
    assert resolve_model_path("base") == base


@pytest.mark.parametrize("command", ["classify", "analyze"])
def test_a_wrong_model_fails_in_one_line_without_torch(tmp_path, command):
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(1600), 16000)
    target = [str(wav)] if command == "classify" else [str(tmp_path), "--out", str(tmp_path / "run")]
    script = textwrap.dedent(
        f"""
        import atexit, sys
        atexit.register(lambda: print("torch loaded:", "torch" in sys.modules, file=sys.stderr))
        sys.argv = ["vowelcam", {command!r}, *{target!r}, "--model", {str(tmp_path / "none")!r}]
        from vowelcam.cli import app
        app()
        """
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert lines[-1] == "torch loaded: False"
    assert len(lines) == 2 and "no such model file or run directory" in lines[0]
