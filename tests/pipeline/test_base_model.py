"""The base model that ships with the package: present with its card, a vowelcam checkpoint, the model classify
answers with on a fresh install, and a starting point for training (``--init base``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import vowelcam.base_model as base
from vowelcam.cli import app
from vowelcam.learn.model_file import check_model_file


def test_the_package_ships_a_base_model_with_its_card():
    path = base.base_model_path()
    assert path is not None and check_model_file(path) == path
    assert path.stat().st_size < 8_000_000  # a few MB, as a package file should be
    card = base.base_model_card()
    assert card["held_out"]["n_speakers"] >= 8 and 0.0 < card["held_out"]["accuracy"] <= 1.0
    assert card["ljspeech_32"]["n_tokens"] > 0
    assert (Path(base.__file__).parent / "MODEL_CARD.md").is_file()
    assert "held-out speakers" in base.describe_base_model()


@pytest.mark.slow
def test_classify_answers_with_the_base_model_on_a_fresh_install(shared_data, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VOWELCAM_CONFIG_DIR", str(tmp_path / "fresh"))  # nothing remembered
    from vowelcam.classify_recording import classify

    held_out = [s for s in base.base_model_card()["held_out_speakers"] if s[0] in "mw"][:2]
    assert held_out, "the card names the Hillenbrand speakers the model never saw"
    h95 = shared_data / "hillenbrand1995"
    right = total = 0
    for speaker in held_out:
        group = "men" if speaker[0] == "m" else "women"
        for wav in sorted((h95 / group).glob(f"{speaker}*.wav")):
            results = classify(wav, textgrid=h95 / "textgrids" / f"{wav.stem}.TextGrid")
            vowel = [r for r in results if r.label.rstrip("012") not in ("HH", "D")]
            right += sum(r.predicted == r.label.rstrip("012") for r in vowel)
            total += len(vowel)
    assert "base model" in caplog.text
    assert total >= 20 and right / total >= 0.7  # 12 vowels: chance is 8 %


def test_init_base_is_the_only_init_and_excludes_weights(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    result = CliRunner().invoke(app, ["train", str(run), "--init", "imagenet"])
    assert result.exit_code != 0 and "use auto, base or none" in result.output
    (tmp_path / "w.pt").write_bytes(b"")
    result = CliRunner().invoke(app, ["train", str(run), "--init", "base", "--weights", str(tmp_path / "w.pt")])
    assert result.exit_code != 0 and "either --init or --weights" in result.output
