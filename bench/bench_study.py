"""The study's claim, tested: do the networks of James et al. (AIST 2023) "rely on formant-like regions"?

Runs ``vowelcam analyze`` on the study's corpus as the study set it up: LJSpeech (the 32 genuine clips in
``../shared/data/ljspeech-32``, one speaker, their MFA alignments), the five corner vowels /i æ ɔ ɑ u/ (IY AE AO AA
UW), Exp 1 (``--task vowels``: the full band) and Exp 2 (``--task vowels4k``: below 4 kHz). Where the study used
ImageNet ResNet-101 on a GPU, this runs the CPU default (a network trained from scratch) unless ``--arch`` says
otherwise. With one speaker the unit of every interval and test is the recording; ``--folds 5`` holds every
recording out once, so all 32 stand behind the verdicts. Then it reads the verdicts the calibrated way: the causal
formant test (each formant moved +-1 Bark by resynthesis against F4 moved alike) decides, the map instruments
stand beside it. Hillenbrand men + women (``bench/results/analyze_hillenbrand.json``, made by
``bench.bench_analyze_hillenbrand``) is put beside as the many-speaker case.

    python -m bench.bench_study [--work /tmp/runs/study] [--folds 5] [--reread]

Writes bench/results/study.json: per experiment the accuracy, the causal verdicts and the lead map instrument's
verdicts over all vowels, the instruments' agreement, and a one-line answer per formant and overall.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from vowelcam.config import Settings
from vowelcam.pipeline import analyze
from vowelcam.report.hears import answer
from vowelcam.rundir import read_csv

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")) / "data"
LJ = SHARED / "ljspeech-32"
EXPERIMENTS = {"exp1": "vowels", "exp2": "vowels4k"}
FORMANTS = ("F1", "F2", "F3")


def run_experiment(name: str, task: str, work: Path, folds: int, arch: str) -> dict[str, Any]:
    """``analyze`` on LJ-32 with the study's vowels and ``task``; its verdicts over all vowels."""
    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    settings = Settings().with_overrides(
        {
            "corpus": {"speaker_pattern": r"(?P<speaker>LJ)\d+"},
            "train": {"task": task, "vowels": "corner", "folds": folds, "arch": arch},
            "cam": {"causal": "on", "replicate_seeds": ""},
        }
    )
    began = time.perf_counter()
    summary = analyze(LJ / "wavs", out, LJ / "textgrids", settings, device="cpu")
    seconds = time.perf_counter() - began
    train = summary.train
    return {
        "task": task,
        "seconds": round(seconds, 1),
        "tokens": getattr(summary.extract, "n_tokens", None),
        "accuracy": getattr(train, "accuracy", None),
        "ci95": [getattr(train, "ci_low", None), getattr(train, "ci_high", None)],
        "ci_unit": getattr(train, "ci_unit", None),
        **read_answers(out),
    }


def read_answers(run: Path) -> dict[str, Any]:
    """The causal verdicts and the map verdicts over all vowels of a run, and page 1's answer per formant."""
    from vowelcam.explain.readings.calibration import default_instrument, load_calibration

    causal = {r["formant"]: r for r in _rows(run / "causal_verdicts.csv") if r["vowel"] == "ALL"}
    maps = [r for r in _rows(run / "verdicts.csv") if r["vowel"] == "ALL"]
    lead = default_instrument(load_calibration(), maps[0]["instrument"]) if maps else ""  # page 1's instrument
    by_formant = {r["formant"]: r for r in maps if r["instrument"] == lead}
    answers = {
        f: answer(causal.get(f, {}).get("verdict", ""), by_formant.get(f, {}).get("verdict", "")) for f in FORMANTS
    }
    return {
        "causal": {
            f: _pick(causal.get(f), ("verdict", "share", "sham_share", "p_holm", "n_speakers", "unit"))
            for f in FORMANTS
        },
        "lead_instrument": lead,
        "maps": {f"{r['instrument']} {r['formant']}": r["verdict"] for r in maps},
        "answers": answers,
        "relies_on_formants": relies(causal),
    }


def relies(causal: dict[str, dict[str, str]]) -> str:
    """The claim's verdict from the causal test: which formants the decision follows beyond the sham."""
    used = [f for f in FORMANTS if causal.get(f, {}).get("verdict") == "causal"]
    if used:
        return f"holds for {', '.join(used)}: moving them moves the decision beyond F4 moved alike"
    tested = [f for f in FORMANTS if causal.get(f, {}).get("verdict") == "no effect beyond sham"]
    if tested:
        return f"not shown: {', '.join(tested)} moved no more than F4; the others untested"
    return (
        "untested: no formant could be tested ("
        + ", ".join(f"{f} {causal.get(f, {}).get('verdict', 'not run')}" for f in FORMANTS)
        + ")"
    )


def _pick(row: dict[str, str] | None, keys: tuple[str, ...]) -> dict[str, str] | None:
    return {k: row.get(k, "") for k in keys} if row else None


def _rows(path: Path) -> list[dict[str, str]]:
    return read_csv(path) if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/runs/study"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--arch", default="auto")
    parser.add_argument("--experiments", default="exp1,exp2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--result", type=Path, default=REPO / "bench" / "results" / "study.json")
    parser.add_argument("--reread", action="store_true", help="read the runs in --work again instead of re-running")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    record: dict[str, Any] = {"corpus": "ljspeech-32 (../shared/data/ljspeech-32), corner vowels", "folds": args.folds}
    saved = json.loads(args.result.read_text()) if args.reread and args.result.exists() else {}
    for name in args.experiments.split(","):
        if args.reread:  # the runs' measured figures kept, their verdicts read again
            record[name] = saved.get(name, {}) | read_answers(args.work / name)
        else:
            record[name] = run_experiment(name, EXPERIMENTS[name], args.work, args.folds, args.arch)
    h95 = REPO / "bench" / "results" / "analyze_hillenbrand.json"
    if h95.exists():
        saved = json.loads(h95.read_text())
        causal = {r["formant"]: r for r in saved.get("causal_verdicts") or []}
        record["hillenbrand"] = {"accuracy": saved["train"]["accuracy"], "relies_on_formants": relies(causal)}
    args.result.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
