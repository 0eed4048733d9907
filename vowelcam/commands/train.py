"""``vowelcam train RUN_DIR``: fit a ResNet classifier on a run's spectrograms and score it on held-out speakers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import Arch, GroupBy, Precision, Schedule, Task, check_vowels
from .common import (
    config_option,
    console,
    device_option,
    handle_errors,
    out,
    resolve_settings,
    rich_progress,
    say_waiting,
    setting,
    setup_logging,
    verbose_option,
    wait_option,
)

if TYPE_CHECKING:
    from ..learn.train import TrainResult


def init_option() -> Any:
    """``--init auto|base|none``: where training starts (``train.weights``)."""
    return typer.Option(
        None,
        "--init",
        metavar="auto|base|none",
        show_default="auto",
        help="Where training starts (train.weights): auto = the shipped base model for a small corpus it fits, "
        "random weights otherwise; base = the base model; none = random weights.",
    )


def initial_weights(weights: Optional[Path], init: Optional[str]) -> Optional[str]:
    """``train.weights`` from ``--weights`` or ``--init`` (one of them; None when neither is given)."""
    from ..base_model import BASE
    from ..errors import ConfigError

    if init is not None and init not in ("auto", BASE, "none"):
        raise ConfigError(f"--init {init}: use auto, base or none (or --weights FILE, or --pretrained)")
    if init is not None and weights is not None:
        raise ConfigError("give either --init or --weights, not both")
    return init if init is not None else (str(weights) if weights is not None else None)


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("train")(train_command)


@handle_errors
def train_command(
    run_dir: Path = typer.Argument(..., help="Run directory written by `vowelcam extract`."),
    task: Optional[Task] = setting(
        "train.task", "--task", help="vowels (full band), vowels4k (<= 4 kHz), voicing (vowel vs unvoiced, <= 4 kHz)."
    ),
    vowels: Optional[str] = setting(
        "train.vowels",
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
    pretrained: Optional[bool] = setting(
        "train.pretrained", "--pretrained/--scratch", help="Start from ImageNet weights (torch cache or download)."
    ),
    weights: Optional[Path] = setting(
        "train.weights",
        "--weights",
        shown="none",
        exists=True,
        dir_okay=False,
        help="Start from a local weights file (state dict or model.pt).",
    ),
    init: Optional[str] = init_option(),
    epochs: Optional[int] = setting(
        "train.epochs",
        "--epochs",
        min=0,
        shown="0 = enough for ~1400 optimizer steps, 30-300",
        help="Maximum epochs per fold (early stopping may end sooner).",
    ),
    batch_size: Optional[int] = setting(
        "train.batch_size",
        "--batch-size",
        min=0,
        shown="0 = 16 below 1000 training tokens, else 32",
        help="Training batch size.",
    ),
    lr: Optional[float] = setting("train.lr", "--lr", help="AdamW learning rate."),
    schedule: Optional[Schedule] = setting("train.schedule", "--schedule", help="Learning-rate schedule."),
    patience: Optional[int] = setting(
        "train.patience",
        "--patience",
        min=0,
        shown="0 = a quarter of the epochs, at least 8",
        help="Stop after this many epochs without a better validation score.",
    ),
    group_by: Optional[GroupBy] = setting(
        "train.group_by",
        "--group-by",
        help="Split groups: auto (speakers; recordings for one speaker; else an error) | speaker | recording.",
    ),
    folds: Optional[int] = setting(
        "train.folds",
        "--folds",
        min=0,
        help="0 = one held-out split; k >= 2 = grouped k-fold (every token tested once).",
    ),
    min_class_tokens: Optional[int] = setting(
        "train.min_class_tokens",
        "--min-class-tokens",
        min=1,
        help="Leave out classes with fewer tokens (listed in model/problems.csv).",
    ),
    max_hz_per_row: Optional[float] = setting(
        "train.max_hz_per_row",
        "--max-hz-per-row",
        min=0,
        help="Frequency resolution kept at layer4 (0 = standard ResNet strides).",
    ),
    freq_pool: Optional[int] = setting(
        "train.freq_pool", "--freq-pool", min=1, help="Average the input over N rows (coarser, faster on a CPU)."
    ),
    time_pool: Optional[int] = setting(
        "train.time_pool", "--time-pool", min=1, help="Average the input over N frames."
    ),
    augment: Optional[bool] = setting(
        "train.augment",
        "--augment/--no-augment",
        help="Time shift, time mask, noise, gain (never flips or frequency warps).",
    ),
    class_weighting: Optional[bool] = setting(
        "train.class_weighting",
        "--class-weights/--no-class-weights",
        help="Inverse-frequency class weights in the loss.",
    ),
    seed: Optional[int] = setting("train.seed", "--seed", help="Random seed (runs repeat exactly on a CPU)."),
    workers: Optional[int] = setting("train.workers", "--workers", min=0, help="DataLoader worker processes."),
    eval_batch_size: Optional[int] = setting(
        "train.eval_batch_size",
        "--eval-batch-size",
        min=0,
        shown="0 = --batch-size on a CPU, 256 on CUDA",
        help="Inference batch.",
    ),
    precision: Optional[Precision] = setting(
        "train.precision",
        "--precision",
        help="Training steps: auto = bf16 on CUDA and on CPUs with bf16 instructions, else fp32.",
    ),
    compile_model: Optional[bool] = setting(
        "train.compile",
        "--compile/--no-compile",
        help="torch.compile the model (GPU; falls back to eager if it fails).",
    ),
    device: str = device_option(),
    config: Optional[Path] = config_option(),
    wait: bool = wait_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Train a ResNet on the run's spectrograms; write model/, predictions.csv and test accuracy with a 95 % CI."""
    setup_logging(verbose)
    settings = resolve_settings(
        config,
        {
            "train.task": task,
            "train.vowels": vowels,
            "train.arch": arch,
            "train.pretrained": pretrained,
            "train.weights": initial_weights(weights, init),
            "train.epochs": epochs,
            "train.batch_size": batch_size,
            "train.lr": lr,
            "train.schedule": schedule,
            "train.patience": patience,
            "train.folds": folds,
            "train.group_by": group_by,
            "train.min_class_tokens": min_class_tokens,
            "train.max_hz_per_row": max_hz_per_row,
            "train.freq_pool": freq_pool,
            "train.time_pool": time_pool,
            "train.augment": augment,
            "train.class_weighting": class_weighting,
            "train.seed": seed,
            "train.workers": workers,
            "train.eval_batch_size": eval_batch_size,
            "train.compile": compile_model,
            "train.precision": precision,
        },
    )
    from ..config import save_settings
    from ..learn.distributed import from_env
    from ..learn.model_file import remember_model
    from ..learn.train import train
    from ..runstate.stages import run_stage, train_config

    if not from_env().is_main:  # under torchrun: rank 0 shows progress, writes and reports
        train(run_dir, settings.train, device=device)
        return

    def action() -> TrainResult:
        with rich_progress() as progress:
            trained = train(run_dir, settings.train, device=device, progress=progress)
        save_settings(settings, Path(run_dir) / "model" / "train.toml")
        return trained

    config_of_stage = train_config(settings.to_dict()["train"])
    result = run_stage(run_dir, "train", config_of_stage, action, wait=wait, on_wait=say_waiting)
    remember_model(result.model_path)
    print_result(result)


def print_result(result: TrainResult) -> None:
    """The end-of-run table (stdout) and, when validation never beat chance, why and what to try (stderr)."""
    table = Table(title=f"{result.task}: {result.arch} on {result.device}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    split = f"{len(result.fold_accuracies)}-fold" if len(result.fold_accuracies) > 1 else "held-out"
    table.add_row("tokens / classes", f"{result.n_tokens} / {len(result.labels)}")
    if result.left_out:
        table.add_row("classes left out", ", ".join(f"{c} ({n})" for c, n in result.left_out.items()))
    table.add_row("split", f"{split}, grouped by {result.group_by}")
    table.add_row(
        "[bold]test accuracy",
        f"[bold]{result.accuracy:.1%}[/] (95 % CI {result.ci_low:.1%}-{result.ci_high:.1%} "
        f"resampling {result.ci_unit}s, n={result.n_test}; chance {result.chance:.1%})",
    )
    tested = held_out_row(result)
    if tested is not None:
        table.add_row(*tested)
    if len(result.fold_accuracies) > 1:
        table.add_row("per fold", " ".join(f"{a:.1%}" for a in result.fold_accuracies))
    table.add_row(
        "best epoch(s)",
        " ".join(str(e) for e in result.best_epochs) + f" of at most {result.epochs} (batch {result.batch_size})",
    )
    weights = " ".join(f"{k} {v:.2f}" for k, v in result.class_weights.items())
    table.add_row("class weights (loss)", weights or "none (--no-class-weights)")
    table.add_row("Hz per row at layer4", f"{result.hz_per_row.get('layer4', float('nan')):g}")
    table.add_row("time", f"{result.seconds / 60:.1f} min")
    table.add_row("model", str(result.model_path))
    out.print(table)
    print_warnings(result)
    console.print("remembered as the default model for `vowelcam classify`")


FEW_TEST_GROUPS = 5  # an interval over fewer held-out speakers is marked as such
NAMES_SHOWN = 12


def held_out_row(result: object) -> tuple[str, str] | None:
    """The summary row naming the held-out speakers (or recordings), marked when they are fewer than 5."""
    names = list(getattr(result, "test_groups", []) or [])
    if not names:
        return None
    unit = getattr(result, "ci_unit", "speaker") or "speaker"
    shown = ", ".join(names[:NAMES_SHOWN]) + (f", ... ({len(names)} in all)" if len(names) > NAMES_SHOWN else "")
    head = f"held-out {unit}s"
    if len(names) < FEW_TEST_GROUPS:
        return f"[yellow]{head}", (
            f"[yellow]only {len(names)}[/] ({escape(shown)}): an interval over fewer than {FEW_TEST_GROUPS} "
            f"{unit}s is a sanity check, not a result"
        )
    return head, escape(shown)


def print_warnings(result: object) -> None:
    """Training's warnings (classes left out, validation at chance) on stderr, one per line."""
    for line in getattr(result, "warnings", []):
        console.print(f"[bold yellow]warning:[/] {escape(line)}", soft_wrap=True, highlight=False)
