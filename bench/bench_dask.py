"""Extraction on a Dask cluster against a local run, at corpus scale; LJSpeech's 13 100 alignments parsed.

1. A synthetic corpus: ``vowelcam synth`` (``--speakers-per-group`` per group, ``--tokens-per-vowel``) linked
   ``--factor`` times under new speaker folders (hard links: KlattGrid synthesis runs at about 11 vowels/s, so
   the synthesis stays a few minutes while the corpus grows).
2. Extracted by a client process: locally (1 process, and 2 processes), then on Dask with 1 and 2 worker
   processes of one thread (a LocalCluster in a process of its own stands in for the cluster; its workers import
   vowelcam before the clock starts, a fixed cost recorded apart as ``worker_warm_up_s``). Tokens/s (inside
   ``extract``: discovery, measurement, writing, merge), the peak resident memory of the client, the scheduler +
   nannies and the largest worker, sampled every 0.1 s; CPU seconds of the client and of the cluster; the 1-minute
   load average at start and end (the machine is shared: compare runs under similar load). tokens.csv,
   problems.csv and every file of the spectrogram store are compared byte for byte with the local run.
3. The client's memory against corpus size: Dask with 2 workers on ``--factor / 2`` and ``--factor``
   (``client_memory_vs_corpus_size``: its growth per 1000 tokens beside the size of the spectrogram store).
4. All 13 100 LJSpeech alignments (``$VOWELCAM_SHARED/data/ljspeech-alignments``, no audio): discovery and label
   mapping (TextGrid reading, tier groups, token selection, every vowel) in a fresh process, time and peak RSS.

    python -m bench.bench_dask [--factor 8] [--speakers-per-group 3] [--tokens-per-vowel 4] [--skip-alignments]

Writes bench/results/dask.json (``--out`` elsewhere). Needs the ``cluster`` and ``bench`` extras. The corpus of the
issue (>= 100 000 tokens: 1188 per unit of ``--factor`` with the defaults) is ``--factor 85``; its runs live in
``$TMPDIR`` (5.0 GB of spectrograms per run, 50 kB a token, two runs at a time: 10 GB free) and took 44 min on two
cores (bench/results/dask.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import psutil

from bench.lib.dask_runs import local_cluster, run_client, same_outputs
from bench.lib.paths import DATA, REPO, RESULTS

ALIGNMENTS = """
import json, resource, sys, time
from collections import Counter
from vowelcam.config import Settings
from vowelcam.corpus.discover import discover
from vowelcam.corpus.select import select_tokens
from vowelcam.corpus.textgrids import read_textgrid
from vowelcam.corpus.tiers import find_tier_groups
from vowelcam.errors import DataProblem
peak = lambda: round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
labels = Settings().with_overrides({"labels": {"include_unvoiced": False}})
root, result = sys.argv[1], {"rss_after_imports_mb": peak()}
t = time.perf_counter()
found = discover(root, root)
grids = sorted(p.path for p in found.problems if p.reason == "no audio")
result.update(label_files=len(grids), discovery_s=round(time.perf_counter() - t, 2), rss_after_discovery_mb=peak())
t, vowels, problems = time.perf_counter(), Counter(), Counter()
for path in grids:
    try:
        grid = read_textgrid(path)
        specs, found_problems = select_tokens(grid, find_tier_groups(grid), labels.labels)
    except DataProblem as problem:
        problems[problem.reason] += 1
        continue
    vowels.update(s.phone for s in specs if s.kind == "vowel")
    problems.update(p.reason for p in found_problems)
seconds = time.perf_counter() - t
result.update(mapping_s=round(seconds, 2), files_per_s=round(len(grids) / seconds, 1),
              vowel_tokens=sum(vowels.values()), vowels_per_s=round(sum(vowels.values()) / seconds, 1),
              by_vowel=dict(vowels.most_common()), problems=dict(problems), peak_rss_mb=peak())
print(json.dumps(result))
"""


def synth_corpus(folder: Path, speakers_per_group: int, tokens_per_vowel: int) -> tuple[Path, float]:
    """``vowelcam synth`` into ``folder``; its corpus folder and the seconds it took."""
    t = time.perf_counter()
    command = [sys.executable, "-m", "vowelcam", "synth", str(folder), "--speakers-per-group", str(speakers_per_group)]
    subprocess.run([*command, "--tokens-per-vowel", str(tokens_per_vowel)], check=True, capture_output=True)
    return folder / "corpus", round(time.perf_counter() - t, 1)


def linked_copies(source: Path, out: Path, factor: int) -> Path:
    """``factor`` copies of every speaker folder of ``source`` under ``out`` as ``<speaker>x<k>`` (hard links:
    discovery reads a file reached twice through symbolic links once)."""
    for k in range(factor):
        for speaker in sorted(p for p in source.iterdir() if p.is_dir()):
            folder = out / f"{speaker.name}x{k:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            for file in speaker.iterdir():
                os.link(file, folder / file.name)
    return out


def store_mb(run: Path) -> float:
    """Size of a run's spectrogram store (what a client holding every spectrogram would hold)."""
    return round(sum(p.stat().st_size for p in (run / "spectrograms").rglob("*") if p.is_file()) / 2**20, 1)


def scale_runs(tmp: Path, corpus: Path, factor: int) -> dict:
    """Local, Dask 1 and Dask 2 workers at ``factor``; Dask 2 at ``factor // 2`` for the client's memory."""
    full = linked_copies(corpus, tmp / f"x{factor}", factor)
    runs: dict = {"local_1_process": run_client(full, tmp / "local")}
    print("local", runs["local_1_process"], flush=True)
    runs["local_2_processes"] = run_client(full, tmp / "local2", jobs=2)
    runs["local_2_processes"]["same_bytes_as_local"] = same_outputs(tmp / "local", tmp / "local2")
    print("local 2", runs["local_2_processes"], flush=True)
    shutil.rmtree(tmp / "local2")
    for workers in (1, 2):
        with local_cluster(workers, tmp) as (scheduler_file, pid):
            name = f"dask_{workers}_worker{'s' if workers > 1 else ''}"
            runs[name] = run_client(full, tmp / name, dask=str(scheduler_file), cluster_pid=pid)
            runs[name]["worker_warm_up_s"] = json.loads(scheduler_file.with_suffix(".warm").read_text())
            runs[name]["same_bytes_as_local"] = same_outputs(tmp / "local", tmp / name)
            runs[name]["store_mb"] = store_mb(tmp / name)
            print(name, runs[name], flush=True)
            shutil.rmtree(tmp / name)
            if workers == 2 and factor >= 2:
                half = linked_copies(corpus, tmp / f"x{factor // 2}", factor // 2)
                runs[f"{name}_half_corpus"] = run_client(half, tmp / "half", dask=str(scheduler_file), cluster_pid=pid)
                print("half", runs[f"{name}_half_corpus"], flush=True)
                shutil.rmtree(tmp / "half")
    return runs


def client_memory(scale: dict) -> dict:
    """The client's peak resident memory on Dask with 2 workers at half and full corpus size: flat when the client
    holds a bounded number of chunks, whatever the corpus (growth per 1000 tokens; what all spectrograms would be)."""
    full, half = scale.get("dask_2_workers"), scale.get("dask_2_workers_half_corpus")
    if not full or not half:
        return {}
    grown = full["client"]["process_mb"] - half["client"]["process_mb"]
    return {
        "tokens": [half["tokens"], full["tokens"]],
        "client_process_mb": [half["client"]["process_mb"], full["client"]["process_mb"]],
        "growth_mb_per_1000_tokens": round(1000 * grown / max(1, full["tokens"] - half["tokens"]), 2),
        "store_mb_full": full.get("store_mb"),
    }


def alignments(tmp: Path) -> dict:
    """Discovery and label mapping of every LJSpeech alignment, in a fresh process."""
    archive = DATA / "ljspeech-alignments" / "textgrids.tar.xz"
    t = time.perf_counter()
    with tarfile.open(archive) as tar:
        tar.extractall(tmp / "alignments", filter="data")
    unpacked = round(time.perf_counter() - t, 1)
    done = subprocess.run([sys.executable, "-c", ALIGNMENTS, str(tmp / "alignments")], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return {"unpack_s": unpacked, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factor", type=int, default=8)
    parser.add_argument("--speakers-per-group", type=int, default=3)
    parser.add_argument("--tokens-per-vowel", type=int, default=4)
    parser.add_argument("--skip-alignments", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "dask.json")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results: dict = {
        "machine": {
            "cpu_count": psutil.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": os.getloadavg(),
        },
        "settings": vars(args) | {"out": os.path.relpath(args.out, REPO)},
    }
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if not args.skip_alignments:
            results["ljspeech_alignments"] = alignments(tmp)
            print("alignments", results["ljspeech_alignments"], flush=True)
        corpus, seconds = synth_corpus(tmp / "synth", args.speakers_per_group, args.tokens_per_vowel)
        results["synth"] = {"seconds": seconds, "recordings": sum(1 for _ in corpus.rglob("*.wav"))}
        results["scale"] = scale_runs(tmp, corpus, args.factor)
        results["client_memory_vs_corpus_size"] = client_memory(results["scale"])
    results["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
