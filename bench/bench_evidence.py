"""The CAM readings of a trained run beside their controls, and what the controls cost.

    python -m bench.bench_evidence RUN_DIR [--base-tree ../vowelcam-evidence-base] [--scratch runs/evidence-bench]
                                   [--out bench/results/evidence_hillenbrand.json]

RUN_DIR is a trained run (tokens.csv, spectrograms/, model/, predictions.csv); it is never written to: the cam
stage runs in scratch copies (the spectrogram store is linked, not copied). Two measurements:

1. **Agreement with controls**: this tree's ``vowelcam cam`` at default settings; from its ``agreement.csv`` (held-out
   tokens, subset ``all``) per vowel and formant: the CAM's enrichment, the energy, envelope and null controls, the
   contrasts CAM minus control with their speaker-level 95 % intervals, the top-peak rates (CAM and null) and the
   verdict; plus the unit of the intervals and the number of speakers.
2. **Cost**: wall time of the cam stage of this tree against the base tree's (a detached worktree of the commit
   before the controls), run one after the other in this script on the same run copy and device, with and without
   the faithfulness tests (which the controls do not touch); target: at most 2x. Each stage runs in its own
   process with its own tree first on ``PYTHONPATH``. Without faithfulness the two trees alternate ``--repeats``
   times (base first) and the medians are compared; with faithfulness (minutes per run) each runs once, so that
   ratio carries the shared machine's drift (+-20 %): compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
RESULTS = HERE / "bench" / "results" / "evidence_hillenbrand.json"
RUN_FILES = ("vowelcam-run.json", "config.toml", "tokens.csv", "predictions.csv", "speakers.csv")
TARGET_RATIO = 2.0


def scratch_copy(run: Path, target: Path) -> Path:
    """A fresh copy of the inputs the cam stage reads (spectrograms linked)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in RUN_FILES:
        if (run / name).exists():
            shutil.copy2(run / name, target / name)
    shutil.copytree(run / "model", target / "model")
    (target / "spectrograms").symlink_to((run / "spectrograms").resolve())
    return target


def run_cam(tree: Path, run: Path, faithfulness: bool, device: str) -> float:
    """Seconds of ``vowelcam cam`` from ``tree`` on ``run`` (a fresh process)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    flag = "--faithfulness" if faithfulness else "--no-faithfulness"
    cmd = [sys.executable, "-m", "vowelcam", "cam", str(run), flag, "--device", device]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} (in {tree}) failed:\n{done.stderr[-3000:]}")
    return seconds


def _num(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value else None


def _interval(row: dict[str, str], key: str) -> dict[str, float | None]:
    return {"value": _num(row.get(key, "")), "lo": _num(row.get(f"{key}_lo", "")), "hi": _num(row.get(f"{key}_hi", ""))}


def agreement_with_controls(run: Path) -> dict:
    """The agreement table (held-out tokens, subset all) per vowel and formant, with controls and intervals."""
    with open(run / "agreement.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["subset"] == "all"]
    table = []
    for r in rows:
        formants = {}
        for k in (1, 2, 3):
            m = f"enrich_f{k}"
            formants[f"F{k}"] = {
                "cam_enrichment": _interval(r, m),
                **{f"{c}_enrichment": _interval(r, f"{m}_{c}") for c in ("energy", "envelope", "null")},
                **{f"cam_minus_{c}": _interval(r, f"{m}_minus_{c}") for c in ("energy", "envelope", "null")},
                "top_peak_on_formant_cam": _interval(r, f"peak_on_f{k}_share"),
                "top_peak_on_formant_null": _interval(r, f"peak_on_f{k}_share_null"),
                "verdict": r.get(f"verdict_f{k}", ""),
            }
        table.append(
            {
                "vowel": r["vowel"],
                "n": int(r["n"]),
                "accuracy": _interval(r, "accuracy"),
                "ci_unit": r["ci_unit"],
                "n_clusters": int(r["n_clusters"]),
                "n_no_null": r.get("n_no_null"),
                "peak_on_formant_share": _interval(r, "peak_on_formant_share"),
                "peak_on_formant_share_null": _interval(r, "peak_on_formant_share_null"),
                "formants": formants,
            }
        )
    return {
        "subset": "all (held-out tokens)",
        "contrast": "CAM minus control, paired per token, enrichment units",
        "verdict_rule": "support = intervals of CAM-minus-energy and CAM-minus-null both above 0",
        "rows": table,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--base-tree", type=Path, default=Path("../vowelcam-evidence-base"))
    parser.add_argument("--scratch", type=Path, default=Path("runs/evidence-bench"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of the cam stage without faithfulness")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    new_run, base_run = args.scratch / "new", args.scratch / "base"
    timings = {}
    for faith, repeats in ((False, args.repeats), (True, 1)):
        label = "with_faithfulness" if faith else "cam_and_tables_only"
        base_s, new_s = [], []
        for _ in range(repeats):
            base_s.append(run_cam(args.base_tree, scratch_copy(args.run, base_run), faith, args.device))
            new_s.append(run_cam(HERE, scratch_copy(args.run, new_run), faith, args.device))
        base_med, new_med = statistics.median(base_s), statistics.median(new_s)
        timings[label] = {
            "runs": repeats,
            "base_seconds": [round(t, 1) for t in base_s],
            "controls_seconds": [round(t, 1) for t in new_s],
            "base_median": round(base_med, 1),
            "controls_median": round(new_med, 1),
            "ratio": round(new_med / base_med, 3),
        }
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    base = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=args.base_tree, capture_output=True, text=True
    ).stdout.strip()
    result = {
        "run": str(args.run.resolve()),
        "commit": commit,
        "base_commit": base,
        "device": args.device,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "command": "python -m bench.bench_evidence " + " ".join(sys.argv[1:]),
        "cost": {
            **timings,
            "target_ratio": TARGET_RATIO,
            "within_target": all(t["ratio"] <= TARGET_RATIO for t in timings.values()),
        },
        "agreement": agreement_with_controls(new_run),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    for label, t in timings.items():
        print(
            f"{label}: base {t['base_median']} s, with controls {t['controls_median']} s (median of {t['runs']}), "
            f"ratio {t['ratio']}"
        )
    for row in result["agreement"]["rows"]:
        cells = [
            f"{f}: {v['cam_minus_energy']['value']:+.2f} vs energy, {v['cam_minus_null']['value']:+.2f} vs null "
            f"({v['verdict'] or 'not judged'})"
            for f, v in row["formants"].items()
            if v["cam_minus_energy"]["value"] is not None and v["cam_minus_null"]["value"] is not None
        ]
        print(row["vowel"], row["n"], "; ".join(cells))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
