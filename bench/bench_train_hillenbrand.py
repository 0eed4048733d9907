"""Speaker-independent 5-fold vowel classification on Hillenbrand et al. (1995): 12 vowels, 93 adult speakers.

Target: >= 95.2 % (the best formant-based classifier on these speakers, LDA on F0 and F1-F3 at 20/80 % plus
duration, on the 927 tokens with complete hand measurements; listeners ~95 %).

    python -m bench.bench_train_hillenbrand [--run /tmp/runs/h95] [--epochs 15] [--threads 1] ...

Extracts the corpus into ``--run`` first when it holds no tokens.csv. Writes bench/results/train_hillenbrand.json
and prints a Rich table: accuracy with its 95 % CI, per-fold accuracy, settings and wall time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from bench.lib.hillenbrand import TARGET, ensure_run
from bench.lib.paths import RESULTS
from vowelcam.config import TrainSettings
from vowelcam.learn.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("/tmp/runs/h95"))
    parser.add_argument("--task", default="vowels4k")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--freq-pool", type=int, default=2)
    parser.add_argument("--time-pool", type=int, default=2)
    parser.add_argument("--max-hz-per-row", type=float, default=0.0)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--out", type=Path, default=RESULTS / "train_hillenbrand.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    ensure_run(args.run)
    settings = TrainSettings(
        task=args.task,
        vowels="hillenbrand12",
        arch=args.arch,
        epochs=args.epochs,
        patience=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        folds=args.folds,
        freq_pool=args.freq_pool,
        time_pool=args.time_pool,
        max_hz_per_row=args.max_hz_per_row,
        label_smoothing=args.label_smoothing,
        augment=not args.no_augment,
    )
    started = time.perf_counter()
    result = train(args.run, settings)
    seconds = time.perf_counter() - started
    record = {
        "benchmark": "hillenbrand1995 12 vowels, speaker-grouped 5-fold",
        "target": TARGET,
        "accuracy": result.accuracy,
        "ci95": [result.ci_low, result.ci_high],
        "n": result.n_test,
        "fold_accuracies": result.fold_accuracies,
        "best_epochs": result.best_epochs,
        "seconds": seconds,
        "hz_per_row": result.hz_per_row,
        "device": result.device,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "settings": dataclasses.asdict(settings),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    table = Table(title="Hillenbrand 1995, 12 vowels, speaker-independent 5-fold", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row(
        "[bold]accuracy", f"[bold]{result.accuracy:.1%}[/] (95 % CI {result.ci_low:.1%}-{result.ci_high:.1%})"
    )
    table.add_row("target", f"{TARGET:.1%} ({'reached' if result.accuracy >= TARGET else 'not reached'})")
    table.add_row("per fold", " ".join(f"{a:.1%}" for a in result.fold_accuracies))
    table.add_row("arch / input", f"{args.arch}, {args.task}, input pooled {args.freq_pool}x{args.time_pool}")
    table.add_row("epochs (best per fold)", f"{args.epochs} ({' '.join(map(str, result.best_epochs))})")
    table.add_row("time", f"{seconds / 60:.1f} min on {result.device} ({torch.get_num_threads()} threads)")
    Console().print(table)


if __name__ == "__main__":
    main()
