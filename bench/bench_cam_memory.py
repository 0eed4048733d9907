"""Peak memory of ``vowelcam cam`` against the number of tokens: the maps must stream to disk, not pile up.

For each size N, a synthetic run of N tokens (``tests/learn_helpers.make_run`` with the default 16 kHz, 257 x 96
spectrograms; 4 vowel classes) gets a quickly trained ResNet-18 (standard strides, 1 epoch, 4 kHz task), then
``explain_run`` (Grad-CAM, every token, no faithfulness tests) runs in a fresh process whose memory is sampled
every 0.1 s from /proc: the heap (``RssAnon``) and the resident set (``VmRSS``, which also counts the pages of
the memory-mapped ``cams/*.npy`` being written; the kernel writes those back and drops them under pressure).
Maps are 129 x 96 float32 per class and token (about 99 kB per token for the two classes), so a pass that held
them all on the heap would grow by about 99 MB per 1000 tokens.

    python -m bench.bench_cam_memory [--sizes 500,2000] [--code PATH]

``--code`` runs the CAM pass with another checkout's ``vowelcam`` (e.g. a worktree of an older commit) on the
same runs, for a before/after comparison. Writes bench/results/cam_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # learn_helpers.make_run, the tests' synthetic run builder

RESULTS = REPO / "bench" / "results" / "cam_memory.json"
CAM = """import sys, time
import vowelcam
print(vowelcam.__file__, file=sys.stderr)
from vowelcam.config import CamSettings
from vowelcam.explain.stage import explain_run
t = time.perf_counter()
explain_run(sys.argv[1], CamSettings(tokens="all", faithfulness=False, bootstrap=50), device="cpu")
print(time.perf_counter() - t)
"""


def make_trained_run(root: Path, n_tokens: int) -> Path:
    """A run of about ``n_tokens`` synthetic tokens (10 speakers) with a 1-epoch ResNet-18."""
    import torch

    from tests.helpers.runs import extracted_run as make_run
    from vowelcam.config import SpectrogramSettings, TrainSettings
    from vowelcam.learn.train import train

    per_class = max(1, n_tokens // (10 * 4))
    run = make_run(
        root, phones=("IY", "AA", "UW", "AE"), speakers=10, per_class=per_class, settings=SpectrogramSettings()
    )
    torch.manual_seed(0)
    train(
        run,
        TrainSettings(task="vowels4k", arch="resnet18", epochs=1, max_hz_per_row=0.0, freq_pool=1, time_pool=1, seed=0),
    )
    return run


def _watch(proc: subprocess.Popen) -> dict[str, int]:
    """Peak ``RssAnon`` (heap: what the process itself holds) and ``VmRSS`` (also counting the pages of the
    memory-mapped CAM files, which the kernel can write back and drop) of ``proc``, in kB, sampled every 0.1 s."""
    peak = {"RssAnon": 0, "VmRSS": 0}
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                key, _, value = line.partition(":")
                if key in peak:
                    peak[key] = max(peak[key], int(value.split()[0]))
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    return peak


def cam_peak(run: Path, code: Path | None) -> dict:
    """Run the CAM pass in a subprocess; its peak heap and resident memory (MB) and seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    if code:
        env["PYTHONPATH"] = str(code)
    # run from the run's folder: ``python -c`` puts the working directory first on sys.path, and this checkout's
    # folder there would shadow --code
    proc = subprocess.Popen(
        [sys.executable, "-c", CAM, str(run)], stdout=subprocess.PIPE, text=True, env=env, cwd=run.parent
    )
    peak = _watch(proc)
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"CAM pass failed on {run}")
    return {
        "peak_heap_mb": round(peak["RssAnon"] / 1024, 1),
        "peak_rss_mb": round(peak["VmRSS"] / 1024, 1),
        "seconds": round(float(out.strip().splitlines()[-1]), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--code", type=Path, default=None, help="another checkout to compare with")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results: dict = {"sizes": {}}
    with tempfile.TemporaryDirectory(prefix="vowelcam-cam-memory-") as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            run = make_trained_run(Path(tmp) / f"n{n}", n)
            entry = {"this checkout": cam_peak(run, None)}
            if args.code:
                entry[f"code at {args.code}"] = cam_peak(run, args.code)
            results["sizes"][str(n)] = entry
            print(n, json.dumps(entry), flush=True)
    sizes = sorted(results["sizes"], key=int)
    if len(sizes) > 1:
        lo, hi = results["sizes"][sizes[0]], results["sizes"][sizes[-1]]
        extra_k = (int(sizes[-1]) - int(sizes[0])) / 1000
        results["mb_per_1000_tokens"] = {
            k: {m: round((hi[k][m] - lo[k][m]) / extra_k, 1) for m in ("peak_heap_mb", "peak_rss_mb")} for k in hi
        }
    results["date"] = time.strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results.get("mb_per_1000_tokens", {}), indent=2))


if __name__ == "__main__":
    main()
