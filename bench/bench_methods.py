"""Class-discriminativeness of every CAM method and the measured point spread of every layer, on a trained run.

    python -m bench.bench_methods RUN_DIR [--tokens 256] [--scorecam-tokens 8] [--layers layer2,layer3,layer4]

For the run's test tokens (a random subset of ``--tokens``, seeded), with the run's own model (``model/model.pt``):

- per layer: Hz per row, ms per column, and the measured point spread (central 50 % of |d cell / d input|, mean
  over 32 tokens; :mod:`vowelcam.explain.resolution`);
- per layer and method (cam, gradcam, gradcam++, hirescam, layercam; scorecam on ``--scorecam-tokens`` tokens at
  the last layer only, it needs C forward passes per token): rank correlation of the true-class map with another
  class's map and with the fc-re-initialised model's map, with speaker-level 95 % intervals, and the collapse
  flags (:mod:`vowelcam.explain.discrimination`);
- seconds spent on each part (2 shared cores: compare only within one run).

Writes ``bench/results/methods_<name>.json`` (``--name``, default ``hillenbrand``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from bench.lib.paths import code_commit
from vowelcam import rundir
from vowelcam.acoustics.store import SpectrogramStore
from vowelcam.explain.maps.cam import layer_grid
from vowelcam.explain.maps.resolution import measure_layers, time_resolution_statement
from vowelcam.explain.method_tables import spread_subset
from vowelcam.explain.readings.discrimination import discrimination_table, method_maps, other_classes
from vowelcam.explain.stage import select_tokens
from vowelcam.learn.dataset import describe_input_scaling
from vowelcam.learn.models import feature_layers, load_model

RESULTS = Path(__file__).resolve().parent / "results"
CHEAP = ["cam", "gradcam", "gradcam++", "hirescam", "layercam"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--scorecam-tokens", type=int, default=8)
    ap.add_argument("--layers", default="layer2,layer3,layer4")
    ap.add_argument("--name", default="hillenbrand")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    run = rundir.RunDir(args.run_dir)
    chosen, tokens = select_tokens(run, "test")
    chosen = [p for p in chosen if int(float(p.get("fold") or 0)) == int(float(chosen[0].get("fold") or 0))]
    model, info = load_model(run.path(rundir.MODEL))
    store = SpectrogramStore(run.path(rundir.SPECTROGRAMS))
    freqs = store.freqs[: store.n_rows(info.max_freq)]
    hop = float(store.settings["hop_ms"])
    rng = np.random.default_rng(args.seed)
    idx = np.sort(rng.choice(len(chosen), min(args.tokens, len(chosen)), replace=False))
    toks = [tokens[chosen[i]["token_id"]] for i in idx]
    specs = store.get_many([(t["spec_shard"], t["spec_row"]) for t in toks], max_freq=info.max_freq)
    x = info.prepare(specs)
    labels = list(info.labels)
    true_idx = np.array([labels.index(chosen[i]["true"]) for i in idx])
    other_idx = other_classes(true_idx, len(labels), args.seed)
    speakers = [str(t.get("speaker", "")) for t in toks]
    files = [str(t.get("file", "")) for t in toks]
    durations = [float(t.get("duration_ms") or np.nan) for t in toks]
    layers = feature_layers(model)
    names = [n for n in args.layers.split(",") if n]

    out: dict = {
        "run": str(args.run_dir),
        "commit": code_commit(),
        "machine": platform.node(),
        "torch_threads": torch.get_num_threads(),
        "n_tokens": len(idx),
        "n_speakers": len(set(speakers)),
        "input_normalisation": describe_input_scaling(info.norm),
        "mean_token_ms": float(np.nanmean(durations)),
        "layers": {},
        "discrimination": {},
        "seconds": {},
    }
    start = time.perf_counter()
    spread = measure_layers(model, layers, x[:32], float(freqs[1] - freqs[0]), hop)
    out["seconds"]["point_spread_all_layers_32_tokens"] = time.perf_counter() - start
    for name in layers:
        grid = layer_grid(
            model, layers[name], name, freqs, len(store.times), info.hz_per_row.get(name), tuple(info.input_pool)
        )
        ms_col = grid.stride_cols * hop
        out["layers"][name] = {
            **spread[name].describe(),
            "hz_per_row": grid.hz_per_row,
            "ms_per_column": ms_col,
            "layer_rows": grid.layer_rows,
            "layer_cols": grid.layer_cols,
            "time_resolution": time_resolution_statement(
                name, ms_col, spread[name], out["mean_token_ms"], grid.layer_cols
            ),
        }
    for name in names:
        grid = layer_grid(
            model, layers[name], name, freqs, len(store.times), info.hz_per_row.get(name), tuple(info.input_pool)
        )
        start = time.perf_counter()
        maps = method_maps(model, name, x, true_idx, other_idx, CHEAP, grid, args.seed)
        out["seconds"][f"discrimination_{name}"] = time.perf_counter() - start
        rows = discrimination_table(maps, name, speakers, files, 1000, args.seed)
        if name == names[-1] and args.scorecam_tokens:
            k = spread_subset(len(idx), args.scorecam_tokens)  # spread over speakers, not the first file's
            start = time.perf_counter()
            sc = method_maps(model, name, x[k], true_idx[k], other_idx[k], ["scorecam"], grid, args.seed)
            out["seconds"][f"scorecam_{name}_{len(k)}_tokens"] = time.perf_counter() - start
            rows += discrimination_table(sc, name, [speakers[i] for i in k], [files[i] for i in k], 1000, args.seed)
        out["discrimination"][name] = rows
    path = RESULTS / f"methods_{args.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=float))
    for name, d in out["layers"].items():
        print(
            f"{name}: {d['hz_per_row']:.4g} Hz/row, {d['ms_per_column']:.0f} ms/col, point spread "
            f"{d['point_spread_hz']:.0f} Hz x {d['point_spread_ms']:.0f} ms"
        )
    for name, rows in out["discrimination"].items():
        for r in rows:
            print(
                f"{name} {r['method']:<10} rho_other {r['rho_other']:.2f} [{r['rho_other_lo']:.2f}, "
                f"{r['rho_other_hi']:.2f}]  rho_reinit {r['rho_reinit']:.2f} [{r['rho_reinit_lo']:.2f}, "
                f"{r['rho_reinit_hi']:.2f}]  n={r['n']} ({r['n_clusters']} {r['unit']}s)  collapsed={r['collapsed']} "
                f"{r['reason']}"
            )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
