"""Setting values are checked the same way from a flag, a config file and the API: type, range, choices, lists;
one line per bad key, naming it; a config file that is not UTF-8 TOML is one line too."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vowelcam.checks.settings_rules import RULES
from vowelcam.cli import app
from vowelcam.commands import choices
from vowelcam.config import Settings, load_settings, save_settings
from vowelcam.errors import ConfigError

BAD_VALUES = [
    ("train", "epochs", "3.9", "train.epochs = 3.9: expected a whole number"),
    ("train", "epochs", "-5", "train.epochs = -5: must be at least 0"),
    ("train", "augment", '"maybe"', 'train.augment = "maybe": expected true or false'),
    ("corpus", "audio_extensions", '".wav"', 'corpus.audio_extensions = ".wav": expected a list'),
    ("train", "task", '"vowel"', 'train.task = "vowel": use one of "vowels", "vowels4k", "voicing"'),
    ("measure", "points", "[20, 150]", "measure.points = [20, 150]: percentages of the vowel lie in 0..100"),
    ("train", "lr", '"0.001"', 'train.lr = "0.001": expected a number'),
    ("train", "folds", "1", "train.folds = 1: use 0 (one held-out split) or at least 2"),
    ("cam", "method", '"gradkam"', "cam.method = \"gradkam\": unknown CAM method 'gradkam'"),
]


def _config(tmp_path: Path, section: str, key: str, value: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(f"[{section}]\n{key} = {value}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("section", "key", "value", "message"), BAD_VALUES)
def test_each_bad_config_value_is_refused_in_one_line_naming_the_key(tmp_path, section, key, value, message):
    path = _config(tmp_path, section, key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).splitlines() == [f"{path}: {message}" + str(caught.value).split(message, 1)[1]]
    assert message in str(caught.value)


@pytest.mark.parametrize(("section", "key", "value", "message"), BAD_VALUES[:4])
def test_the_command_line_refuses_a_bad_config_value_in_one_line_before_writing(tmp_path, section, key, value, message):
    path = _config(tmp_path, section, key, value)
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(run), "--config", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
    assert not run.exists()


def test_several_bad_values_give_one_line_each(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[train]\nepochs = 3.9\naugment = "maybe"\n[corpus]\naudio_extensions = ".wav"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1].split(" =")[0] for line in lines] == [
        "train.epochs",
        "train.augment",
        "corpus.audio_extensions",
    ]


def test_api_keywords_follow_the_same_rules():
    with pytest.raises(ConfigError, match=r"train\.epochs = -5: must be at least 0"):
        Settings().with_overrides({"train": {"epochs": -5}})
    with pytest.raises(ConfigError, match=r"train\.augment = \"maybe\""):
        Settings().with_overrides({"train": {"augment": "maybe"}})


def test_good_values_pass_and_keep_their_types(tmp_path):
    settings = Settings().with_overrides(
        {"train": {"epochs": 3, "augment": "no", "lr": 1}, "corpus": {"audio_extensions": [".wav"]}}
    )
    assert settings.train.epochs == 3 and settings.train.augment is False and settings.train.lr == 1.0
    assert settings.corpus.audio_extensions == (".wav",)
    save_settings(settings, tmp_path / "config.toml")  # a run's own config reads back
    assert load_settings(tmp_path / "config.toml") == settings
    save_settings(Settings(), tmp_path / "defaults.toml")
    assert load_settings(tmp_path / "defaults.toml") == Settings()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\xbb", "not a UTF-8 text file"),
        ("[train]\nepochs = 3\n".encode("utf-16"), "not a UTF-8 text file (byte 0xff at offset 0)"),
        ('[report]\ntitle = "Café"\n'.encode("latin-1"), "not a UTF-8 text file (byte 0xe9"),
        (b"[train\nepochs = 3\n", "not valid TOML"),
    ],
)
def test_a_config_file_that_is_not_utf8_toml_is_one_line(tmp_path, content, message):
    path = tmp_path / "settings.toml"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["train", str(tmp_path / "run"), "--config", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
    assert "Traceback" not in result.output


def test_a_utf8_config_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff[report]\ntitle = \"Café\"\n".encode())
    assert load_settings(path).report.title == "Café"


ENUM_SETTINGS = {
    "train.task": choices.Task,
    "train.arch": choices.Arch,
    "train.precision": choices.Precision,
    "train.schedule": choices.Schedule,
    "train.group_by": choices.GroupBy,
    "cam.tokens": choices.CamTokens,
    "labels.stress": choices.Stress,
    "corpus.speaker_from": choices.SpeakerFrom,
}


@pytest.mark.parametrize("key", sorted(ENUM_SETTINGS))
def test_config_choices_are_the_flags_choices(key):
    enum: type[Enum] = ENUM_SETTINGS[key]
    assert set(RULES[key].choices) == {m.value for m in enum}


def test_config_layer_choices_are_the_flags_plus_the_models_own():
    assert set(RULES["cam.layer"].choices) == {"", *(m.value for m in choices.CamLayer)}


def test_flag_minimums_are_the_config_minimums():
    """Every flag with ``min=`` that sets a setting refuses what the config refuses, and no more."""
    import typer.main

    command = typer.main.get_command(app)
    checked = 0
    for sub in command.commands.values():
        for param in sub.params:
            key = _setting_key(param)
            if key is None or getattr(param, "min", None) is None:
                continue
            rule = RULES[key]
            assert param.min == (0 if rule.positive else rule.low), (sub.name, param.name, key)
            checked += 1
    assert checked >= 10


FLAG_KEYS = {  # the flags with min= and the settings they set
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "patience": "train.patience",
    "folds": "train.folds",
    "min_class_tokens": "train.min_class_tokens",
    "max_hz_per_row": "train.max_hz_per_row",
    "freq_pool": "train.freq_pool",
    "time_pool": "train.time_pool",
    "workers": "train.workers",
    "eval_batch_size": "train.eval_batch_size",
    "jobs": "extract.jobs",
    "min_duration": "labels.min_duration_ms",
    "max_freq": "spectrogram.max_freq",
    "track_step": "measure.track_step",
    "halfwidth": "cam.band_halfwidth_hz",
    "randomisation_seeds": "cam.randomisation_seeds",
    "causal_max_tokens": "cam.causal_max_tokens",
}


def _setting_key(param) -> str | None:
    if param.name == "batch_size" and "Tokens per batch" in (param.help or ""):
        return "cam.batch_size"
    return FLAG_KEYS.get(param.name)


def test_every_rule_names_a_setting():
    known = {f"{section}.{key}" for section, values in Settings().to_dict().items() for key in values}
    assert set(RULES) <= known, sorted(set(RULES) - known)
