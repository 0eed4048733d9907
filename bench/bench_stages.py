"""Every stage of vowelcam in one run, on the same data: throughput (tokens/s), peak memory, and ratios to anchors.

Stages (each runs in its own subprocess, ``bench/lib/stage_children.py``; this script, the parent, samples the resident
memory of that child's whole process tree every 0.1 s with psutil, so ``peak MB`` includes extraction workers and
the report's grandchild; the child's own ``ru_maxrss`` from ``resource.getrusage`` is recorded as a cross-check):

- extraction of ``../shared/data/hillenbrand1995`` (preset ``hillenbrand``, vowels only, 1116 tokens) with
  ``jobs=1`` (per core), ``--repeats`` times, each run followed by the plain Praat loop over the same 1116 vowels
  (``stage_plain_loop``: read the file, one Burg call per token), so that each repetition gives a ratio taken
  minutes apart at most: this shared machine's speed drifts by +-20 % within minutes, the ratio far less. The
  per-core figure reported is the median repetition (best and all runs are kept); then ``jobs=2`` once;
- anchors on a spread-out subset of the same tokens (``--anchor-tokens`` per group): vowelcam's ``measure_token``,
  a plain one-call-per-token Praat Burg loop (``plain_burg_formants``) and fasttrackpy (``bench.lib.hillenbrand``'s
  methods and scoring against the hand-edited formants of ``vowdata.dat``);
- spectrograms alone (``token_spectrogram`` at every Hillenbrand vowel's midpoint, audio read beforehand);
- the machine's float32 matmul peak (best of several ``torch.matmul`` of n x n, 2 n^3 FLOPs, measured before and
  after the networks; the larger counts) and, for resnet18 and
  resnet101 with ``choose_freq_strides(31.25, 125)`` and standard strides (input 129 x 96, batch 16, 2 threads),
  training-step and inference tokens/s (``bench.lib.throughput.measure``) with FLOPs counted by
  ``torch.utils.flop_counter.FlopCounterMode``, as a fraction of that peak;
- CAMs (``compute_cams`` cam/gradcam/hirescam at layer4 of resnet18, 125 Hz per row) against a plain forward of
  the same batch, and the ``grad-cam`` package's GradCAM used the documented way (``bench.lib.cams``);
- report rendering of a synthetic 10 000-token run (``bench.lib.report_timing``, as ``bench_report``);
- the LJSpeech scale corpus (``bench.lib.scale_corpus``) at 1x, 4x, 16x with ``jobs=2`` and 4x with ``jobs=1`` (the same
  extraction runner as above, like ``bench_extract.run_extract`` plus process-tree CPU time from
  ``getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN)``): wall and CPU time per token and peak memory, and the
  extrapolation to the full LJSpeech corpus (see ``_scale_ratios``).

    python -m bench.bench_stages [--quick] [--repeats N] [--skip-extract] [--skip-anchors] [--skip-spectrogram]
                                 [--skip-models] [--skip-cams] [--skip-report] [--skip-scale]
                                 [--scale-factors 1,4,16,64] [--out FILE]

``--quick`` drops the 16x corpus and resnet101's training timing, and uses fewer anchor tokens and repeats. Writes
bench/results/stages.json and prints Rich tables (stages, ratios and targets, anchor accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console

from bench.lib.memory import peak_tree_rss
from bench.lib.paths import REPO, RESULTS
from bench.lib.scale_corpus import make_scale_corpus
from bench.lib.stage_children import BATCH, H95, THREADS
from bench.lib.stage_tables import show

CHILD = "bench.lib.stage_children"  # run as a module from the repository root
FULL_LJ_VOWELS = 343_872
LJ32_TOKENS, LJ32_VOWELS = 1393, 879  # LJ-32: all tokens vs vowel tokens (unvoiced consonants in this ratio)


# ------------------------------------------------------------------------------------------ parent


def run_stage(stage: str, params: dict) -> dict | None:
    """Run ``stage`` in a subprocess; add the tree's peak RSS (psutil, 0.1 s sampling), tokens/s and load.

    A failing stage is logged and gives ``None`` (the other stages still run and are reported).
    """
    load_before = os.getloadavg()[0]
    cmd = [sys.executable, "-m", CHILD, stage, json.dumps(params)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    peak = peak_tree_rss(proc)
    stdout, _ = proc.communicate()
    if proc.returncode:
        Console(stderr=True).print(f"[red]stage {stage} {params} failed (exit {proc.returncode})")
        return None
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(peak_rss_mb=round(peak / 2**20, 1), load_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)])
    if result.get("seconds") and result.get("tokens"):
        result["tokens_per_s"] = round(result["tokens"] / result["seconds"], 2)
    return result


def run_per_core(corpus: dict, repeats: int) -> dict:
    """``repeats`` x (extraction with jobs=1, then the plain Praat loop): the median run, the best, all runs."""
    runs = []
    for _ in range(repeats):
        extract, plain = run_stage("extract", {**corpus, "jobs": 1}), run_stage("plain_loop", {})
        if extract and plain:
            runs.append(
                {
                    "extract": extract,
                    "plain_loop": plain,
                    "ratio_wall": round(extract["tokens_per_s"] / plain["tokens_per_s"], 3),
                    "ratio_cpu": round(extract["cpu_tokens_per_s"] / plain["cpu_tokens_per_s"], 3),
                }
            )
    if not runs:
        return {}
    by_speed = sorted(runs, key=lambda r: r["extract"]["tokens_per_s"])
    return {
        "jobs1": by_speed[len(by_speed) // 2]["extract"],
        "jobs1_best": by_speed[-1]["extract"],
        "plain_loop": sorted((r["plain_loop"] for r in runs), key=lambda r: r["tokens_per_s"])[len(runs) // 2],
        "ratio_to_plain_loop_wall": statistics.median(r["ratio_wall"] for r in runs),
        "ratio_to_plain_loop_cpu": statistics.median(r["ratio_cpu"] for r in runs),
        "runs": runs,
    }


def run_scale(factors: tuple[int, ...]) -> dict:
    """LJ-32 scale corpus (``scale_corpus``, all tokens incl. unvoiced): each factor with jobs=2, and 4x with jobs=1
    (per core; 4x rather than 1x so that worker start-up does not dominate the 2-job scaling measurement)."""
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="vowelcam-scale-") as tmp:
        for factor, jobs in sorted({(f, 2) for f in factors} | {(4, 1)}):
            corpus = make_scale_corpus(Path(tmp) / f"x{factor}", factor)
            result = run_stage("extract", {"corpus": str(corpus), "jobs": jobs})
            if result is None:
                continue
            result.update(
                factor=factor,
                ms_per_token=round(1000 * result["seconds"] / result["tokens"], 3),
                cpu_ms_per_token=round(1000 * result["cpu_seconds"] / result["tokens"], 3),
            )
            out[f"{factor}x_jobs{jobs}"] = result
    return out


def derive(res: dict) -> dict:
    """Ratios and targets from the measured stages (only those that ran)."""
    d: dict[str, Any] = {}
    ext, anc = res.get("extract", {}), res.get("anchors")
    if "jobs1" in ext:
        d["extract_per_core_tokens_per_s"] = ext["jobs1"]["tokens_per_s"]
        d["extract_per_core_best_tokens_per_s"] = ext["jobs1_best"]["tokens_per_s"]
        d["extract_per_core_runs_tokens_per_s"] = [r["extract"]["tokens_per_s"] for r in ext["runs"]]
        d["extract_per_cpu_second_tokens"] = ext["jobs1"]["cpu_tokens_per_s"]
        d["plain_loop_tokens_per_s"] = ext["plain_loop"]["tokens_per_s"]
        d["extract_vs_plain_loop"] = ext["ratio_to_plain_loop_wall"]
        d["extract_vs_plain_loop_cpu"] = ext["ratio_to_plain_loop_cpu"]
        if "jobs2" in ext:
            d["extract_jobs2_speedup"] = round(ext["jobs2"]["tokens_per_s"] / ext["jobs1"]["tokens_per_s"], 2)
    if anc:
        m = anc["methods"]
        ft, vc, plain = m["fasttrackpy"], m["vowelcam measure_token"], m["plain Burg (1 Praat call/token)"]
        d["measure_token_vs_fasttrack_same_tokens"] = round(vc["tokens_per_s_wall"] / ft["tokens_per_s_wall"], 2)
        d["plain_burg_vs_measure_token"] = round(plain["tokens_per_s_wall"] / vc["tokens_per_s_wall"], 2)
        if "jobs1" in ext:
            d["extract_per_core_vs_fasttrack"] = round(ext["jobs1"]["tokens_per_s"] / ft["tokens_per_s_wall"], 2)
            d["extract_per_core_vs_plain_burg"] = round(ext["jobs1"]["tokens_per_s"] / plain["tokens_per_s_wall"], 2)
            d["extract_cpu_vs_fasttrack_cpu"] = round(ext["jobs1"]["cpu_tokens_per_s"] / ft["tokens_per_s_cpu"], 2)
    if "spectrogram" in res and "jobs1" in ext:
        d["spectrogram_share_of_extract_time"] = round(
            ext["jobs1"]["tokens_per_s"] / res["spectrogram"]["tokens_per_s"], 3
        )
    peak = max((m["gflops"] for m in res.get("matmul", {}).values()), default=None)
    if peak:
        d["matmul_peak_gflops"] = round(peak, 1)
    for r in res.get("models", {}).values():
        for kind in ("train", "infer"):
            if peak and r.get(f"{kind}_tokens_per_s"):
                gflops = r[f"{kind}_tokens_per_s"] * r[f"{kind}_flops_per_token"] / 1e9
                r[f"{kind}_gflops"] = round(gflops, 2)
                r[f"{kind}_fraction_of_matmul_peak"] = round(gflops / peak, 3)
    if "cams" in res:
        rows = {r["what"]: r for r in res["cams"]["rows"]}
        d["cam_ratios_to_forward"] = {k: round(r["ratio_to_forward"], 2) for k, r in rows.items()}
        d["vowelcam_gradcam_vs_package_gradcam_time"] = round(
            rows["vowelcam gradcam"]["seconds"] / rows["grad-cam package GradCAM"]["seconds"], 2
        )
    if "scale" in res:
        d.update(_scale_ratios(res["scale"]))
    return d


def _scale_ratios(scale: dict) -> dict:
    d: dict[str, Any] = {}
    base = scale.get("1x_jobs2")
    for key, r in scale.items():
        if base and key.endswith("jobs2") and key != "1x_jobs2":
            d[f"time_per_token_{r['factor']}x_over_1x"] = round(r["ms_per_token"] / base["ms_per_token"], 2)
            d[f"cpu_time_per_token_{r['factor']}x_over_1x"] = round(r["cpu_ms_per_token"] / base["cpu_ms_per_token"], 2)
            d[f"peak_rss_{r['factor']}x_over_1x"] = round(r["peak_rss_mb"] / base["peak_rss_mb"], 2)
    one, two = scale.get("4x_jobs1"), scale.get("4x_jobs2")
    if one and two:
        per_core = one["tokens_per_s"]
        efficiency = two["tokens_per_s"] / per_core / 2
        full = FULL_LJ_VOWELS * LJ32_TOKENS / LJ32_VOWELS
        d["lj_per_core_tokens_per_s"] = per_core
        d["lj_jobs2_parallel_efficiency"] = round(efficiency, 2)
        d["full_lj_tokens"] = round(full)
        d["full_lj_16_cores_minutes"] = round(full / (per_core * 16 * min(efficiency, 1.0)) / 60, 1)
        d["full_lj_extrapolation"] = (
            f"{full:.0f} tokens (343 872 vowels x {LJ32_TOKENS}/{LJ32_VOWELS}) / ("
            f"{per_core} tokens/s per core [LJ-32 4x, jobs=1, wall] x 16 cores x "
            f"{min(efficiency, 1.0):.2f} parallel efficiency [4x jobs=2 / (2 x jobs=1)])"
        )
        cpu_rate = two["tokens"] / two["cpu_seconds"]
        d["full_lj_16_cores_minutes_cpu_bound"] = round(full / (cpu_rate * 16) / 60, 1)
        d["full_lj_cpu_bound_how"] = (
            f"{full:.0f} tokens / ({cpu_rate:.1f} tokens per CPU-second [4x jobs=2, "
            "process-tree CPU time] x 16 cores): the bound with perfect scaling and idle cores"
        )
    return d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no 16x corpus, no resnet101 training, fewer anchors")
    parser.add_argument("--anchor-tokens", type=int, default=0, help="anchor tokens per group (default 20, quick 10)")
    parser.add_argument("--repeats", type=int, default=0, help="per-core extraction runs (default 3, quick 2)")
    parser.add_argument("--scale-factors", default="", help="LJ-32 copies to extract, e.g. 1,4,16,64 (default 1,4,16)")
    for part in ("extract", "anchors", "spectrogram", "models", "cams", "report", "scale"):
        parser.add_argument(f"--skip-{part}", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "stages.json")
    args = parser.parse_args()
    console = Console(width=150)
    res: dict[str, Any] = {
        "machine": {
            "cpu_count": psutil.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_avg_start": os.getloadavg(),
        },
        "threads": THREADS,
        "batch": BATCH,
    }
    t_start = time.perf_counter()

    def step(name: str, fn: Callable[[], Any]) -> Any:
        console.log(f"{name} ...")
        value = fn()
        console.log(f"{name} done ({time.perf_counter() - t_start:.0f} s elapsed, load {os.getloadavg()[0]:.2f})")
        if value is None:
            res.setdefault("failed", []).append(name)
        return value

    h95 = {"corpus": str(H95), "textgrids": str(H95 / "textgrids"), "pattern": "hillenbrand", "include_unvoiced": False}
    if not args.skip_extract:
        repeats = args.repeats or (2 if args.quick else 3)
        res["extract"] = step(
            "extract hillenbrand jobs=1 against the plain Praat loop", lambda: run_per_core(h95, repeats)
        )
        if (two := step("extract hillenbrand jobs=2", lambda: run_stage("extract", {**h95, "jobs": 2}))) is not None:
            res["extract"]["jobs2"] = two
    if not args.skip_anchors:
        per_group = args.anchor_tokens or (10 if args.quick else 20)
        res["anchors"] = step("anchors", lambda: run_stage("anchors", {"per_group": per_group}))
    if not args.skip_spectrogram:
        res["spectrogram"] = step("spectrograms", lambda: run_stage("spectrogram", {}))
    if not args.skip_models:
        res["matmul"] = {"before models": step("matmul peak", lambda: run_stage("matmul", {"n": 4096, "repeats": 4}))}
        res["models"] = {}
        for arch in ("resnet18", "resnet101"):
            for max_hz in (125.0, 0.0):
                train = not (args.quick and arch == "resnet101")
                params = {"arch": arch, "max_hz": max_hz, "train": train, "batches": 1 if arch == "resnet101" else 3}
                key = f"{arch} {'125 Hz/row' if max_hz else 'standard strides'}"
                if (result := step(key, lambda p=params: run_stage("model", p))) is not None:
                    res["models"][key] = result
        res["matmul"]["after models"] = step("matmul peak", lambda: run_stage("matmul", {"n": 4096, "repeats": 4}))
        res["matmul"] = {key: m for key, m in res["matmul"].items() if m}
    if not args.skip_cams:
        res["cams"] = step("CAMs", lambda: run_stage("cams", {"repeats": 3}))
    if not args.skip_report:
        res["report"] = step("report", lambda: run_stage("report", {"tokens": 10_000}))
    if not args.skip_scale:
        factors = (
            tuple(int(f) for f in args.scale_factors.split(","))
            if args.scale_factors
            else ((1, 4) if args.quick else (1, 4, 16))
        )
        res["scale"] = step("scale corpus", lambda: run_scale(factors))
    res = {key: value for key, value in res.items() if value is not None}
    res["derived"] = derive(res)
    res["machine"]["load_avg_end"] = os.getloadavg()
    res["total_seconds"] = round(time.perf_counter() - t_start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=float) + "\n", encoding="utf-8")
    show(res, console)
    console.print(
        f"-> {args.out} ({res['total_seconds']:.0f} s; load average start {res['machine']['load_avg_start'][0]:.2f},"
        f" end {res['machine']['load_avg_end'][0]:.2f} on {res['machine']['cpu_count']} CPUs)"
    )


if __name__ == "__main__":
    main()
