"""Fault bench: ``analyze`` killed (SIGKILL, the whole process group) at random points of every stage, then re-run.

Claim (issue 20): an interrupted run resumes to outputs byte-identical to an uninterrupted run's, with no
temporary file and no lock left. The corpus is a few speakers of ``sample_data/`` (a short fp32 training on one
thread, so that runs repeat byte for byte)::

    python -m bench.bench_faults --kills 20
    python -m bench.bench_faults --kills 4 --speakers 4 --out /tmp/faults.json   # a quick check

Two uninterrupted runs come first: the files that differ between them are not reproducible even without a fault
(listed in the result, left out of the comparison); the first one's stage lengths (from the times of each stage's
last file) place the kills, spread evenly over the four stages: the bench watches the run until the stage has
begun, then kills at a uniform random time in the first 90 % of its reference length (a run that ends first is
started again with half the delay, twice at most). Each kill starts from an empty run directory; the killed
``analyze`` is re-run to the end and its files compared with the first reference. Writes
``bench/results/faults.json``. Not a test: it takes minutes (about 2 x the run time per kill).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.lib.paths import REPO, RESULTS
from vowelcam import rundir
from vowelcam.runstate.files import is_temp_file, walk
from vowelcam.runstate.lock import LOCK_NAME
from vowelcam.runstate.stages import CAM_OUTPUTS, read_records

STAGES = ("extract", "train", "cam", "report")
OUTPUTS = {  # what each stage writes (the last of them ends the stage)
    "extract": ("tokens.csv", "tracks.csv", "problems.csv", "speakers.csv"),
    "train": (rundir.MODEL_DIR, rundir.PREDICTIONS),
    "cam": CAM_OUTPUTS,
    "report": (rundir.REPORT_DIR,),
}
CONFIG = """
[train]
max_hz_per_row = 0.0
freq_pool = 2
time_pool = 2
[cam]
faithfulness_max_tokens = 16
bootstrap = 200
randomisation_seeds = 1
"""


def analyze_args(corpus: Path, out: Path, config: Path) -> list[str]:
    """The ``vowelcam analyze`` command line of every run."""
    return [
        sys.executable,
        "-m",
        "vowelcam",
        "analyze",
        str(corpus),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--arch",
        "resnet18-w16",
        "--task",
        "vowels4k",
        "--precision",
        "fp32",
        "--jobs",
        "1",
        "--device",
        "cpu",
        "--config",
        str(config),
    ]


def environment() -> dict[str, str]:
    """One thread everywhere (runs repeat exactly), no GPU, this checkout first on the path."""
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(REPO),
    }


def run_to_end(args: list[str]) -> float:
    """Run ``args`` to completion; its wall seconds (raises on a non-zero exit)."""
    started = time.perf_counter()
    done = subprocess.run(args, env=environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[3:5])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - started


def stage_started(run: Path, stage: str) -> bool:
    """Whether ``analyze`` has reached ``stage`` (train: tokens.csv written; cam, report: the stage before recorded)."""
    if stage == "extract":
        return True
    if stage == "train":
        return (run / "tokens.csv").exists()
    return STAGES[STAGES.index(stage) - 1] in read_records(run)


def run_and_kill(args: list[str], run: Path, stage: str, after_s: float) -> bool:
    """Start ``args`` in its own process group and SIGKILL the group ``after_s`` into ``stage`` (watched every
    20 ms); False if it ended first."""
    proc = subprocess.Popen(
        args, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    while not stage_started(run, stage) and proc.poll() is None:
        time.sleep(0.02)
    try:
        proc.wait(timeout=after_s)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def digests(run: Path) -> dict[str, str]:
    """SHA-256 of every file of a run (relative path -> hex)."""
    return {
        p.relative_to(run).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file()
    }


def stage_windows(run: Path, started: float) -> list[tuple[float, float]]:
    """(start, end) seconds after the start of the run of each stage, from the time its last file was written."""
    ends = [max((run / rel).stat().st_mtime for rel in walk(run, OUTPUTS[stage])) - started for stage in STAGES]
    return list(zip([0.0, *ends[:-1]], ends))


def interrupted_stage(run: Path) -> str:
    """The stage a kill interrupted: the first one not finished (extraction: no tokens.csv; others: no record)."""
    if not (run / "tokens.csv").exists():
        return "extract"
    done = read_records(run)
    return next((stage for stage in STAGES[1:] if stage not in done), "none (all stages finished)")


def leftovers(run: Path) -> list[str]:
    """Temporary files and a lock file left in a run."""
    found = [p for p in run.rglob(".*") if p.is_file() and is_temp_file(p)]
    found += [run / LOCK_NAME] if (run / LOCK_NAME).exists() else []
    return [p.relative_to(run).as_posix() for p in found]


def make_corpus(root: Path, speakers: int) -> Path:
    """The first ``speakers`` speakers of each group of ``sample_data/corpus`` (men, women, children in turn)."""
    source = REPO / "sample_data" / "corpus"
    names = sorted(p.name for p in source.iterdir() if p.is_dir())
    by_group = sorted(names, key=lambda n: (n[1:], n[0]))  # c01 m01 w01 c02 m02 ...
    corpus = root / "corpus"
    for name in by_group[:speakers]:
        shutil.copytree(source / name, corpus / name)
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="kills, spread evenly over the four stages")
    parser.add_argument("--speakers", type=int, default=6, help="speakers of sample_data/ in the corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.json")
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    with tempfile.TemporaryDirectory(prefix="vowelcam-faults-") as tmp:
        root = Path(tmp)
        corpus = make_corpus(root, opts.speakers)
        config = root / "fast.toml"
        config.write_text(CONFIG)
        started = time.time()
        seconds = run_to_end(analyze_args(corpus, root / "ref", config))
        windows = stage_windows(root / "ref", started)
        run_to_end(analyze_args(corpus, root / "ref2", config))
        reference, again = digests(root / "ref"), digests(root / "ref2")
        unstable = sorted(k for k in reference.keys() | again.keys() if reference.get(k) != again.get(k))
        print(f"reference run {seconds:.1f} s; stages end at {[round(e, 1) for _, e in windows]} s", flush=True)
        print(f"differ between two uninterrupted runs (not compared): {unstable}", flush=True)
        kills = []
        for i in range(opts.kills):
            stage = i % len(STAGES)
            lo, hi = windows[stage]
            at = rng.uniform(0.0, 0.9 * (hi - lo))  # seconds into the stage
            run = root / f"kill{i:02d}"
            killed = run_and_kill(analyze_args(corpus, run, config), run, STAGES[stage], at)
            for _ in range(2):  # the run was faster than the reference and ended first: again, sooner
                if killed:
                    break
                shutil.rmtree(run)
                at /= 2
                killed = run_and_kill(analyze_args(corpus, run, config), run, STAGES[stage], at)
            interrupted = interrupted_stage(run) if killed else "none (ended before the kill)"
            rerun_s = run_to_end(analyze_args(corpus, run, config))
            got = digests(run)
            differ = sorted(
                k for k in reference.keys() | got.keys() if k not in unstable and reference.get(k) != got.get(k)
            )
            left = leftovers(run)
            kills.append(
                {"aimed_at": STAGES[stage], "interrupted": interrupted, "s_into_stage": round(at, 2), "killed": killed}
                | {"rerun_s": round(rerun_s, 1)}
                | {"differ": differ, "leftovers": left}
            )
            print(
                f"kill {i + 1}/{opts.kills}: {at:.1f} s into {STAGES[stage]}, stopped in {interrupted}; "
                f"differ {differ}, left {left}",
                flush=True,
            )
            shutil.rmtree(run)
    result = {
        "claim": "an analyze killed at any point re-runs to the uninterrupted run's bytes, with no temporary file left",
        "corpus": f"sample_data/corpus, {opts.speakers} speakers",
        "command": " ".join(analyze_args(Path("CORPUS"), Path("RUN"), Path("fast.toml"))[3:]),
        "reference_s": round(seconds, 1),
        "stage_windows_s": [[round(a, 1), round(b, 1)] for a, b in windows],
        "not_reproducible_without_faults": unstable,
        "kills": kills,
        "n_kills": sum(k["killed"] for k in kills),
        "kills_per_stage": {st: sum(k["interrupted"] == st for k in kills) for st in STAGES},
        "n_identical": sum(not k["differ"] for k in kills),
        "n_with_leftovers": sum(bool(k["leftovers"]) for k in kills),
    }
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(result, indent=1))
    print(
        f"{result['n_kills']} kills: {result['n_identical']} re-runs identical, "
        f"{result['n_with_leftovers']} with leftovers -> {opts.out}"
    )


if __name__ == "__main__":
    main()
