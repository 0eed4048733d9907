"""Peak memory of extracting one long recording: a synthetic 30-minute and a 3-hour interview.

Each recording (``bench/lib/long_recording.py``: one token per 0.3 s, a consonant and a vowel every 0.6 s,
16 kHz 16-bit mono, TextGrid with words and phones) is extracted by ``python -m vowelcam extract`` in a
subprocess; the peak resident memory of its whole process tree (sampled every 0.1 s), the wall time, the tokens
and the number of progress updates of the run are recorded. With ``--baseline REV`` the same is measured for
the code of git revision ``REV`` (its ``vowelcam`` folder, exported with ``git archive``) on the recordings up to
``--baseline-max-minutes``, to show the memory before streaming.

    python -m bench.bench_long_recording [--minutes 30 180] [--baseline REV] [--jobs 1] [--out FILE]

Writes bench/results/long_recording.json (``--out`` elsewhere) and prints a Rich table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.lib.long_recording import write_long_recording
from bench.lib.memory import peak_tree_rss
from bench.lib.paths import REPO, RESULTS

# The extraction, with a progress callback that counts its updates (the CLI draws the same calls as a bar).
RUNNER = """
import json, sys, time
from vowelcam.config import Settings
from vowelcam.extract import extract
corpus, out, jobs = sys.argv[1:4]
updates = []
t = time.perf_counter()
s = Settings().with_overrides({"extract": {"jobs": int(jobs)}})
summary = extract(corpus, out, settings=s, progress=lambda stage, done, total, msg: updates.append([done, total]))
print(json.dumps({"tokens": summary.n_tokens, "seconds": time.perf_counter() - t, "progress": updates}))
"""


def export_code(revision: str, into: Path) -> Path:
    """The ``vowelcam`` package of git ``revision`` unpacked under ``into`` (a folder for PYTHONPATH)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", revision, "vowelcam"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def run_extract(corpus: Path, out: Path, jobs: int, code: Path | None) -> dict:
    """Extract ``corpus`` in a subprocess (the package from ``code`` when given); tokens, times, peak RSS."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if code is not None:
        env["PYTHONPATH"] = str(code)
    cmd = [sys.executable, "-c", RUNNER, str(corpus), str(out), str(jobs)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=out.parent)  # cwd: not the repo
    peak = peak_tree_rss(proc)
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"extraction of {corpus} failed (exit {proc.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    progress = result.pop("progress")
    moving = [done for done, total in progress if 0 < done < total]
    return {
        **result,
        "wall_s": round(wall, 1),
        "seconds": round(result["seconds"], 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        "progress_updates": len(progress),
        "progress_updates_within": len(set(moving)),
        "progress_unit": "seconds of audio" if progress and progress[-1][1] > 1 else "recordings",
        "shards": len(list((out / "spectrograms").glob("shard-*.npy"))),
    }


def measure(minutes: float, work: Path, jobs: int, code: Path | None, label: str) -> dict:
    """Make (once) and extract the recording of ``minutes`` minutes; the row for the results."""
    corpus = work / f"corpus-{minutes:g}min"
    if not corpus.exists():
        write_long_recording(corpus / "spk01", minutes)
    wav = corpus / "spk01" / "interview.wav"
    out = work / f"run-{label}-{minutes:g}min"
    row = run_extract(corpus, out, jobs, code)
    intervals = (corpus / "spk01" / "interview.TextGrid").read_text(encoding="utf-8").count("intervals [")
    return {
        "code": label,
        "minutes": minutes,
        "jobs": jobs,
        "audio_mb": round(wav.stat().st_size / 2**20, 1),
        "intervals": intervals,
        **row,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="peak memory of extracting long recordings")
    parser.add_argument("--minutes", type=float, nargs="+", default=[30.0, 180.0])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--baseline", help="git revision whose extraction to measure too (the code before)")
    parser.add_argument("--baseline-max-minutes", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "long_recording.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for minutes in args.minutes:
            rows.append(measure(minutes, work, args.jobs, None, "this"))
            if args.baseline and minutes <= args.baseline_max_minutes:
                code = export_code(args.baseline, work / "baseline")
                rows.append(measure(minutes, work, args.jobs, code, f"baseline {args.baseline}"))
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)", "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    table = Table("code", "minutes", "intervals", "tokens", "peak RSS MB", "wall s", "shards", "progress moves")
    for r in rows:
        table.add_row(
            r["code"],
            f"{r['minutes']:g}",
            str(r["intervals"]),
            str(r["tokens"]),
            str(r["peak_rss_mb"]),
            str(r["wall_s"]),
            str(r["shards"]),
            str(r["progress_updates_within"]),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
