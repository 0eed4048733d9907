"""``vowelcam train RUN_DIR``: fit a ResNet classifier on a run's spectrograms and score it on held-out speakers."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..config import save_settings
from ..learn.classify import remember_model
from ..learn.distributed import from_env
from ..learn.train import TrainResult, train
from .common import console, handle_errors, out, resolve_settings, rich_progress, setup_logging


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("train")(train_command)


@handle_errors
def train_command(
    run_dir: Path = typer.Argument(..., help="Run directory written by `vowelcam extract`."),
    task: Optional[str] = typer.Option(None, "--task", help="vowels (full band) | vowels4k (<= 4 kHz) | voicing (vowel vs unvoiced, <= 4 kHz)."),
    vowels: Optional[str] = typer.Option(None, "--vowels", help="corner | monophthongs | hillenbrand12 | all | IY,AE,..."),
    arch: Optional[str] = typer.Option(None, "--arch", help="auto (resnet101 on GPU, resnet18 on CPU) | resnet18 | resnet34 | resnet50 | resnet101"),
    pretrained: Optional[bool] = typer.Option(None, "--pretrained/--scratch", help="Start from ImageNet weights (torch cache or download)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Start from a local weights file (state dict or model.pt)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Maximum epochs per fold."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    lr: Optional[float] = typer.Option(None, "--lr", help="AdamW learning rate."),
    schedule: Optional[str] = typer.Option(None, "--schedule", help="cosine | plateau"),
    patience: Optional[int] = typer.Option(None, "--patience", help="Stop after this many epochs without a better validation score."),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Split groups: auto (speaker; recording for one speaker; else an error) | speaker | recording."),
    folds: Optional[int] = typer.Option(None, "--folds", help="0 = one held-out split; k >= 2 = grouped k-fold (every token tested once)."),
    max_hz_per_row: Optional[float] = typer.Option(None, "--max-hz-per-row", help="Frequency resolution kept at layer4 (0 = standard ResNet strides)."),
    freq_pool: Optional[int] = typer.Option(None, "--freq-pool", help="Average the input over N rows (coarser, faster on a CPU)."),
    time_pool: Optional[int] = typer.Option(None, "--time-pool", help="Average the input over N frames."),
    augment: Optional[bool] = typer.Option(None, "--augment/--no-augment", help="Time shift, time mask, noise, gain (never flips or frequency warps)."),
    class_weighting: Optional[bool] = typer.Option(None, "--class-weights/--no-class-weights", help="Inverse-frequency class weights in the loss."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (runs repeat exactly on a CPU)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="DataLoader worker processes."),
    eval_batch_size: Optional[int] = typer.Option(None, "--eval-batch-size", help="Inference batch (0 = --batch-size on a CPU, 256 on CUDA)."),
    compile_model: Optional[bool] = typer.Option(None, "--compile/--no-compile", help="torch.compile the model (GPU; falls back to eager if it fails)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | cuda:N"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file (flags override it)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Train a ResNet on the run's spectrograms; write model/, predictions.csv and test accuracy with a 95 % CI."""
    setup_logging(verbose)
    settings = resolve_settings(config, {"train": {
        "task": task, "vowels": vowels, "arch": arch, "pretrained": pretrained,
        "weights": str(weights) if weights else None, "epochs": epochs, "batch_size": batch_size, "lr": lr,
        "schedule": schedule, "patience": patience, "folds": folds, "group_by": group_by, "max_hz_per_row": max_hz_per_row,
        "freq_pool": freq_pool, "time_pool": time_pool,
        "augment": augment, "class_weighting": class_weighting, "seed": seed, "workers": workers,
        "eval_batch_size": eval_batch_size, "compile": compile_model,
    }})
    if not from_env().is_main:  # under torchrun: rank 0 shows progress, writes and reports
        train(run_dir, settings.train, device=device)
        return
    with rich_progress() as progress:
        result = train(run_dir, settings.train, device=device, progress=progress)
    save_settings(settings, Path(run_dir) / "model" / "train.toml")
    remember_model(result.model_path)
    print_result(result)


def print_result(result: TrainResult) -> None:
    """The end-of-run Rich table."""
    table = Table(title=f"{result.task}: {result.arch} on {result.device}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    split = f"{len(result.fold_accuracies)}-fold" if len(result.fold_accuracies) > 1 else "held-out"
    table.add_row("tokens / classes", f"{result.n_tokens} / {len(result.labels)}")
    table.add_row("split", f"{split}, grouped by {result.group_by}")
    table.add_row("[bold]test accuracy", f"[bold]{result.accuracy:.1%}[/] (95 % CI {result.ci_low:.1%}-{result.ci_high:.1%} "
                  f"resampling {result.ci_unit}s, n={result.n_test})")
    if len(result.fold_accuracies) > 1:
        table.add_row("per fold", " ".join(f"{a:.1%}" for a in result.fold_accuracies))
    table.add_row("best epoch(s)", " ".join(str(e) for e in result.best_epochs))
    weights = " ".join(f"{k} {v:.2f}" for k, v in result.class_weights.items())
    table.add_row("class weights (loss)", weights or "none (--no-class-weights)")
    table.add_row("Hz per row at layer4", f"{result.hz_per_row.get('layer4', float('nan')):g}")
    table.add_row("time", f"{result.seconds / 60:.1f} min")
    table.add_row("model", str(result.model_path))
    out.print(table)
    console.print("remembered as the default model for `vowelcam classify`")
