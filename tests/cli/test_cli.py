"""First contact: -h, choices, one-line usage errors before anything is written, stdout/stderr, start-up imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from vowelcam.cli import app
from vowelcam.commands import choices

COMMANDS = ["analyze", "synth", "extract", "train", "classify", "cam", "report"]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_short_help_shows_choices_and_defaults(command):
    res = CliRunner().invoke(app, [c for c in (command, "-h") if c])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("Usage:") and res.stderr == ""
    text = " ".join(res.stdout.split())  # help is wrapped to the terminal width
    if command == "train":
        assert "<vowels|vowels4k|voicing>" in text and "[default: (vowels)]" in text
        assert (
            "<auto|resnet18|resnet34|resnet50|resnet101|resnet18-w32|resnet18-w16>" in text
            and "[default: (0 = enough for ~1400 optimizer steps, 30-300); x>=0]" in text
        )
    if command == "extract":  # brackets and regex groups survive (no markup)
        assert "(?P<speaker>...) [and (?P<group>...)]" in text
        assert "<any|stressed|primary|unstressed>" in text
    if command == "cam":  # the study's methods first, then any the registry has gained (in file-name order)
        from vowelcam.explain.maps.methods import CAM_METHODS

        assert "<cam|gradcam|gradcam++|hirescam|layercam|scorecam" in text and f"<{'|'.join(CAM_METHODS)}>" in text
    if command == "":
        assert "--install-completion" in text  # shell completion is on


def test_arguments_are_named_as_the_things_they_are():
    usages = {c: CliRunner().invoke(app, [c, "-h"]).stdout.splitlines()[0] for c in ("classify", "show", "analyze")}
    assert usages["classify"] == "Usage: vowelcam classify [OPTIONS] RECORDING|CORPUS"
    assert usages["show"] == "Usage: vowelcam show [OPTIONS] RUN_DIR TOKEN_ID"
    assert usages["analyze"] == "Usage: vowelcam analyze [OPTIONS] CORPUS"
    assert "{" not in " ".join(usages.values())
    missing = CliRunner().invoke(app, ["train"])
    assert missing.exit_code == 2 and "Missing argument 'RUN_DIR'" in missing.output


@pytest.mark.parametrize(
    "args, flag",
    [
        (["extract", "{corpus}", "--out", "{run}", "--stress", "bogus"], "--stress"),
        (["extract", "{corpus}", "--out", "{run}", "--vowels", "IY,S"], "--vowels"),
        (["extract", "{corpus}", "--out", "{run}", "--speaker-from", "ear"], "--speaker-from"),
        (["analyze", "{corpus}", "--out", "{run}", "--arch", "resnet9"], "--arch"),
        (["analyze", "{corpus}", "--out", "{run}", "--method", "gradcam3"], "--method"),
        (["analyze", "{corpus}", "--out", "{run}", "--device", "gpu"], "--device"),
        (["analyze", "{corpus}", "--out", "{run}", "--epochs", "-1"], "--epochs"),
        (["train", "{run}", "--task", "formants"], "--task"),
        (["train", "{run}", "--schedule", "linear"], "--schedule"),
        (["cam", "{run}", "--layer", "layer9"], "--layer"),
        (["cam", "{run}", "--reference", "xx99"], "--reference"),
        (["synth", "{run}", "--groups", "men,elves"], "--groups"),
    ],
)
def test_bad_values_are_one_line_errors_before_anything_is_written(args, flag, repo_root, tmp_path):
    run = tmp_path / "run"
    argv = [a.format(corpus=repo_root / "sample_data" / "corpus", run=run) for a in args]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"'{flag}'" in lines[0] and lines[0].endswith("(-h for help)"), res.stderr
    assert "Traceback" not in res.stderr and not run.exists()


def test_extract_checks_the_corpus_before_creating_the_run_dir(tmp_path):
    import vowelcam
    from vowelcam.errors import VowelcamError

    res = CliRunner().invoke(app, ["extract", str(tmp_path / "missing"), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "does not exist" in res.stderr and not (tmp_path / "run").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no audio here")
    for command in ("extract", "analyze"):
        res = CliRunner().invoke(app, [command, str(empty), "--out", str(tmp_path / "run")])
        assert res.exit_code == 2 and "no audio/label pairs" in res.stderr and res.stdout == ""
        assert not (tmp_path / "run").exists()
    with pytest.raises(VowelcamError, match="no audio/label pairs"):
        vowelcam.extract(empty, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_start_up_imports_no_torch_praat_or_plotting():
    code = (
        "import sys, vowelcam, vowelcam.cli; "
        "heavy = [m for m in ('torch', 'torchvision', 'parselmouth', 'matplotlib', 'weasyprint', 'scipy', "
        "'sklearn', 'numpy') if m in sys.modules]; print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    version = subprocess.run(
        [sys.executable, "-m", "vowelcam", "--version"], capture_output=True, text=True, timeout=120
    )
    assert version.returncode == 0 and version.stdout.strip().startswith("vowelcam ")


def test_choices_match_the_library():
    from vowelcam.corpus.labels import VOWEL_SETS
    from vowelcam.corpus.published_formants import SOURCES
    from vowelcam.explain.maps.methods import CAM_METHODS
    from vowelcam.learn.dataset import GROUP_BY, TASK_MAX_FREQ
    from vowelcam.learn.device import PRECISIONS
    from vowelcam.learn.models import ALL_ARCHS, CAM_LAYERS

    assert [t.value for t in choices.Task] == list(TASK_MAX_FREQ)
    assert tuple(g.value for g in choices.GroupBy) == GROUP_BY
    assert [a.value for a in choices.Arch] == ["auto", *ALL_ARCHS]
    assert tuple(p.value for p in choices.Precision) == PRECISIONS
    assert tuple(m.value for m in choices.CamMethod) == CAM_METHODS
    assert tuple(m.value for m in choices.CamLayer) == CAM_LAYERS
    assert set(choices.VOWEL_SET_NAMES) == {*VOWEL_SETS, "all"}
    assert set(choices.REFERENCE_NAMES) == set(SOURCES)


def test_api_functions_mirror_the_commands(tmp_path, monkeypatch):
    import inspect

    import vowelcam
    from vowelcam.api import settings_for
    from vowelcam.errors import ConfigError

    for name in ("extract", "train", "explain", "report", "analyze", "classify", "read_tokens", "read_bands"):
        fn = getattr(vowelcam, name)
        assert callable(fn) and "run" in (inspect.getdoc(getattr(vowelcam.api, name)) or "").lower() + "run"
    assert list(inspect.signature(vowelcam.extract).parameters)[:3] == ["corpus", "out", "textgrids"]
    import vowelcam.extract as extract_module  # still the module, and still callable afterwards

    assert hasattr(extract_module, "ExtractSummary") and callable(vowelcam.extract)
    settings = settings_for(("train",), epochs=3, task="vowels4k")
    assert (settings.train.epochs, settings.train.task) == (3, "vowels4k")
    both = settings_for(("train", "cam"), train={"seed": 4}, cam={"seed": 5}, method="hirescam")
    assert (both.train.seed, both.cam.seed, both.cam.method) == (4, 5, "hirescam")
    with pytest.raises(ConfigError, match="'seed' is a setting of train and cam"):
        settings_for(("train", "cam"), seed=1)
    with pytest.raises(ConfigError, match="'epoch' is not a setting of train"):
        settings_for(("train",), epoch=1)


def test_read_tokens_is_a_dataframe_or_a_clear_error(tmp_path, monkeypatch):
    import vowelcam
    from vowelcam import rundir

    rundir.write_csv(
        tmp_path / "tokens.csv",
        [
            {"token_id": "a:1", "speaker": "007", "phone": "IY", "f1_50": 310.5},
            {"token_id": "a:2", "speaker": "NA", "phone": "AA", "f1_50": None},
        ],
        ["token_id", "speaker", "phone", "f1_50"],
    )
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            vowelcam.read_tokens(tmp_path)
        return
    frame = vowelcam.read_tokens(tmp_path)
    assert list(frame.columns) == ["token_id", "speaker", "phone", "f1_50"]
    assert frame["speaker"].tolist() == ["007", "NA"]  # ids stay strings
    assert frame["f1_50"].iloc[0] == 310.5 and frame["f1_50"].isna().tolist() == [False, True]
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        vowelcam.read_bands(tmp_path)


def test_api_sections_are_the_settings_sections():
    import dataclasses

    from vowelcam.api import ALL_SECTIONS
    from vowelcam.config import Settings

    assert ALL_SECTIONS == tuple(f.name for f in dataclasses.fields(Settings))
