"""Every stage of vowelcam in one run, on the same data: throughput (tokens/s), peak memory, and ratios to anchors.

Stages (each runs in its own subprocess, started by this script with ``--stage``; the parent samples the resident
memory of that child's whole process tree every 0.1 s with psutil, so ``peak MB`` includes extraction workers and
the report's grandchild; the child's own ``ru_maxrss`` from ``resource.getrusage`` is recorded as a cross-check):

- extraction of ``../shared/data/hillenbrand1995`` (preset ``hillenbrand``, vowels only) with ``jobs=1`` (per core)
  and ``jobs=2``;
- anchors on a spread-out subset of the same tokens (``--anchor-tokens`` per group): vowelcam's ``measure_token``,
  a plain one-call-per-token Praat Burg loop (``plain_burg_formants``) and fasttrackpy (``bench_formants``'s
  methods and scoring against the hand-edited formants of ``vowdata.dat``);
- spectrograms alone (``token_spectrogram`` at every Hillenbrand vowel's midpoint, audio read beforehand);
- the machine's float32 matmul peak (best of several ``torch.matmul`` of n x n, 2 n^3 FLOPs, measured before and
  after the networks; the larger counts) and, for resnet18 and
  resnet101 with ``choose_freq_strides(31.25, 125)`` and standard strides (input 129 x 96, batch 16, 2 threads),
  training-step and inference tokens/s (``bench_throughput.measure``) with FLOPs counted by
  ``torch.utils.flop_counter.FlopCounterMode``, as a fraction of that peak;
- CAMs (``compute_cams`` cam/gradcam/hirescam at layer4 of resnet18, 125 Hz per row) against a plain forward of
  the same batch, and the ``grad-cam`` package's GradCAM used the documented way (``bench_cam``'s functions);
- report rendering of a synthetic 10 000-token run (``bench_report``);
- the LJSpeech scale corpus (``scale_corpus``) at 1x, 4x, 16x with ``jobs=2`` and 4x with ``jobs=1`` (the same
  extraction runner as above, like ``bench_extract.run_extract`` plus process-tree CPU time from
  ``getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN)``): wall and CPU time per token and peak memory, and the
  extrapolation to the full LJSpeech corpus (see ``_scale_ratios``).

    python bench/bench_stages.py [--quick] [--skip-extract] [--skip-anchors] [--skip-spectrogram] [--skip-models]
                                 [--skip-cams] [--skip-report] [--skip-scale]

``--quick`` drops the 16x corpus and resnet101's training timing, and uses fewer anchor tokens. Writes
bench/results/stages.json and prints Rich tables (stages, ratios and targets, anchor accuracy).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
H95 = DATA / "hillenbrand1995"
LJ32 = DATA / "ljspeech-32"
RESULTS = REPO / "bench" / "results" / "stages.json"
sys.path.insert(0, str(REPO / "bench"))

THREADS = 2
BATCH = 16
ROWS, FRAMES = 129, 96
FULL_LJ_VOWELS = 343_872
LJ32_TOKENS, LJ32_VOWELS = 1393, 879  # LJ-32: all tokens vs vowel tokens (unvoiced consonants in this ratio)
TARGETS = {"extract_per_core": 100.0, "vs_fasttrack": 15.0, "cam_vs_forward": 3.0, "full_lj_16_cores_min": 10.0}


# ------------------------------------------------------------------------------------------ child stages


def stage_extract(p: dict) -> dict:
    """Extract ``p['corpus']`` with ``p['jobs']`` workers; tokens and seconds inside ``extract``."""
    from vowelcam.config import Settings
    from vowelcam.extract import extract

    overrides = {"extract": {"jobs": p["jobs"]}, "corpus": {"speaker_pattern": p.get("pattern", "")},
                 "labels": {"include_unvoiced": p.get("include_unvoiced", True)}}
    settings = Settings().with_overrides(overrides)
    with tempfile.TemporaryDirectory() as out:
        t0, cpu0 = time.perf_counter(), _cpu_seconds()
        summary = extract(p["corpus"], out, p.get("textgrids") or None, settings, force=True)
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    return {"tokens": summary.n_tokens, "seconds": seconds, "cpu_seconds": cpu, "jobs": p["jobs"],
            "cpu_tokens_per_s": round(summary.n_tokens / cpu, 2)}


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children (the extraction workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def stage_anchors(p: dict) -> dict:
    """vowelcam measure_token, plain Burg and fasttrackpy on the same tokens: speed and accuracy."""
    from importlib.metadata import version

    import bench_formants as bf
    from vowelcam.config import MeasureSettings

    tokens = bf.load_tokens(p["per_group"])
    methods = {"vowelcam measure_token": bf.vowelcam_method(MeasureSettings()),
               "plain Burg (1 Praat call/token)": bf.plain_method, "fasttrackpy": bf.fasttrack_method}
    t0 = time.perf_counter()
    entries = bf.evaluate(methods, tokens)
    return {"tokens": len(tokens), "seconds": time.perf_counter() - t0, "methods": entries,
            "fasttrackpy_version": version("fasttrackpy")}


def stage_spectrogram(p: dict) -> dict:
    """token_spectrogram at every Hillenbrand vowel midpoint, on the audio the extractor would read."""
    import numpy as np
    import soundfile as sf

    import bench_formants as bf
    from vowelcam.acoustics.features import context_seconds, geometry, token_spectrogram
    from vowelcam.config import SpectrogramSettings

    settings = SpectrogramSettings()
    geo, ctx = geometry(settings), context_seconds(settings) + 0.01
    items = []
    for wav in sorted(H95.glob("*/*.wav")):
        start, end = bf.vowel_bounds(H95 / "textgrids" / f"{wav.stem}.TextGrid")
        audio, sr = sf.read(wav, dtype="float64", always_2d=False)
        centre = (start + end) / 2
        first = max(0, int((centre - ctx) * sr))
        items.append((audio[first:int((centre + ctx) * sr) + 1], sr, centre - first / sr))
    t0 = time.perf_counter()
    for samples, sr, centre in items:
        token_spectrogram(samples, sr, centre, settings, geo)
    seconds = time.perf_counter() - t0
    return {"tokens": len(items), "seconds": seconds, "shape": list(token_spectrogram(*items[0], settings, geo).shape),
            "np_version": np.__version__}


def stage_matmul(p: dict) -> dict:
    """float32 matmul peak: best of ``repeats`` n x n products, 2 n^3 FLOPs each."""
    import torch

    torch.set_num_threads(THREADS)
    n = p["n"]
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = min(_clock(lambda: torch.matmul(a, b)) for _ in range(p["repeats"]))
    return {"n": n, "seconds": best, "gflops": 2 * n**3 / best / 1e9, "threads": torch.get_num_threads()}


def stage_model(p: dict) -> dict:
    """Training-step and inference tokens/s of one network, and its FLOPs per token (FlopCounterMode)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import bench_throughput
    from vowelcam.learn.models import SpectrogramResNet, choose_freq_strides

    torch.set_num_threads(THREADS)
    strides = choose_freq_strides(31.25, p["max_hz"])
    model = SpectrogramResNet(p["arch"], 12, strides)
    x, y = torch.randn(BATCH, 1, ROWS, FRAMES), torch.randint(0, 12, (BATCH,))
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as infer_counter:
        model(x)
    model.train()
    with FlopCounterMode(display=False) as train_counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    t0 = time.perf_counter()
    if p["train"]:
        speed = bench_throughput.measure(p["arch"], ROWS, p["max_hz"], torch.device("cpu"), BATCH, p["batches"])
    else:
        speed = _infer_only(model, x, p["batches"])
    return {"arch": p["arch"], "freq_strides": strides, "batch": BATCH, "stage_seconds": time.perf_counter() - t0,
            "train_tokens_per_s": speed.get("train_tokens_per_s"), "infer_tokens_per_s": speed["infer_tokens_per_s"],
            "infer_flops_per_token": infer_counter.get_total_flops() / BATCH,
            "train_flops_per_token": train_counter.get_total_flops() / BATCH, "threads": torch.get_num_threads()}


def _infer_only(model: Any, x: Any, batches: int) -> dict:
    import torch

    model.eval()

    def step() -> None:
        with torch.inference_mode():
            model(x)

    step()
    times = sorted(_clock(step) for _ in range(batches))
    return {"infer_tokens_per_s": len(x) / times[len(times) // 2]}


def stage_cams(p: dict) -> dict:
    """compute_cams (cam, gradcam, hirescam) and grad-cam's GradCAM against a plain forward of the same batch."""
    import numpy as np
    import torch

    from bench_cam import package_gradcam, timed_against
    from vowelcam.explain.cam import compute_cams, layer_grid
    from vowelcam.learn.models import SpectrogramResNet, choose_freq_strides, hz_per_row_by_layer

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    device = torch.device("cpu")
    strides = choose_freq_strides(31.25, 125)
    model = SpectrogramResNet("resnet18", 12, strides).eval()
    grid = layer_grid(model, model.layer4, "layer4", np.arange(ROWS) * 31.25, FRAMES,
                      hz_per_row_by_layer(31.25, strides)["layer4"])
    x = torch.randn(BATCH, 1, ROWS, FRAMES)
    classes = torch.randint(0, 12, (BATCH,))

    def forward() -> object:
        with torch.no_grad():
            return model(x)

    rows = []
    t0 = time.perf_counter()
    base, _ = timed_against(forward, forward, p["repeats"], device)
    rows.append({"what": "plain forward (no_grad)", "seconds": base, "ratio_to_forward": 1.0})
    runs: dict[str, Callable[[], object]] = {
        f"vowelcam {m}": (lambda m=m: compute_cams(model, model.layer4, x, classes[:, None], m, grid))
        for m in ("cam", "gradcam", "hirescam")}
    runs["grad-cam package GradCAM"] = package_gradcam(model, x, classes.tolist())
    for what, fn in runs.items():
        sec, ratio = timed_against(fn, forward, p["repeats"], device)
        rows.append({"what": what, "seconds": sec, "ratio_to_forward": ratio})
    return {"batch": BATCH, "stage_seconds": time.perf_counter() - t0, "freq_strides": strides, "rows": rows,
            "threads": torch.get_num_threads()}


def stage_report(p: dict) -> dict:
    """Write a synthetic run of ``p['tokens']`` tokens and render its report in a fresh process."""
    import bench_report

    sys.path.insert(0, str(REPO / "tests"))
    from report_fake_run import write_fake_run

    with tempfile.TemporaryDirectory(prefix="vowelcam-bench-stages-") as tmp:
        t0 = time.perf_counter()
        run = write_fake_run(Path(tmp) / "run", n_tokens=p["tokens"], gallery_size=12)
        write_s = time.perf_counter() - t0
        timing = bench_report.time_report(run.root, Path(tmp) / "report")
    return {"tokens": p["tokens"], "seconds": timing["wall_s"], "write_fake_run_s": write_s, **timing}


STAGES: dict[str, Callable[[dict], dict]] = {
    "extract": stage_extract, "anchors": stage_anchors, "spectrogram": stage_spectrogram, "matmul": stage_matmul,
    "model": stage_model, "cams": stage_cams, "report": stage_report,
}


def _clock(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def child_main(stage: str, params: str) -> None:
    """Run one stage in this process and print its result as the last line of stdout."""
    result = STAGES[stage](json.loads(params))
    result["child_ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, default=float))


# ------------------------------------------------------------------------------------------ parent


def run_stage(stage: str, params: dict) -> dict | None:
    """Run ``stage`` in a subprocess; add the tree's peak RSS (psutil, 0.1 s sampling), tokens/s and load.

    A failing stage is logged and gives ``None`` (the other stages still run and are reported).
    """
    from bench_extract import _watch_memory

    load_before = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--stage", stage, "--params", json.dumps(params)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = _watch_memory(proc)
    stdout, _ = proc.communicate()
    if proc.returncode:
        Console(stderr=True).print(f"[red]stage {stage} {params} failed (exit {proc.returncode})")
        return None
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(peak_rss_mb=round(peak / 2**20, 1), load_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)])
    if result.get("seconds") and result.get("tokens"):
        result["tokens_per_s"] = round(result["tokens"] / result["seconds"], 2)
    return result


def run_scale(factors: tuple[int, ...]) -> dict:
    """LJ-32 scale corpus (``scale_corpus``, all tokens incl. unvoiced): each factor with jobs=2, and 4x with jobs=1
    (per core; 4x rather than 1x so that worker start-up does not dominate the 2-job scaling measurement)."""
    from scale_corpus import make_scale_corpus

    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="vowelcam-scale-") as tmp:
        for factor, jobs in sorted({(f, 2) for f in factors} | {(4, 1)}):
            corpus = make_scale_corpus(Path(tmp) / f"x{factor}", factor)
            result = run_stage("extract", {"corpus": str(corpus), "jobs": jobs})
            if result is None:
                continue
            result.update(factor=factor, ms_per_token=round(1000 * result["seconds"] / result["tokens"], 3),
                          cpu_ms_per_token=round(1000 * result["cpu_seconds"] / result["tokens"], 3))
            out[f"{factor}x_jobs{jobs}"] = result
    return out


def derive(res: dict) -> dict:
    """Ratios and targets from the measured stages (only those that ran)."""
    d: dict[str, Any] = {}
    ext, anc = res.get("extract", {}), res.get("anchors")
    if "jobs1" in ext:
        d["extract_per_core_tokens_per_s"] = ext["jobs1"]["tokens_per_s"]
        d["extract_per_cpu_second_tokens"] = ext["jobs1"]["cpu_tokens_per_s"]
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
        d["spectrogram_share_of_extract_time"] = round(ext["jobs1"]["tokens_per_s"] / res["spectrogram"]["tokens_per_s"], 3)
    peak = max((m["gflops"] for m in res.get("matmul", {}).values()), default=None)
    if peak:
        d["matmul_peak_gflops"] = round(peak, 1)
    for key, r in res.get("models", {}).items():
        for kind in ("train", "infer"):
            if peak and r.get(f"{kind}_tokens_per_s"):
                gflops = r[f"{kind}_tokens_per_s"] * r[f"{kind}_flops_per_token"] / 1e9
                r[f"{kind}_gflops"] = round(gflops, 2)
                r[f"{kind}_fraction_of_matmul_peak"] = round(gflops / peak, 3)
    if "cams" in res:
        rows = {r["what"]: r for r in res["cams"]["rows"]}
        d["cam_ratios_to_forward"] = {k: round(r["ratio_to_forward"], 2) for k, r in rows.items()}
        d["vowelcam_gradcam_vs_package_gradcam_time"] = round(rows["vowelcam gradcam"]["seconds"]
                                                              / rows["grad-cam package GradCAM"]["seconds"], 2)
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
        d["full_lj_extrapolation"] = (f"{full:.0f} tokens (343 872 vowels x {LJ32_TOKENS}/{LJ32_VOWELS}) / ("
                                      f"{per_core} tokens/s per core [LJ-32 4x, jobs=1, wall] x 16 cores x "
                                      f"{min(efficiency, 1.0):.2f} parallel efficiency [4x jobs=2 / (2 x jobs=1)])")
        cpu_rate = two["tokens"] / two["cpu_seconds"]
        d["full_lj_16_cores_minutes_cpu_bound"] = round(full / (cpu_rate * 16) / 60, 1)
        d["full_lj_cpu_bound_how"] = (f"{full:.0f} tokens / ({cpu_rate:.1f} tokens per CPU-second [4x jobs=2, "
                                      "process-tree CPU time] x 16 cores): the bound with perfect scaling and idle cores")
    return d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="no 16x corpus, no resnet101 training, fewer anchors")
    parser.add_argument("--anchor-tokens", type=int, default=0, help="anchor tokens per group (default 20, quick 10)")
    for part in ("extract", "anchors", "spectrogram", "models", "cams", "report", "scale"):
        parser.add_argument(f"--skip-{part}", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.stage:
        child_main(args.stage, args.params)
        return
    console = Console(width=150)
    res: dict[str, Any] = {"machine": {"cpu_count": psutil.cpu_count(), "python": platform.python_version(),
                                       "processor": platform.processor() or platform.machine(),
                                       "load_avg_start": os.getloadavg()}, "threads": THREADS, "batch": BATCH}
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
        runs = {f"jobs{j}": step(f"extract hillenbrand jobs={j}", lambda j=j: run_stage("extract", {**h95, "jobs": j}))
                for j in (1, 2)}
        res["extract"] = {key: r for key, r in runs.items() if r}
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
        res["scale"] = step("scale corpus", lambda: run_scale((1, 4) if args.quick else (1, 4, 16)))
    res = {key: value for key, value in res.items() if value is not None}
    res["derived"] = derive(res)
    res["machine"]["load_avg_end"] = os.getloadavg()
    res["total_seconds"] = round(time.perf_counter() - t_start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=float) + "\n", encoding="utf-8")
    show(res, console)
    console.print(f"-> {args.out} ({res['total_seconds']:.0f} s; load average start {res['machine']['load_avg_start'][0]:.2f},"
                  f" end {res['machine']['load_avg_end'][0]:.2f} on {res['machine']['cpu_count']} CPUs)")


# ------------------------------------------------------------------------------------------ tables


def show(res: dict, console: Console) -> None:
    """Stage table, ratio/target table and anchor accuracy table."""
    console.print(stage_table(res))
    console.print(ratio_table(res))
    if "anchors" in res:
        console.print(anchor_table(res["anchors"]))


def stage_table(res: dict) -> Table:
    table = Table(title=f"vowelcam stages (tokens/s; peak RSS of the stage's process tree; {THREADS} torch threads)")
    for col in ("stage", "tokens", "seconds", "tokens/s", "peak MB", "note"):
        table.add_column(col, justify="left" if col in {"stage", "note"} else "right")

    def row(name: str, r: dict, tps: float | None = None, note: str = "", tokens: int | None = None) -> None:
        tps = r.get("tokens_per_s") if tps is None else tps
        tokens = tokens or r.get("tokens")
        seconds = tokens / tps if tokens and tps else r.get("seconds", 0)
        table.add_row(name, str(tokens or ""), f"{seconds:.2f}", f"{tps:.2f}" if tps else "–",
                      f"{r.get('peak_rss_mb', 0):.0f}", note)

    for key, r in res.get("extract", {}).items():
        row(f"extract hillenbrand {key.replace('jobs', 'jobs=')}", r,
            note=f"formants+F0+spectrograms+writing; {r['cpu_tokens_per_s']:.1f} tokens per CPU-s")
    if "anchors" in res:
        for name, m in res["anchors"]["methods"].items():
            table.add_row(f"anchor: {name}", str(m["tokens"]), f"{m['tokens'] / m['tokens_per_s_wall']:.2f}",
                          f"{m['tokens_per_s_wall']:.2f}", f"{res['anchors']['peak_rss_mb']:.0f}",
                          f"CPU {m['tokens_per_s_cpu']:.1f} tok/s; same tokens, interleaved")
    if "spectrogram" in res:
        row("spectrograms alone", res["spectrogram"], note=f"token_spectrogram {res['spectrogram']['shape']}, audio in memory")
    for key, m in res.get("matmul", {}).items():
        table.add_row(f"matmul ({key})", "", f"{m['seconds']:.3f}", "–", f"{m['peak_rss_mb']:.0f}",
                      f"{m['gflops']:.1f} GFLOP/s float32, n={m['n']} (peak = the larger)")
    for key, r in res.get("models", {}).items():
        for kind in ("train", "infer"):
            if r.get(f"{kind}_tokens_per_s"):
                frac = r.get(f"{kind}_fraction_of_matmul_peak")
                note = (f"{r[f'{kind}_flops_per_token'] / 1e9:.2f} GFLOP/token; {r.get(f'{kind}_gflops', 0):.1f} GFLOP/s"
                        + (f" = {100 * frac:.1f} % of matmul peak" if frac else ""))
                row(f"{key} {'training step' if kind == 'train' else 'inference'}", r, r[f"{kind}_tokens_per_s"], note,
                    BATCH)
    if "cams" in res:
        for c in res["cams"]["rows"]:
            table.add_row(f"CAM: {c['what']}", str(BATCH), f"{c['seconds']:.3f}", f"{BATCH / c['seconds']:.2f}",
                          f"{res['cams']['peak_rss_mb']:.0f}", f"{c['ratio_to_forward']:.2f}x forward (resnet18 125 Hz)")
    if "report" in res:
        r = res["report"]
        row("report (synthetic run)", r, note=f"wall; CPU {r['cpu_s']:.1f} s, {r['pages']} pages")
    for key, r in res.get("scale", {}).items():
        row(f"LJ-32 scale {key.replace('_jobs', ' jobs=')}", r,
            note=f"{r['ms_per_token']:.2f} ms/token wall, {r['cpu_ms_per_token']:.2f} CPU ms/token")
    return table


def ratio_table(res: dict) -> Table:
    d = res["derived"]
    table = Table(title="ratios (same run) and targets")
    for col in ("ratio", "value", "target", "met"):
        table.add_column(col, justify="left" if col == "ratio" else "right")

    def add(name: str, key: str, target: float | None = None, higher_better: bool = True) -> None:
        if key not in d:
            return
        value = d[key]
        met = "" if target is None else ("[green]yes" if (value >= target) == higher_better else "[red]no")
        sign = "≥" if higher_better else "≤"
        table.add_row(name, f"{value:g}", f"{sign} {target:g}" if target is not None else "", met)

    add("extraction per core, tokens/s", "extract_per_core_tokens_per_s", TARGETS["extract_per_core"])
    add("extraction tokens per CPU-second (jobs=1)", "extract_per_cpu_second_tokens", TARGETS["extract_per_core"])
    add("extraction per core ÷ fasttrackpy", "extract_per_core_vs_fasttrack", TARGETS["vs_fasttrack"])
    add("extraction ÷ fasttrackpy, CPU time", "extract_cpu_vs_fasttrack_cpu", TARGETS["vs_fasttrack"])
    add("extraction per core ÷ plain Burg loop", "extract_per_core_vs_plain_burg")
    add("measure_token ÷ fasttrackpy (same tokens)", "measure_token_vs_fasttrack_same_tokens")
    add("plain Burg loop ÷ measure_token", "plain_burg_vs_measure_token")
    add("extraction jobs=2 ÷ jobs=1", "extract_jobs2_speedup")
    add("spectrogram time share of extraction", "spectrogram_share_of_extract_time")
    for what, ratio in d.get("cam_ratios_to_forward", {}).items():
        if what != "plain forward (no_grad)":
            table.add_row(f"CAM {what} ÷ forward", f"{ratio:g}", f"≤ {TARGETS['cam_vs_forward']:g}",
                          "[green]yes" if ratio <= TARGETS["cam_vs_forward"] else "[red]no")
    add("vowelcam gradcam ÷ grad-cam package (time)", "vowelcam_gradcam_vs_package_gradcam_time")
    for key in sorted(k for k in d if k.startswith(("time_per_token_", "peak_rss_"))):
        add(key.replace("_", " "), key)
    add("LJ jobs=2 parallel efficiency", "lj_jobs2_parallel_efficiency")
    add("matmul peak GFLOP/s (float32, 2 threads)", "matmul_peak_gflops")
    add("full LJSpeech on 16 cores, minutes", "full_lj_16_cores_minutes", TARGETS["full_lj_16_cores_min"], False)
    add("  same, CPU-time bound (perfect scaling)", "full_lj_16_cores_minutes_cpu_bound", TARGETS["full_lj_16_cores_min"],
        False)
    return table


def anchor_table(anchors: dict) -> Table:
    table = Table(title=f"anchor accuracy on the same {anchors['tokens']} Hillenbrand tokens (median rel. error %, "
                        "gross > 15 %)")
    for col in ("method", "group", "n", "F1 med", "F2 med", "F3 med", "F1 gross", "F2 gross", "F3 gross"):
        table.add_column(col, justify="left" if col in {"method", "group"} else "right")
    for name, m in anchors["methods"].items():
        for group, s in m["groups"].items():
            table.add_row(name, group, str(s["tokens"]), *(f"{s.get(f'F{k}_median_rel_err_pct', float('nan')):.2f}"
                                                           for k in (1, 2, 3)),
                          *(f"{s.get(f'F{k}_gross_pct', float('nan')):.1f}" for k in (1, 2, 3)))
    return table


if __name__ == "__main__":
    main()
