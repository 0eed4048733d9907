"""The stages of ``bench_stages.py``, each run in its own process: ``python -m bench.lib.stage_children STAGE PARAMS``.

Each prints one JSON object (its measurements) as the last line of stdout; the parent samples the process tree's
memory meanwhile. Constants shared with the parent live here.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .paths import DATA

H95 = DATA / "hillenbrand1995"

THREADS = 2
BATCH = 16
ROWS, FRAMES = 129, 96


def stage_extract(p: dict) -> dict:
    """Extract ``p['corpus']`` with ``p['jobs']`` workers; tokens and seconds inside ``extract``."""
    from vowelcam.config import Settings
    from vowelcam.extract import extract

    overrides = {
        "extract": {"jobs": p["jobs"]},
        "corpus": {"speaker_pattern": p.get("pattern", "")},
        "labels": {"include_unvoiced": p.get("include_unvoiced", True)},
    }
    settings = Settings().with_overrides(overrides)
    with tempfile.TemporaryDirectory() as out:
        t0, cpu0 = time.perf_counter(), _cpu_seconds()
        summary = extract(p["corpus"], out, p.get("textgrids") or None, settings, force=True)
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    return {
        "tokens": summary.n_tokens,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jobs": p["jobs"],
        "cpu_tokens_per_s": round(summary.n_tokens / cpu, 2),
    }


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children (the extraction workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def stage_plain_loop(p: dict) -> dict:
    """The anchor for per-core extraction: a plain Praat loop over every Hillenbrand vowel, one call per token.

    Per token: read the file (soundfile), one Burg call over the vowel plus 0.1 s on each side at the group's
    classic ceiling (5000 / 5500 Hz), F1–F3 read at 20/50/80 % (``plain_burg_formants``). No F0, no spectrogram,
    no writing: what a hand-written Praat script would do for formants alone.
    """
    import soundfile as sf

    from bench.lib.formants import plain_burg_formants

    from . import hillenbrand as hb

    wavs = sorted(H95.glob("*/*.wav"))
    bounds = [hb.vowel_bounds(H95 / "textgrids" / f"{wav.stem}.TextGrid") for wav in wavs]
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    for wav, (start, end) in zip(wavs, bounds):
        audio, sr = sf.read(wav, dtype="float64", always_2d=False)
        first = max(0, int((start - hb.MARGIN_S) * sr))
        last = min(audio.size, int((end + hb.MARGIN_S) * sr) + 1)
        plain_burg_formants(
            audio[first:last], sr, start - first / sr, end - first / sr, hb.PLAIN_CEILING[hb.GROUPS[wav.stem[0]]]
        )
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    return {"tokens": len(wavs), "seconds": seconds, "cpu_seconds": cpu, "cpu_tokens_per_s": round(len(wavs) / cpu, 2)}


def stage_anchors(p: dict) -> dict:
    """vowelcam measure_token, plain Burg and fasttrackpy on the same tokens: speed and accuracy."""
    from importlib.metadata import version

    from vowelcam.config import MeasureSettings

    from . import hillenbrand as hb

    tokens = hb.load_tokens(p["per_group"])
    methods = {
        "vowelcam measure_token": hb.vowelcam_method(MeasureSettings()),
        "plain Burg (1 Praat call/token)": hb.plain_method,
        "fasttrackpy": hb.fasttrack_method,
    }
    t0 = time.perf_counter()
    entries = hb.evaluate(methods, tokens)
    return {
        "tokens": len(tokens),
        "seconds": time.perf_counter() - t0,
        "methods": entries,
        "fasttrackpy_version": version("fasttrackpy"),
    }


def stage_spectrogram(p: dict) -> dict:
    """token_spectrogram at every Hillenbrand vowel midpoint, on the audio the extractor would read."""
    import numpy as np
    import soundfile as sf

    from vowelcam.acoustics.features import context_seconds, geometry, token_spectrogram
    from vowelcam.config import SpectrogramSettings

    from . import hillenbrand as hb

    settings = SpectrogramSettings()
    geo, ctx = geometry(settings), context_seconds(settings) + 0.01
    items = []
    for wav in sorted(H95.glob("*/*.wav")):
        start, end = hb.vowel_bounds(H95 / "textgrids" / f"{wav.stem}.TextGrid")
        audio, sr = sf.read(wav, dtype="float64", always_2d=False)
        centre = (start + end) / 2
        first = max(0, int((centre - ctx) * sr))
        items.append((audio[first : int((centre + ctx) * sr) + 1], sr, centre - first / sr))
    t0 = time.perf_counter()
    for samples, sr, centre in items:
        token_spectrogram(samples, sr, centre, settings, geo)
    seconds = time.perf_counter() - t0
    return {
        "tokens": len(items),
        "seconds": seconds,
        "shape": list(token_spectrogram(*items[0], settings, geo).shape),
        "np_version": np.__version__,
    }


def stage_matmul(p: dict) -> dict:
    """float32 matmul peak: best of ``repeats`` n x n products, 2 n^3 FLOPs each."""
    import torch

    from .timing import clock

    torch.set_num_threads(THREADS)
    n = p["n"]
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = min(clock(lambda: torch.matmul(a, b)) for _ in range(p["repeats"]))
    return {"n": n, "seconds": best, "gflops": 2 * n**3 / best / 1e9, "threads": torch.get_num_threads()}


def stage_model(p: dict) -> dict:
    """Training-step and inference tokens/s of one network, and its FLOPs per token (FlopCounterMode)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from vowelcam.learn.models import SpectrogramResNet, choose_freq_strides

    from .throughput import measure

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
        speed = measure(p["arch"], ROWS, p["max_hz"], torch.device("cpu"), BATCH, p["batches"])
    else:
        speed = _infer_only(model, x, p["batches"])
    return {
        "arch": p["arch"],
        "freq_strides": strides,
        "batch": BATCH,
        "stage_seconds": time.perf_counter() - t0,
        "train_tokens_per_s": speed.get("train_tokens_per_s"),
        "infer_tokens_per_s": speed["infer_tokens_per_s"],
        "infer_flops_per_token": infer_counter.get_total_flops() / BATCH,
        "train_flops_per_token": train_counter.get_total_flops() / BATCH,
        "threads": torch.get_num_threads(),
    }


def _infer_only(model: Any, x: Any, batches: int) -> dict:
    import torch

    from .timing import clock

    model.eval()

    def step() -> None:
        with torch.inference_mode():
            model(x)

    step()
    times = sorted(clock(step) for _ in range(batches))
    return {"infer_tokens_per_s": len(x) / times[len(times) // 2]}


def stage_cams(p: dict) -> dict:
    """compute_cams (cam, gradcam, hirescam) and grad-cam's GradCAM against a plain forward of the same batch."""
    import numpy as np
    import torch

    from vowelcam.explain.maps.cam import compute_cams, layer_grid
    from vowelcam.learn.models import SpectrogramResNet, choose_freq_strides, hz_per_row_by_layer

    from .cams import package_gradcam
    from .timing import timed_against

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    device = torch.device("cpu")
    strides = choose_freq_strides(31.25, 125)
    model = SpectrogramResNet("resnet18", 12, strides).eval()
    grid = layer_grid(
        model, model.layer4, "layer4", np.arange(ROWS) * 31.25, FRAMES, hz_per_row_by_layer(31.25, strides)["layer4"]
    )
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
        for m in ("cam", "gradcam", "hirescam")
    }
    runs["grad-cam package GradCAM"] = package_gradcam(model, x, classes.tolist())
    for what, fn in runs.items():
        sec, ratio = timed_against(fn, forward, p["repeats"], device)
        rows.append({"what": what, "seconds": sec, "ratio_to_forward": ratio})
    return {
        "batch": BATCH,
        "stage_seconds": time.perf_counter() - t0,
        "freq_strides": strides,
        "rows": rows,
        "threads": torch.get_num_threads(),
    }


def stage_report(p: dict) -> dict:
    """Write a synthetic run of ``p['tokens']`` tokens and render its report in a fresh process."""
    from .report_timing import time_report, write_fake_run

    with tempfile.TemporaryDirectory(prefix="vowelcam-bench-stages-") as tmp:
        t0 = time.perf_counter()
        run = write_fake_run(Path(tmp) / "run", n_tokens=p["tokens"], gallery_size=12)
        write_s = time.perf_counter() - t0
        timing = time_report(run.root, Path(tmp) / "report")
    return {"tokens": p["tokens"], "seconds": timing["wall_s"], "write_fake_run_s": write_s, **timing}


STAGES: dict[str, Callable[[dict], dict]] = {
    "extract": stage_extract,
    "plain_loop": stage_plain_loop,
    "anchors": stage_anchors,
    "spectrogram": stage_spectrogram,
    "matmul": stage_matmul,
    "model": stage_model,
    "cams": stage_cams,
    "report": stage_report,
}


def child_main(stage: str, params: str) -> None:
    """Run one stage in this process and print its result as the last line of stdout."""
    result = STAGES[stage](json.loads(params))
    result["child_ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    child_main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}")
