"""``vowelcam analyze`` end to end on Hillenbrand et al. (1995) men + women, with the default settings, timed per stage.

    python -m bench.bench_analyze_hillenbrand [--out /tmp/runs/analyze-h95] [--arch auto] [--precision auto]
        [--causal auto|on|off] [--replicate-seeds auto|""|1,2]

By default (``auto``) the cam stage runs the causal formant test (resynthesis of up to 200 held-out vowels, with
the F4 and notch shams), since analyze knows the corpus, and trains replicates only when twice the training time
fits ``cam.replicate_max_seconds``; ``--replicate-seeds 1,2`` insists. The result holds page 1's verdicts, the
causal verdicts, the recurrence over seeds where there is one, and what the stage did not run and why.

The old CPU default (before issue 15) is ``--arch resnet18 --precision fp32``.

Runs the library's ``analyze`` (what the command runs) from the corpus folder to the PDF, with only the corpus's
speaker preset (``hillenbrand``: speaker and group from the file names) and ``--arch`` set; everything else is
the default (all vowels, full band, one speaker-grouped held-out split, early stopping, the cam stage with its
controls and faithfulness tests, the report). The run directory is emptied first so nothing is skipped. A stage's
time runs from its first progress report to the next stage's first (the last stage to the end). Writes
bench/results/analyze_hillenbrand[_ARCH].json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import time
from pathlib import Path

import torch

from vowelcam.config import Settings
from vowelcam.pipeline import analyze

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")) / "data" / "hillenbrand1995"


class StageClock:
    """A progress callback that notes when each stage first reports."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int, message: str = "") -> None:
        self.first.setdefault(stage.split(" fold")[0], time.perf_counter())

    def durations(self, end: float) -> dict[str, float]:
        """Seconds per stage, in the order the stages started."""
        order = sorted(self.first.items(), key=lambda kv: kv[1])
        ends = [t for _, t in order[1:]] + [end]
        return {name: round(stop - start, 1) for (name, start), stop in zip(order, ends)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/runs/analyze-h95"))
    parser.add_argument("--arch", default="auto")
    parser.add_argument("--precision", default="auto", help="training precision (fp32 = the old default's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--result", type=Path, default=None)
    parser.add_argument("--causal", default="auto", choices=("auto", "on", "off"), help="the causal formant test")
    parser.add_argument("--replicate-seeds", default="auto", help='replicates: auto, "" (none) or seeds, e.g. 1,2')
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    shutil.rmtree(args.out, ignore_errors=True)
    settings = Settings().with_overrides(
        {
            "corpus": {"speaker_pattern": "hillenbrand"},
            "train": {"arch": args.arch, "precision": args.precision},
            "cam": {"causal": args.causal, "replicate_seeds": args.replicate_seeds},
        }
    )
    clock = StageClock()
    started = time.perf_counter()
    summary = analyze(DATA, args.out, DATA / "textgrids", settings, device="cpu", progress=clock)
    end = time.perf_counter()
    train = summary.train
    record = {
        "corpus": "hillenbrand1995 men + women (../shared/data/hillenbrand1995)",
        "arch_setting": args.arch,
        "precision_setting": args.precision,
        "arch": getattr(train, "arch", None),
        "seconds": round(end - started, 1),
        "minutes": round((end - started) / 60, 2),
        "stages": clock.durations(end),
        "ran": summary.ran,
        "tokens": getattr(summary.extract, "n_tokens", None),
        "train": {
            "task": getattr(train, "task", None),
            "accuracy": getattr(train, "accuracy", None),
            "ci95": [getattr(train, "ci_low", None), getattr(train, "ci_high", None)],
            "ci_unit": getattr(train, "ci_unit", None),
            "n_test": getattr(train, "n_test", None),
            "best_epochs": getattr(train, "best_epochs", None),
            "hz_per_row": getattr(train, "hz_per_row", None),
        },
        "pdf": str(summary.pdf.relative_to(args.out)) if summary.pdf else None,
        "verdicts": _table(args.out / "verdicts.csv", ("instrument", "vowel", "formant", "verdict", "n_speakers")),
        "causal_verdicts": _table(
            args.out / "causal_verdicts.csv",
            ("vowel", "formant", "verdict", "share", "sham_share", "p_holm", "n_speakers"),
        ),
        "recurrence": _table(args.out / "recurrence.csv", ("instrument", "vowel", "formant", "n_support", "n_runs")),
        "not_run": _not_run(args.out),
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "device": "cpu",
    }
    suffix = ("" if args.arch == "auto" else f"_{args.arch}") + (
        "" if args.causal == "auto" else f"_causal_{args.causal}"
    )
    out = args.result or REPO / "bench" / "results" / f"analyze_hillenbrand{suffix}.json"
    out.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


def _not_run(run: Path) -> list[str]:
    """What the cam stage did not run, with its reasons (evidence_plan.json)."""
    from vowelcam.explain.evidence.plan import read_plan

    plan = read_plan(run) or {}
    return [plan[k] for k in ("causal_reason", "replicate_reason") if plan.get(k)]


def _table(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]] | None:
    """The ``ALL`` rows of a run's CSV table (only ``columns``), or None when the run has no such file."""
    from vowelcam.rundir import read_csv

    if not path.exists():
        return None
    return [{c: r.get(c, "") for c in columns} for r in read_csv(path) if r.get("vowel") == "ALL"]


if __name__ == "__main__":
    main()
