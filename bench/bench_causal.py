"""Causal formant test and faithfulness that can fail, on a Hillenbrand run; cost of the cam stage before/after.

    python -m bench.bench_causal --run runs/hill --corpus ../shared/data/hillenbrand1995 \
        --work runs/faith-bench --base-src ../vowelcam-base [--causal-tokens 200]

``--run`` is a trained run (``vowelcam extract`` + ``train``); it is copied to ``--work`` (twice: one copy per code
version) and never written. ``--base-src`` is a checkout of the code before this change (``git archive <commit>``)
for the "before" timings. Each configuration runs in a fresh process (``explain_run`` on the CPU, test tokens,
default settings: the whole cam stage, CAM pass and faithfulness tests), old code then new code, back to back.
Then, once more with the new code, the opt-in parts: ``--causal`` (resynthesis on at most
``--causal-tokens`` test vowels) and ``--label-permutation`` (that run keeps the faithfulness tests light: main
deletion width only, one randomisation seed; its time is reported but is not a default-settings cost).

Writes ``bench/results/causal_hillenbrand.json``: timings (s) and ratios; the new faithfulness figures (band
deletion with envelope in-fill against energy-matched random bands and the energy arm, the deletion curve,
cascading randomisation, label permutation, the envelope VTL warp) beside the old ones (constant fill, uniform
random band); and per manipulation (F1 ±1 Bark, F2 ±1 Bark, VTL ×0.9 / ×1.1) the mean change in true-class
probability and whether the map's mass follows, all with speaker-level 95 % intervals.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "causal_hillenbrand.json"
RUN_FILES = (
    "config.toml",
    "tokens.csv",
    "predictions.csv",
    "spectrograms",
    "model",
    "vowelcam-run.json",
    "speakers.csv",
    "problems.csv",
)
CHILD = """
import json, sys, time
from vowelcam.config import CamSettings
from vowelcam.explain.stage import explain_run
settings = CamSettings(**json.loads(sys.argv[2]))
start = time.perf_counter()
explain_run(sys.argv[1], settings, device="cpu")
import vowelcam
print(json.dumps({"seconds": time.perf_counter() - start, "code": vowelcam.__path__[0]}))
"""


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of the run's inputs (no cam outputs)."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for name in RUN_FILES:
        path = src / name
        if path.is_dir():
            shutil.copytree(path, dst / name)
        elif path.exists():
            shutil.copy2(path, dst / name)
    return dst


def timed(src: Path, run: Path, settings: dict) -> float:
    """Seconds of one explain_run in a fresh process with the code at ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    # cwd=src: ``python -c`` puts the working folder first on sys.path, so it must be the code being timed
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(run.resolve()), json.dumps(settings)],
        env=env,
        cwd=src,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if Path(result["code"]).resolve() != (src / "vowelcam").resolve():
        raise RuntimeError(f"timed {result['code']}, not the code in {src}")
    return result["seconds"]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def figure(row: dict[str, str]) -> dict:
    def num(key: str) -> float | None:
        value = row.get(key, "")
        return float(value) if value not in ("", None) else None

    return {
        "value": num("value"),
        "ci": [num("ci_lo"), num("ci_hi")],
        "n": num("n"),
        "n_clusters": num("n_clusters"),
        "unit": row.get("unit", "token (old code)"),
    }


def table(rows: list[dict[str, str]]) -> dict[str, dict]:
    return {f"{r['test']}/{r['condition']}/{r['metric']}": figure(r) for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--base-src", type=Path, required=True)
    parser.add_argument("--causal-tokens", type=int, default=120)
    args = parser.parse_args()
    before, after = copy_run(args.run, args.work / "before"), copy_run(args.run, args.work / "after")
    base = {"bootstrap": 1000}
    times = {
        "before_with_faithfulness": timed(args.base_src, before, base),
        "after_with_faithfulness": timed(REPO, after, base),
    }
    old_faith = read_rows(before / "faithfulness.csv")
    new_faith = read_rows(after / "faithfulness.csv")
    extra = copy_run(args.run, args.work / "optin")
    times["after_with_causal_and_label_permutation"] = timed(
        REPO,
        extra,
        {  # the default faithfulness is above
            **base,
            "causal": True,
            "causal_corpus": str(args.corpus.resolve()),
            "label_permutation": True,
            "causal_max_tokens": args.causal_tokens,
            "deletion_widths_hz": "",
            "randomisation_seeds": 1,
        },
    )
    causal_summary = read_rows(extra / "causal_summary.csv")
    causal_tokens = read_rows(extra / "causal.csv")
    optin_faith = read_rows(extra / "faithfulness.csv")
    manipulations = {}
    for r in causal_summary:
        manipulations.setdefault(r["condition"], {})[r["metric"]] = figure(r)
    result = {
        "what": "cam stage on the Hillenbrand run's test tokens (gradcam at the model's default layer, CPU); "
        "faithfulness and causal figures with speaker-level 95 % cluster-bootstrap intervals",
        "command": " ".join(["python", "-m", "bench.bench_causal", *sys.argv[1:]]),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "n_test_tokens": sum(1 for r in read_rows(after / "bands.csv")),
        "timings_s": times,
        "ratios": {
            "cam_stage_after_over_before": times["after_with_faithfulness"] / times["before_with_faithfulness"],
            "optin_run_over_before": times["after_with_causal_and_label_permutation"]
            / times["before_with_faithfulness"],
        },
        "faithfulness_new": table(new_faith),
        "faithfulness_old": table(old_faith),
        "label_permutation": {k: v for k, v in table(optin_faith).items() if "label_permutation" in k},
        "causal": manipulations,
        "causal_tokens": {"rows": len(causal_tokens), "with_problem": sum(1 for r in causal_tokens if r["problem"])},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"timings_s": times, "ratios": result["ratios"]}, indent=2))


if __name__ == "__main__":
    main()
