"""Training and inference throughput (tokens/s) of the vowelcam ResNets on this machine's CPU (and GPU if any).

    python -m bench.bench_throughput [--archs resnet18,resnet101] [--rows 129] [--batches 3] [--threads 0]

Inputs are spectrogram-shaped ``[B, 1, rows, 96]`` (129 rows = 0-4 kHz at 31.25 Hz, 257 = full band at 16 kHz),
with the default vowel-task resolution (<= 125 Hz per row at layer4: time-only strides after the stem) and with
the standard ResNet strides. Training = forward + backward + fused AdamW step (bf16 autocast and channels-last on
CUDA, as in vowelcam.learn); inference = eval-mode forward without gradients. Writes
bench/results/throughput_<N>thread(s).json (N = the torch CPU threads).
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from bench.lib.paths import RESULTS
from bench.lib.throughput import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="resnet18,resnet101")
    parser.add_argument("--rows", type=int, default=129)
    parser.add_argument("--resolutions", default="125,0", help="max Hz per row at layer4 (0 = standard strides)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--out", type=Path, help="default: bench/results/throughput_<N>thread(s).json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    args.out = args.out or RESULTS / f"throughput_{threads}thread{'s' if threads > 1 else ''}.json"
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    results = []
    for device in devices:
        batch = args.batch_size if device.type == "cpu" else 128
        for arch in args.archs.split(","):
            for max_hz in (float(r) for r in args.resolutions.split(",")):
                results.append(measure(arch, args.rows, max_hz, device, batch, args.batches))
    record = {
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    table = Table(title=f"throughput, tokens/s ({record['threads']} CPU threads)")
    for col in ("device", "arch", "input", "Hz/row at layer4", "train", "inference"):
        table.add_column(col, justify="right")
    for r in results:
        hz = f"{r['max_hz_per_row']:g}" if r["max_hz_per_row"] else "1000 (standard)"
        table.add_row(
            r["device"],
            r["arch"],
            f"{r['rows']}x{r['frames']}",
            hz,
            f"{r['train_tokens_per_s']:.1f}",
            f"{r['infer_tokens_per_s']:.1f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
