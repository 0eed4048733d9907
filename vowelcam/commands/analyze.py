"""``vowelcam analyze CORPUS``: from recordings and TextGrids to the PDF report, in one command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import Arch, CamMethod, GroupBy, Precision, Task, check_vowels
from .common import (
    config_option,
    console,
    dask_option,
    device_option,
    handle_errors,
    maybe_cluster,
    out,
    output_overrides,
    resolve_settings,
    rich_progress,
    say_waiting,
    setting,
    setup_logging,
    verbose_option,
    wait_option,
)
from .extract import (
    carry_tier_option,
    corpus_argument,
    points_option,
    textgrids_option,
    track_step_option,
)
from .extract import (
    print_summary as print_extract_summary,
)
from .train import init_option, initial_weights

if TYPE_CHECKING:
    from ..pipeline import AnalyzeSummary


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("analyze")(analyze_command)


@handle_errors
def analyze_command(
    corpus: Path = corpus_argument(),
    textgrids: Optional[Path] = textgrids_option(),
    out_dir: Path = typer.Option(Path("vowelcam-run"), "--out", "-o", help="Run directory."),
    model: Optional[Path] = typer.Option(
        None,
        "--model",
        metavar="RUN_DIR|MODEL.pt",
        help="Use this trained model (a run directory or its model/model.pt) instead of training one.",
    ),
    task: Optional[Task] = setting("train.task", "--task", help="vowels (full band), vowels4k (<= 4 kHz), voicing."),
    vowels: Optional[str] = setting(
        "labels.vowel_set",
        "--vowels",
        callback=check_vowels,
        help="corner | monophthongs | hillenbrand12 | all | a list such as IY,AE,UW.",
    ),
    arch: Optional[Arch] = setting(
        "train.arch",
        "--arch",
        help="auto = resnet101 on a GPU, resnet18-w16 on a CPU (a quarter-width ResNet-18: same Hz"
        " per CAM row, ~11x faster training).",
    ),
    precision: Optional[Precision] = setting(
        "train.precision",
        "--precision",
        help="Training steps: auto = bf16 on CUDA and on CPUs with bf16 instructions, else fp32.",
    ),
    init: Optional[str] = init_option(),
    epochs: Optional[int] = setting(
        "train.epochs",
        "--epochs",
        min=0,
        shown="0 = enough for ~1400 optimizer steps, 30-300",
        help="Training epochs (upper bound; early stopping).",
    ),
    min_class_tokens: Optional[int] = setting(
        "train.min_class_tokens",
        "--min-class-tokens",
        min=1,
        help="Leave out classes with fewer tokens (listed in model/problems.csv).",
    ),
    group_by: Optional[GroupBy] = setting(
        "train.group_by",
        "--group-by",
        help="Split groups: auto (speakers; recordings for one speaker; else an error) | speaker | recording.",
    ),
    method: Optional[CamMethod] = setting("cam.method", "--method", help="CAM method."),
    instruments: Optional[str] = setting(
        "cam.instruments",
        "--instruments",
        shown="auto: every calibrated instrument",
        help="Comma list: METHOD@LAYER (gradcam@layer3), occlusion, integrated-gradients; verdicts per instrument.",
    ),
    speaker_pattern: Optional[str] = setting(
        "corpus.speaker_pattern",
        "--speaker-pattern",
        shown="none",
        help="Regex with (?P<speaker>...) [and (?P<group>...)], or a preset: hillenbrand, timit.",
    ),
    speaker_groups: Optional[Path] = setting(
        "corpus.speaker_groups",
        "--speaker-groups",
        shown="none",
        exists=True,
        dir_okay=False,
        help="CSV speaker,group[,ceiling]; other columns go to tokens.csv.",
    ),
    jobs: Optional[int] = setting("extract.jobs", "--jobs", "-j", min=1, help="Extraction processes."),
    dask: Optional[str] = dask_option("Extract and compute the maps", "the corpus and the run directory"),
    device: str = device_option(),
    track_step: Optional[float] = track_step_option(),
    points: Optional[str] = points_option(),
    carry_tier: Optional[list[str]] = carry_tier_option(),
    force: bool = typer.Option(
        False, "--force", help="Redo every stage; with --model on a trained run, replace its model and all derived."
    ),
    wait: bool = wait_option(),
    config: Optional[Path] = config_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Extract -> train (or --model) -> classify -> CAMs -> bands -> report, skipping stages already up to date."""
    setup_logging(verbose)
    settings = resolve_settings(
        config,
        {
            "labels.vowel_set": vowels,
            "corpus.speaker_pattern": speaker_pattern,
            "corpus.speaker_groups": speaker_groups,
            "extract.jobs": jobs,
            "train.task": task,
            "train.arch": arch,
            "train.weights": initial_weights(None, init),
            "train.epochs": epochs,
            "train.vowels": vowels,
            "train.min_class_tokens": min_class_tokens,
            "train.group_by": group_by,
            "train.precision": precision,
            "cam.method": method,
            "cam.instruments": instruments,
        },
    )
    from ..learn.model_file import model_file, remember_model

    if model is not None:
        model = model_file(model)  # a missing or foreign model fails here, before torch loads
    from ..pipeline import analyze

    settings = settings.with_overrides(output_overrides(track_step, points, carry_tier))
    with maybe_cluster(dask, "extracting and computing maps") as runner:
        if int(os.environ.get("RANK", "0")) != 0:  # under torchrun: rank 0 shows progress and the summary
            analyze(corpus, out_dir, textgrids, settings, model=model, device=device, force=force, runner=runner)
            return
        if wait:
            _say_if_locked(out_dir)
        with rich_progress() as progress:
            summary = analyze(
                corpus,
                out_dir,
                textgrids,
                settings,
                model=model,
                device=device,
                force=force,
                progress=progress,
                runner=runner,
                wait=wait,
            )
    print_extract_summary(summary.extract)
    used = model if model is not None else summary.run_dir / "model" / "model.pt"
    remembered = used if used.is_file() else None
    if remembered is not None:
        remember_model(remembered)
    print_analyze_summary(summary, remembered)


def _say_if_locked(run_dir: Path) -> None:
    """With ``--wait``: say so when another writer holds the run (before the progress bars start)."""
    from ..runstate.lock import holder

    current = holder(run_dir)
    if current:
        say_waiting(current)


def print_analyze_summary(summary: AnalyzeSummary, remembered: Path | None = None) -> None:
    """Stages run or skipped, the accuracy and where the report is (stdout); training warnings and the model
    remembered for ``classify`` (stderr)."""
    from .train import held_out_row, print_warnings

    table = Table(title="vowelcam analyze", show_header=True)
    table.add_column("stage")
    table.add_column("result")
    for stage in ("train", "cam", "report"):
        table.add_row(stage, "ran" if stage in summary.ran else "up to date (skipped)")
    result = summary.train
    if result is not None and hasattr(result, "accuracy"):
        chance = f"; chance {100 * result.chance:.1f} %" if hasattr(result, "chance") else ""
        table.add_row(
            "test accuracy",
            f"{100 * result.accuracy:.1f} % (95 % CI {100 * result.ci_low:.1f}-"
            f"{100 * result.ci_high:.1f}, resampling {getattr(result, 'ci_unit', 'speaker')}s), "
            f"n = {result.n_test}{chance}",
        )
        tested = held_out_row(result)
        if tested is not None:
            table.add_row(*tested)
    cam = summary.cam
    if cam is not None and hasattr(cam, "hz_per_row"):
        table.add_row("CAM resolution", f"{cam.method} at {cam.layer}: {cam.hz_per_row:.1f} Hz per row")
    rep = summary.report
    if rep is not None and getattr(rep, "pdf", None):
        table.add_row("[bold green]report", escape(str(rep.pdf)))
    elif rep is not None:
        table.add_row("[yellow]report", f"HTML {escape(str(rep.html))} (PDF not written: {escape(str(rep.pdf_error))})")
    else:  # up to date: the PDF, or the HTML where WeasyPrint could not write one
        pdf = summary.run_dir / "report" / "report.pdf"
        shown = pdf if pdf.exists() else pdf.with_suffix(".html")
        table.add_row("report", f"{escape(str(shown))} (up to date)")
    out.print(table)
    if result is not None:
        print_warnings(result)
    if remembered is not None:
        console.print(f"model {escape(str(remembered))} remembered as the default for `vowelcam classify`")
