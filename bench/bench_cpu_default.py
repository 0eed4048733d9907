"""Today's CPU default against the new one, side by side in one run: training and inference tokens/s on real
Hillenbrand spectrograms, and the speaker-grouped 5-fold accuracy of each (12 vowels, <= 4 kHz).

    python -m bench.bench_cpu_default [--run /tmp/runs/h95] [--accuracy new] [--threads 2] [--epochs 0]

Configurations (all at <= 125 Hz per CAM row, the frequency-preserving strides):

- ``today``: ResNet-18 (64-512 channels), float32 training steps: the CPU default before issue 15;
- ``new``: ResNet-18 at a quarter of the width (16-128 channels, ``resnet18-w16``), training steps in the
  precision ``auto`` picks here (bf16 where the CPU has bf16 instructions, else float32);
- ``new-fp32``: the same in float32 (what a CPU without bf16 instructions runs);
- ``half``: ResNet-18 at half the width (``resnet18-w32``), precision ``auto``.

Throughput is timed in interleaved rounds (each round times every configuration once), so machine drift hits all
alike; the figure is the median over rounds of tokens per second, training = forward + backward + fused AdamW step
on a batch of 32, inference = eval-mode forward of a batch of 32 in float32 (validation, predictions and CAMs on a
CPU are always float32). ``--accuracy`` lists the configurations whose 5-fold accuracy is measured with the
library's default training settings (``--epochs`` 0 = the default maximum; early stopping as by default).
Writes bench/results/cpu_default.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from bench.lib.hillenbrand import TARGET, ensure_run
from bench.lib.paths import RESULTS
from vowelcam.acoustics.store import SpectrogramStore
from vowelcam.config import TrainSettings
from vowelcam.learn import dataset as ds
from vowelcam.learn.dataset import scale_input
from vowelcam.learn.device import cpu_has_native_bf16, train_autocast, training_precision
from vowelcam.learn.models import SpectrogramResNet, choose_freq_strides
from vowelcam.learn.train import train
from vowelcam.tokens import read_tokens

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    "today": {"arch": "resnet18", "precision": "fp32"},
    "new": {"arch": "resnet18-w16", "precision": "auto"},
    "new-fp32": {"arch": "resnet18-w16", "precision": "fp32"},
    "half": {"arch": "resnet18-w32", "precision": "auto"},
}
BATCH = 32


def real_batches(run: Path, n_batches: int) -> tuple[list[torch.Tensor], list[torch.Tensor], float]:
    """``n_batches`` batches of normalised Hillenbrand vowel spectrograms (<= 4 kHz) and their classes."""
    rows = read_tokens(run / "tokens.csv")
    store = SpectrogramStore(run / "spectrograms")
    data = ds.select_task(rows, "vowels4k", "hillenbrand12")
    pick = np.random.default_rng(0).choice(len(data.rows), BATCH * n_batches, replace=False)
    specs = store.get_many([(data.rows[i]["spec_shard"], data.rows[i]["spec_row"]) for i in pick], data.max_freq)
    norm = {"floor": float(store.settings["db_floor"]), "scale": float(specs.std())}
    x = scale_input(torch.from_numpy(specs), norm).unsqueeze(1)
    y = torch.from_numpy(data.targets[pick]).long()
    return list(x.split(BATCH)), list(y.split(BATCH)), store.hz_per_row


def stepper(config: dict, hz_per_row: float, n_classes: int):
    """(train_step, infer_step) closures for one configuration on the CPU."""
    torch.manual_seed(0)
    model = SpectrogramResNet(config["arch"], n_classes, choose_freq_strides(hz_per_row, 125.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    precision = training_precision(config["precision"], torch.device("cpu"))

    def train_step(x: torch.Tensor, y: torch.Tensor) -> None:
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with train_autocast(torch.device("cpu"), precision):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        optimizer.step()

    @torch.inference_mode()
    def infer_step(x: torch.Tensor, y: torch.Tensor) -> None:
        model.eval()
        model(x)

    return train_step, infer_step, precision


def throughput(names: list[str], xs: list, ys: list, hz_per_row: float, rounds: int) -> dict[str, dict]:
    """Median tokens/s over interleaved rounds, per configuration."""
    steps = {name: stepper(CONFIGS[name], hz_per_row, 12) for name in names}
    for train_step, infer_step, _ in steps.values():  # warm-up: allocations, oneDNN primitive caches
        train_step(xs[0], ys[0])
        infer_step(xs[0], ys[0])
    times: dict[str, dict[str, list[float]]] = {n: {"train": [], "infer": []} for n in names}
    for r in range(rounds):
        x, y = xs[r % len(xs)], ys[r % len(ys)]
        for name, (train_step, infer_step, _) in steps.items():
            for kind, step in (("train", train_step), ("infer", infer_step)):
                start = time.perf_counter()
                step(x, y)
                times[name][kind].append(time.perf_counter() - start)
    return {
        n: {
            "precision": steps[n][2],
            "train_tokens_per_s": BATCH / float(np.median(times[n]["train"])),
            "infer_tokens_per_s": BATCH / float(np.median(times[n]["infer"])),
        }
        for n in names
    }


def five_fold(run: Path, name: str, epochs: int) -> dict:
    """Speaker-grouped 5-fold accuracy of one configuration with the library's default training settings."""
    defaults = TrainSettings()
    settings = dataclasses.replace(
        defaults, task="vowels4k", vowels="hillenbrand12", folds=5, epochs=epochs or defaults.epochs, **CONFIGS[name]
    )
    started = time.perf_counter()
    result = train(run, settings, device="cpu")
    return {
        "accuracy": result.accuracy,
        "ci95": [result.ci_low, result.ci_high],
        "ci_unit": result.ci_unit,
        "n": result.n_test,
        "fold_accuracies": result.fold_accuracies,
        "best_epochs": result.best_epochs,
        "seconds": time.perf_counter() - started,
        "hz_per_row": result.hz_per_row,
        "settings": dataclasses.asdict(settings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("/tmp/runs/h95"))
    parser.add_argument("--configs", default="today,new,new-fp32,half", help="throughput configurations")
    parser.add_argument("--accuracy", default="new", help="configurations whose 5-fold accuracy is measured")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=0, help="maximum epochs (0 = the library default)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "cpu_default.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    ensure_run(args.run)
    names = [n for n in args.configs.split(",") if n]
    xs, ys, hz_per_row = real_batches(args.run, 4)
    speed = throughput(names, xs, ys, hz_per_row, args.rounds)
    accuracy = {name: five_fold(args.run, name, args.epochs) for name in args.accuracy.split(",") if name}
    record = {
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cpu_native_bf16": cpu_has_native_bf16(),
        "batch": BATCH,
        "rounds": args.rounds,
        "input": f"{xs[0].shape[2]} rows x {xs[0].shape[3]} frames",
        "configs": CONFIGS,
        "throughput": speed,
        "accuracy": accuracy,
        "target": TARGET,
    }
    if "today" in speed:
        record["train_speedup_vs_today"] = {
            n: s["train_tokens_per_s"] / speed["today"]["train_tokens_per_s"] for n, s in speed.items()
        }
        record["infer_speedup_vs_today"] = {
            n: s["infer_tokens_per_s"] / speed["today"]["infer_tokens_per_s"] for n, s in speed.items()
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print_table(record)


def print_table(record: dict) -> None:
    """A Rich table of the record."""
    table = Table(
        title=f"CPU default, Hillenbrand 12 vowels <= 4 kHz, <= 125 Hz per CAM row ({record['threads']} threads)"
    )
    for col in ("config", "arch", "precision", "train tok/s", "x today", "infer tok/s", "5-fold accuracy"):
        table.add_column(col, justify="right")
    for name, s in record["throughput"].items():
        acc = record["accuracy"].get(name)
        table.add_row(
            name,
            CONFIGS[name]["arch"],
            s["precision"],
            f"{s['train_tokens_per_s']:.1f}",
            f"{record.get('train_speedup_vs_today', {}).get(name, float('nan')):.2f}",
            f"{s['infer_tokens_per_s']:.1f}",
            f"{acc['accuracy']:.1%} [{acc['ci95'][0]:.1%}, {acc['ci95'][1]:.1%}]" if acc else "",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
