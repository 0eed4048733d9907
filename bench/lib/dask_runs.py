"""Extraction runs for ``bench_dask``: a client process (local or on Dask) and a LocalCluster in a process of its
own standing in for a cluster, with the peak resident memory of each process sampled every 0.1 s."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

CLIENT = """
import json, os, resource, sys, time
from vowelcam.config import Settings
from vowelcam.extract import extract
from vowelcam.parallel import open_runner
corpus, out, jobs, dask = sys.argv[1:5]
settings = Settings().with_overrides({"extract": {"jobs": int(jobs)}})
with open_runner(int(jobs), dask or None) as runner:
    load, t, cpu = os.getloadavg()[0], time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    summary = extract(corpus, out, settings=settings, force=True, runner=runner)
    seconds, end = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
client_cpu = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
print(json.dumps({"tokens": summary.n_tokens, "recordings": summary.n_pairs, "seconds": seconds,
                  "client_cpu_s": round(client_cpu, 1), "load_1min": [load, os.getloadavg()[0]]}))
"""

CLUSTER = """
import importlib, json, sys, time
from pathlib import Path
from distributed import Client, LocalCluster
workers, scheduler_file = int(sys.argv[1]), Path(sys.argv[2])
with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
    with Client(cluster) as client:
        t = time.perf_counter()
        client.run(importlib.import_module, "vowelcam.extract.chunk")  # what a worker imports on its first task
        scheduler_file.with_suffix(".warm").write_text(json.dumps(round(time.perf_counter() - t, 1)))
        client.write_scheduler_file(str(scheduler_file))
        sys.stdin.read()  # until the benchmark closes our stdin
"""


class PeakSampler(threading.Thread):
    """Samples the resident memory of processes every 0.1 s: the peak of each root's whole tree, and the peak of
    any single child of a root (one worker)."""

    def __init__(self, roots: dict[str, int]):
        super().__init__(daemon=True)
        self.roots = {name: psutil.Process(pid) for name, pid in roots.items()}
        self.tree = dict.fromkeys(roots, 0)
        self.main = dict.fromkeys(roots, 0)
        self.child = dict.fromkeys(roots, 0)
        self.cpu_first: dict[str, dict[int, float]] = {name: {} for name in roots}  # pid -> CPU s when first seen
        self.cpu_last: dict[str, dict[int, float]] = {name: {} for name in roots}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            for name, proc in self.roots.items():
                try:
                    procs = [proc, *proc.children(recursive=True)]
                    own = proc.memory_info().rss
                    children = [c.memory_info().rss for c in procs[1:]]
                    for p in procs:
                        cpu = sum(p.cpu_times()[:2])
                        self.cpu_first[name].setdefault(p.pid, cpu)
                        self.cpu_last[name][p.pid] = cpu
                except psutil.Error:
                    continue
                self.main[name] = max(self.main[name], own)
                self.child[name] = max([self.child[name], *children])
                self.tree[name] = max(self.tree[name], own + sum(children))

    def cpu_s(self, name: str) -> float:
        """CPU seconds the tree of ``name`` spent while sampled (processes that ended between samples: lost)."""
        last, first = self.cpu_last[name], self.cpu_first[name]
        return round(sum(cpu - first[pid] for pid, cpu in last.items()), 1)

    def peaks_mb(self, name: str) -> dict[str, float]:
        mb = lambda b: round(b / 2**20, 1)  # noqa: E731
        return {
            "process_mb": mb(self.main[name]),
            "largest_child_mb": mb(self.child[name]),
            "tree_mb": mb(self.tree[name]),
        }


@contextmanager
def local_cluster(workers: int, folder: Path):
    """A LocalCluster of ``workers`` processes (one thread each) in its own process; yields (scheduler file, pid)."""
    scheduler_file = folder / f"scheduler-{workers}.json"
    proc = subprocess.Popen([sys.executable, "-c", CLUSTER, str(workers), str(scheduler_file)], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the local Dask cluster did not start")
            time.sleep(0.2)
        time.sleep(0.5)  # let the writer finish the file
        yield scheduler_file, proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)


def run_client(corpus: Path, out: Path, jobs: int = 1, dask: str = "", cluster_pid: int | None = None) -> dict:
    """Extract ``corpus`` into ``out`` in a client process; tokens/s and peak memory of client (and cluster)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(corpus), str(out), str(jobs), dask], stdout=subprocess.PIPE, text=True
    )
    roots = {"client": proc.pid, **({"cluster": cluster_pid} if cluster_pid else {})}
    sampler = PeakSampler(roots)
    sampler.start()
    stdout, _ = proc.communicate()
    sampler.stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"extraction of {corpus} failed (jobs {jobs}, dask {dask or 'no'})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["tokens_per_s"] = round(result["tokens"] / result["seconds"], 1)
    result["seconds"] = round(result["seconds"], 1)
    result["client"] = sampler.peaks_mb("client") | {"tree_cpu_s_with_start_up": sampler.cpu_s("client")}
    if cluster_pid:
        cluster = sampler.peaks_mb("cluster")
        result["cluster"] = {
            "scheduler_and_nannies_mb": cluster["process_mb"],
            "largest_worker_mb": cluster["largest_child_mb"],
            "all_mb": cluster["tree_mb"],
            "cpu_s": sampler.cpu_s("cluster"),
        }
    return result


def same_outputs(a: Path, b: Path) -> dict:
    """Whether tokens.csv, problems.csv and every file of the spectrogram store are byte-identical in runs a, b."""
    names = ["tokens.csv", "problems.csv"]
    names += sorted(p.relative_to(a).as_posix() for p in (a / "spectrograms").rglob("*") if p.is_file())
    other = sorted(p.relative_to(b).as_posix() for p in (b / "spectrograms").rglob("*") if p.is_file())
    differ = [n for n in names if not (b / n).is_file() or (a / n).read_bytes() != (b / n).read_bytes()]
    return {"files_compared": len(names), "identical": not differ and len(other) == len(names) - 2, "differ": differ}
