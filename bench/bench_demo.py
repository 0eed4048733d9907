"""The README's main command, timed as a new user runs it: ``vowelcam synth`` makes the sample corpus, then
``vowelcam analyze`` extracts, trains, reads the maps and writes the report.

    python -m bench.bench_demo [--work /tmp/demo] [--speakers-per-group 6] [--task vowels4k] [--extra ARGS]

Runs the two commands as subprocesses (the installed ``vowelcam`` of this environment), each timed; reads the
run's ``model/summary.json`` for the held-out accuracy, its speaker-level interval and the test speakers, and
``speakers.csv`` for the groups they belong to. Writes bench/results/demo.json (``--result`` elsewhere).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.lib.paths import RESULTS

VOWELCAM = [sys.executable, "-m", "vowelcam"]


def timed(command: list[str]) -> float:
    """Run ``command`` (its output to this process's stderr) and return its wall seconds; stop on failure."""
    started = time.perf_counter()
    done = subprocess.run(command, stdout=sys.stderr, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed ({done.returncode})")
    return round(time.perf_counter() - started, 1)


def shown(command: list[str], work: Path) -> str:
    """``command`` as the README writes it: ``vowelcam ...`` with paths relative to the work folder."""
    return shlex.join(["vowelcam", *(arg.replace(f"{work}/", "") for arg in command[len(VOWELCAM) :])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/demo"))
    parser.add_argument("--speakers-per-group", type=int, default=6)
    parser.add_argument("--task", default="vowels4k")
    parser.add_argument("--extra", default="", help="more analyze arguments, e.g. '--epochs 50'")
    parser.add_argument("--result", type=Path, default=RESULTS / "demo.json")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    corpus, run = args.work / "sample", args.work / "run"
    synth = [*VOWELCAM, "synth", str(corpus), "--seed", "1", "--speakers-per-group", str(args.speakers_per_group)]
    analyze = [
        *VOWELCAM,
        "analyze",
        str(corpus / "corpus"),
        "--out",
        str(run),
        "--speaker-groups",
        str(corpus / "speakers.csv"),
        "--task",
        args.task,
        *shlex.split(args.extra),
    ]
    seconds = {"synth": timed(synth), "analyze": timed(analyze)}
    summary = json.loads((run / "model" / "summary.json").read_text())
    with open(corpus / "speakers.csv", newline="") as fh:
        group_of = {r["speaker"]: r["group"] for r in csv.DictReader(fh)}
    tested = summary["test_groups"]
    record: dict[str, Any] = {
        "commands": [shown(synth, args.work), shown(analyze, args.work)],
        "seconds": seconds,
        "accuracy": summary["accuracy"],
        "ci95": [summary["ci_low"], summary["ci_high"]],
        "ci_unit": summary["ci_unit"],
        "n_test": summary["n_test"],
        "chance": summary["chance"],
        "test_speakers": tested,
        "test_groups": sorted({group_of.get(s, "?") for s in tested}),
        "speakers": len(group_of),
        "epochs": summary.get("epochs"),
        "batch_size": summary.get("batch_size"),
        "best_epochs": summary["best_epochs"],
        "train_seconds": summary["seconds"],
        "warnings": summary["warnings"],
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average_after": os.getloadavg(),
    }
    args.result.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
