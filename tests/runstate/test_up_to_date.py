"""``analyze`` redoes a stage unless its settings, the content of its inputs and every file it wrote are as
recorded; ``--model`` on a trained run is refused or replaces the model and all derived from it.

The stages here are stand-ins that write small files (the real ones are covered in tests/pipeline): what is under
test is the bookkeeping of :mod:`vowelcam.runstate` and the pipeline's use of it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from vowelcam import pipeline
from vowelcam.cli import app
from vowelcam.config import Settings, save_settings
from vowelcam.errors import ModelError
from vowelcam.extract import ExtractSummary
from vowelcam.rundir import RunDir
from vowelcam.runstate import replace
from vowelcam.runstate.replace import ModelReplaceError
from vowelcam.runstate.stages import STAGES_FILE, check_stage, read_records, run_stage

CHECK_FITS = replace._check_fits


class StandIns:
    """Stages that write what the real ones promise, counting their runs."""

    def __init__(self) -> None:
        self.ran: Counter = Counter()
        self.pdf = True  # False: as without WeasyPrint

    def extract(self, corpus, out, textgrids, settings, progress=None, force=False, share=None, runner=None):
        run = RunDir(out).create()
        tokens = run.path("tokens.csv")
        if not tokens.exists() or force:  # the real extraction rewrites tokens.csv each time (same content)
            tokens.write_text("token_id,phone\nt1,IY\n")
        (run.path("spectrograms")).mkdir(exist_ok=True)
        if not (run.path("spectrograms") / "shard-00000.npy").exists():
            (run.path("spectrograms") / "shard-00000.npy").write_bytes(b"spectra")
        save_settings(settings, run.path("config.toml"))
        return ExtractSummary(run.root)

    def train_or_predict(self, run, settings, model, device, progress):
        self.ran["train"] += 1
        (run.path("model")).mkdir(exist_ok=True)
        if model is not None:
            shutil.copyfile(model, run.path("model/model.pt"))
        else:
            run.path("model/model.pt").write_bytes(f"trained {settings.train.epochs} epochs".encode())
            run.path("model/metrics.csv").write_text("epoch\n1\n")
            run.path("model/summary.json").write_text("{}")
        run.path("predictions.csv").write_text(f"token_id,predicted\nt1,{run.path('model/model.pt').read_bytes()}\n")

    def cam(self, run, settings, device, progress, runner=None):
        self.ran["cam"] += 1
        cam_dir = run.path("cams")
        cam_dir.mkdir(exist_ok=True)
        (cam_dir / "meta.json").write_text(json.dumps({"method": settings.cam.method}))
        (cam_dir / "true.npy").write_bytes(f"maps of {settings.cam.method}".encode())
        run.path("bands.csv").write_text("token_id\nt1\n")
        run.path("agreement.csv").write_text(f"method\n{settings.cam.method}\n")

    def report(self, run, progress):
        self.ran["report"] += 1
        run.path("report").mkdir(exist_ok=True)
        run.path("report/report.html").write_text(run.path("agreement.csv").read_text())
        if self.pdf:
            run.path("report/report.pdf").write_bytes(b"%PDF")


@pytest.fixture
def stages(monkeypatch) -> StandIns:
    fake = StandIns()
    monkeypatch.setattr(pipeline, "extract", fake.extract)
    monkeypatch.setattr(pipeline, "_train_or_predict", fake.train_or_predict)
    monkeypatch.setattr(pipeline, "_cam", fake.cam)
    monkeypatch.setattr(pipeline, "_report", fake.report)
    monkeypatch.setattr(replace, "_check_fits", lambda model, spectrogram: None)  # the stand-in models are no models
    return fake


def _analyze(tmp_path: Path, **kwargs):
    (tmp_path / "corpus").mkdir(exist_ok=True)
    return pipeline.analyze(tmp_path / "corpus", tmp_path / "run", **kwargs)


def test_a_second_analyze_skips_every_stage_and_keeps_the_records(stages, tmp_path):
    first = _analyze(tmp_path)
    records = json.loads((tmp_path / "run" / STAGES_FILE).read_text())
    second = _analyze(tmp_path)
    assert first.ran == ["train", "cam", "report"] and second.skipped == ["train", "cam", "report"]
    assert json.loads((tmp_path / "run" / STAGES_FILE).read_text()) == records
    assert set(records["report"]["outputs"]) == {"report/report.html", "report/report.pdf"}


def test_a_deleted_report_pdf_is_redone(stages, tmp_path):
    _analyze(tmp_path)
    (tmp_path / "run" / "report" / "report.pdf").unlink()
    assert check_stage(tmp_path / "run", "report", {}).reason == "report/report.pdf is missing"
    again = _analyze(tmp_path)
    assert again.ran == ["report"] and (tmp_path / "run" / "report" / "report.pdf").exists()


def test_an_output_changed_by_hand_is_redone(stages, tmp_path):
    _analyze(tmp_path)
    (tmp_path / "run" / "cams" / "true.npy").write_bytes(b"random bytes")
    assert _analyze(tmp_path).ran == ["cam", "report"]


def test_a_cam_run_alone_with_other_settings_makes_analyze_redo_cam_and_report(stages, tmp_path, monkeypatch):
    _analyze(tmp_path)
    run = tmp_path / "run"
    other = Settings().with_overrides({"cam": {"method": "layercam"}})
    run_stage(run, "cam", {"cam": other.to_dict()["cam"]}, lambda: stages.cam(RunDir(run), other, "cpu", None))
    assert "report" not in read_records(run)  # downstream of a stage run alone: stale
    again = _analyze(tmp_path)
    assert again.ran == ["cam", "report"]
    assert json.loads((run / "cams" / "meta.json").read_text())["method"] == Settings().cam.method
    assert Settings().cam.method in (run / "report" / "report.html").read_text()


def test_the_cam_command_records_its_stage(stages, tmp_path, monkeypatch):
    from vowelcam.explain import stage as explain_stage

    _analyze(tmp_path)
    run = tmp_path / "run"

    def explain_run(run_dir, settings, device="auto", progress=None, runner=None):
        stages.cam(RunDir(run_dir), Settings(cam=settings), device, progress)
        return explain_stage.CamSummary(settings.method, "layer4", 100.0, 1, 1.0, 0, 0, 1.0, [])

    monkeypatch.setattr(explain_stage, "explain_run", explain_run)
    result = CliRunner().invoke(app, ["cam", str(run), "--method", "layercam", "--no-faithfulness"])
    assert result.exit_code == 0, result.output
    assert read_records(run)["cam"]["config"]["cam"]["method"] == "layercam"
    assert _analyze(tmp_path).ran == ["cam", "report"]


def test_a_changed_input_redoes_the_stages_after_it_and_a_touched_one_does_not(stages, tmp_path):
    _analyze(tmp_path)
    tokens = tmp_path / "run" / "tokens.csv"
    tokens.write_text(tokens.read_text())  # same content, new mtime
    assert _analyze(tmp_path).ran == []
    tokens.write_text("token_id,phone\nt1,AE\n")
    assert _analyze(tmp_path).ran == ["train", "cam", "report"]


def test_other_training_settings_redo_training(stages, tmp_path):
    _analyze(tmp_path)
    settings = Settings().with_overrides({"train": {"epochs": 3}})
    assert _analyze(tmp_path, settings=settings).ran == ["train", "cam", "report"]


def test_a_replaced_model_file_is_noticed(stages, tmp_path):
    model = tmp_path / "given.pt"
    model.write_bytes(b"model one")
    assert _analyze(tmp_path, model=model).ran == ["train", "cam", "report"]
    assert _analyze(tmp_path, model=model).ran == []
    model.write_bytes(b"model two")  # same path, other bytes
    assert _analyze(tmp_path, model=model).ran == ["train", "cam", "report"]
    assert (tmp_path / "run" / "model" / "model.pt").read_bytes() == b"model two"


def test_a_model_overwritten_with_its_size_and_time_kept_is_noticed(stages, tmp_path):
    _analyze(tmp_path)
    model = tmp_path / "run" / "model" / "model.pt"
    stat = model.stat()
    model.write_bytes(model.read_bytes().replace(b"trained", b"TRAINED"))  # same size
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _analyze(tmp_path).ran == ["train", "cam", "report"]


def test_a_model_given_to_a_trained_run_is_refused_without_force(stages, tmp_path):
    _analyze(tmp_path)
    run = tmp_path / "run"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    model = tmp_path / "given.pt"
    model.write_bytes(b"another model")
    with pytest.raises(ModelReplaceError, match="--force"):
        _analyze(tmp_path, model=model)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # nothing touched


def test_force_replaces_the_model_and_everything_derived_from_it(stages, tmp_path):
    _analyze(tmp_path)
    run = tmp_path / "run"
    (run / "faithfulness.csv").write_text("from the trained model\n")
    model = tmp_path / "given.pt"
    model.write_bytes(b"another model")
    summary = _analyze(tmp_path, model=model, force=True)
    assert summary.ran == ["train", "cam", "report"]
    assert (run / "model" / "model.pt").read_bytes() == b"another model"
    assert not (run / "model" / "metrics.csv").exists() and not (run / "model" / "summary.json").exists()
    assert not (run / "faithfulness.csv").exists()


def test_force_with_a_file_that_is_no_model_removes_nothing(stages, tmp_path, monkeypatch):
    monkeypatch.setattr(replace, "_check_fits", CHECK_FITS)  # the real check: load the given model
    _analyze(tmp_path)
    run = tmp_path / "run"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    model = tmp_path / "given.pt"
    model.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        _analyze(tmp_path, model=model, force=True)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_the_cli_refusal_is_one_line_naming_force(stages, tmp_path):
    import torch

    from vowelcam.learn.model_file import CHECKPOINT_FORMAT

    _analyze(tmp_path)
    model = tmp_path / "given.pt"
    torch.save({"format": CHECKPOINT_FORMAT}, model)  # passes the command's early check of the file
    args = ["analyze", str(tmp_path / "corpus"), "--out", str(tmp_path / "run"), "--model", str(model)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--force" in lines[0] and "model.pt" in lines[0]


def test_an_up_to_date_report_is_named_by_the_file_that_exists(stages, tmp_path, monkeypatch):
    from vowelcam.commands import analyze as analyze_command

    stages.pdf = False  # as without WeasyPrint
    _analyze(tmp_path)
    summary = _analyze(tmp_path)
    shown = io.StringIO()
    monkeypatch.setattr(analyze_command, "out", Console(file=shown, width=500))
    analyze_command.print_analyze_summary(summary)
    assert "report.html (up to date)" in shown.getvalue() and "report.pdf" not in shown.getvalue()


def test_a_stages_file_of_an_older_version_redoes_every_stage(stages, tmp_path):
    _analyze(tmp_path)
    (tmp_path / "run" / STAGES_FILE).write_text(json.dumps({"train": "ab12", "cam": "cd34", "report": "ef56"}))
    assert _analyze(tmp_path).ran == ["train", "cam", "report"]
