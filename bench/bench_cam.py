"""Cost of CAMs for a batch versus a plain forward pass, and versus the ``grad-cam`` package used as documented.

    python -m bench.bench_cam [--batch 32] [--repeats 5] [--threads 0] [--device cpu]

Ratios are medians of per-repeat ratios to a forward pass of the same batch timed right before (robust on a
shared machine). Model: vowelcam's default network (single-channel resnet18, frequency strides 2,2,1,1,1 = 125 Hz per
row at layer4) for 12 classes on default spectrograms (129 rows x 96 frames), random weights (speed does not depend on
training). Times are medians over ``--repeats`` runs after one warm-up. Target (issue 5): gradient methods
<= 3x the plain forward pass of the same batch. Writes ``bench/results/cam.json`` and prints a Rich table.
"""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from bench.lib.cams import package_gradcam
from bench.lib.paths import RESULTS as RESULTS_DIR
from bench.lib.timing import timed_against
from vowelcam.explain.maps.cam import compute_cams, layer_grid
from vowelcam.learn.models import SpectrogramResNet, hz_per_row_by_layer

RESULTS = RESULTS_DIR / "cam.json"
TARGET_RATIO = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scorecam-tokens", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    strides = [2, 2, 1, 1, 1]
    model = SpectrogramResNet("resnet18", 12, strides).to(device).eval()
    freqs = np.arange(129) * 31.25
    grid = layer_grid(model, model.layer4, "layer4", freqs, 96, hz_per_row_by_layer(31.25, strides)["layer4"])
    x = torch.randn(args.batch, 1, 129, 96, device=device)
    classes = torch.randint(0, 12, (args.batch,))
    one, two = classes[:, None], torch.stack([classes, torch.roll(classes, 1)], 1)

    def forward() -> object:
        with torch.no_grad():
            return model(x)

    rows: list[dict[str, object]] = []
    base, _ = timed_against(forward, forward, args.repeats, device)
    rows.append({"what": "plain forward (no_grad)", "targets": 0, "seconds": base, "ratio_to_forward": 1.0})

    def add(what: str, k: int, fn: Callable[[], object], repeats: int = args.repeats) -> None:
        sec, ratio = timed_against(fn, forward, repeats, device)
        rows.append({"what": what, "targets": k, "seconds": sec, "ratio_to_forward": ratio})

    for method in ("cam", "gradcam", "gradcam++", "hirescam", "layercam"):
        for k, targets in ((1, one), (2, two)):
            add(f"vowelcam {method}", k, lambda t=targets, m=method: compute_cams(model, model.layer4, x, t, m, grid))
    low = layer_grid(model, model.layer1, "layer1", freqs, 96, hz_per_row_by_layer(31.25, strides)["layer1"])
    add(
        "vowelcam gradcam at layer1 (backward through layer2-4)",
        1,
        lambda: compute_cams(model, model.layer1, x, one, "gradcam", low),
    )
    add("grad-cam package GradCAM", 1, package_gradcam(model, x, classes.tolist()))
    n_sc = args.scorecam_tokens
    add(
        f"vowelcam scorecam ({n_sc} token{'s' if n_sc > 1 else ''}, 512 masked passes each)",
        1,
        lambda: compute_cams(model, model.layer4, x[:n_sc], one[:n_sc], "scorecam", grid),
        repeats=1,
    )
    report = {
        "batch": args.batch,
        "input": [1, 129, 96],
        "model": "resnet18, freq strides 2,2,1,1,1",
        "layer": "layer4",
        "hz_per_row": grid.hz_per_row,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "repeats": args.repeats,
        "target_ratio_gradient_methods": TARGET_RATIO,
        "rows": rows,
        "gradient_methods_within_target": all(
            float(r["ratio_to_forward"]) <= TARGET_RATIO
            for r in rows
            if r["targets"] == 1 and str(r["what"]).startswith("vowelcam") and "scorecam" not in str(r["what"])
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    table = Table(
        title=f"CAM cost, batch {args.batch} x 129 x 96 on {device} ({torch.get_num_threads()} threads), "
        f"{grid.hz_per_row:g} Hz per CAM row"
    )
    for col in ("what", "targets", "seconds", "x forward"):
        table.add_column(col, justify="left" if col == "what" else "right")
    for row in rows:
        table.add_row(str(row["what"]), str(row["targets"]), f"{row['seconds']:.3f}", f"{row['ratio_to_forward']:.2f}")
    Console().print(table)
    Console().print(
        f"gradient methods within {TARGET_RATIO:g}x forward: {report['gradient_methods_within_target']} -> {args.out}"
    )


if __name__ == "__main__":
    main()
