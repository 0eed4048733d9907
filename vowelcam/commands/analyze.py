"""``vowelcam analyze CORPUS``: from recordings and TextGrids to the PDF report, in one command."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..pipeline import AnalyzeSummary, analyze
from .common import console, handle_errors, resolve_settings, rich_progress, setup_logging
from .extract import print_summary as print_extract_summary


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("analyze")(analyze_command)


@handle_errors
def analyze_command(
    corpus: Path = typer.Argument(..., help="Folder with audio (and TextGrids, unless --textgrids)."),
    textgrids: Optional[Path] = typer.Option(None, "--textgrids", "-t", help="Folder of TextGrids."),
    out: Path = typer.Option(Path("vowelcam-run"), "--out", "-o", help="Run directory."),
    model: Optional[Path] = typer.Option(None, "--model", help="Use this trained model instead of training one."),
    task: Optional[str] = typer.Option(None, "--task", help="vowels | vowels4k | voicing"),
    vowels: Optional[str] = typer.Option(None, "--vowels", help="corner | monophthongs | hillenbrand12 | all | IY,AE,..."),
    arch: Optional[str] = typer.Option(None, "--arch", help="auto | resnet18 | resnet34 | resnet50 | resnet101"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Training epochs (upper bound; early stopping)."),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Split groups: auto | speaker | recording (see `vowelcam train --help`)."),
    method: Optional[str] = typer.Option(None, "--method", help="CAM method (gradcam, cam, hirescam, ...)."),
    speaker_pattern: Optional[str] = typer.Option(None, "--speaker-pattern", help="Regex or preset (hillenbrand, timit)."),
    speaker_groups: Optional[Path] = typer.Option(None, "--speaker-groups", help="CSV speaker,group."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings (a run's config.toml works)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Extraction processes."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    force: bool = typer.Option(False, "--force", help="Redo every stage."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Extract -> train (or --model) -> classify -> CAMs -> bands -> report, skipping stages already up to date."""
    setup_logging(verbose)
    settings = resolve_settings(config, {
        "labels": {"vowel_set": vowels},
        "corpus": {"speaker_pattern": speaker_pattern, "speaker_groups": str(speaker_groups) if speaker_groups else None},
        "extract": {"jobs": jobs},
        "train": {"task": task, "arch": arch, "epochs": epochs, "vowels": vowels, "group_by": group_by},
        "cam": {"method": method},
    })
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun: rank 0 shows progress and the summary
        analyze(corpus, out, textgrids, settings, model=model, device=device, force=force)
        return
    with rich_progress() as progress:
        summary = analyze(corpus, out, textgrids, settings, model=model, device=device, force=force, progress=progress)
    print_extract_summary(summary.extract)
    print_analyze_summary(summary)


def print_analyze_summary(summary: AnalyzeSummary) -> None:
    """Stages run or skipped, the accuracy and where the report is."""
    table = Table(title="vowelcam analyze", show_header=True)
    table.add_column("stage")
    table.add_column("result")
    for stage in ("train", "cam", "report"):
        state = "ran" if stage in summary.ran else "up to date (skipped)"
        table.add_row(stage, state)
    result = summary.train
    if result is not None and hasattr(result, "accuracy"):
        table.add_row("test accuracy", f"{100 * result.accuracy:.1f} % (95 % CI {100 * result.ci_low:.1f}-"
                                       f"{100 * result.ci_high:.1f}, resampling {getattr(result, 'ci_unit', 'speaker')}s), "
                                       f"n = {result.n_test}")
    cam = summary.cam
    if cam is not None and hasattr(cam, "hz_per_row"):
        table.add_row("CAM resolution", f"{cam.method} at {cam.layer}: {cam.hz_per_row:.1f} Hz per row")
    console.print(table)
    rep = summary.report
    if rep is not None and getattr(rep, "pdf", None):
        console.print(f"[bold green]report:[/] {rep.pdf}")
    elif rep is not None:
        console.print(f"[yellow]PDF not written ({rep.pdf_error}); HTML report: {rep.html}")
    else:
        console.print(f"report: {summary.run_dir / 'report' / 'report.pdf'} (up to date)")
