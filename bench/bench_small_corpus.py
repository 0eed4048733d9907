"""Small corpora: the default recipe (``--arch auto``, epochs, batch size and patience from the corpus's size; a
small corpus starts from the shipped base model) against random weights with the same recipe and against what the
full-width ResNet-18 gave (the CPU default before issue 15: 30 epochs of batches of 32, patience 8), accuracy on
held-out speakers with its speaker-level interval, and time.

    python -m bench.bench_small_corpus [--work /tmp/small-corpus] [--corpora h95-5,sample,lj32]
        [--runs default,scratch,resnet18] [--threads 2]

Runs: ``default`` (every training setting at its default), ``scratch`` (the default from random weights:
``--init none``), ``resnet18`` (``--arch resnet18 --init none --epochs 30 --batch-size 32 --patience 8``),
``w16-30`` (the quarter-width default before the recipe, from random weights: ``--epochs 30 --batch-size 32
--patience 8``).

Corpora (made from ``$VOWELCAM_SHARED/data``, linked, never copied into the repository):

- ``sample``: the synthetic sample corpus ``vowelcam synth`` makes (``sample_data/``: 18 speakers, 6 per group);
- ``h95-N``: Hillenbrand et al. (1995), the first N men and N women among the speakers the base model never heard
  (``card.json``'s ``held_out_speakers``), so that starting from it is not starting from the test speakers;
- ``lj32``: LJSpeech's 32 recordings as a flat folder, so each recording is its own "speaker" (one woman in truth:
  the interval resamples recordings of one voice).

Each corpus is extracted once and trained once per architecture, one after another (the machine is shared),
with everything else at its default (task ``vowels``, one speaker-grouped held-out split, seed 0). The result
is rewritten after every training, so a cut-short run keeps what it measured: bench/results/small_corpus.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path
from typing import Any

import torch

from bench.lib.paths import DATA, REPO, RESULTS, code_commit
from vowelcam import api
from vowelcam.base_model import base_model_card

H95 = DATA / "hillenbrand1995"
LJ = DATA / "ljspeech-32"
SAMPLE = REPO / "sample_data"


def link_hillenbrand(per_group: int, root: Path) -> tuple[Path, Path]:
    """A Hillenbrand corpus of the first ``per_group`` men and women the base model never heard (links):
    (audio folder, TextGrid folder)."""
    audio, grids = root / "corpus", root / "textgrids"
    unheard = set(base_model_card().get("held_out_speakers", []))
    for folder, prefix in (("men", "m"), ("women", "w")):
        found = sorted({p.name[:3] for p in (H95 / folder).glob(f"{prefix}*.wav")})
        speakers = [s for s in found if s in unheard][:per_group]
        for wav in sorted((H95 / folder).glob(f"{prefix}*.wav")):
            if wav.name[:3] in speakers:
                _link(wav, audio / folder / wav.name)
                _link(H95 / "textgrids" / f"{wav.stem}.TextGrid", grids / f"{wav.stem}.TextGrid")
    return audio, grids


def _link(source: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(source)


def corpus_inputs(name: str, work: Path) -> tuple[dict[str, Any], str]:
    """The keyword arguments of :func:`vowelcam.api.extract` for corpus ``name``, and its description."""
    if name == "sample":
        corpus = {"corpus": SAMPLE / "corpus", "speaker_groups": str(SAMPLE / "speakers.csv")}
        return corpus, "synthetic sample (sample_data: 18 speakers, 6 men, 6 women, 6 children)"
    if name.startswith("h95-"):
        n = int(name.split("-")[1])
        audio, grids = link_hillenbrand(n, work / name / "corpus")
        return {"corpus": audio, "textgrids": grids, "speaker_pattern": "hillenbrand"}, (
            f"Hillenbrand 1995, {n} men + {n} women the base model never heard"
        )
    if name == "lj32":
        return {"corpus": LJ / "wavs", "textgrids": LJ / "textgrids"}, "LJSpeech 32 recordings, each its own speaker"
    raise SystemExit(f"unknown corpus {name!r}")


OLD_RECIPE = {"epochs": 30, "batch_size": 32, "patience": 8, "weights": "none"}
RUNS = {
    "default": {},
    "scratch": {"weights": "none"},
    "resnet18": {"arch": "resnet18", **OLD_RECIPE},
    "w16-30": OLD_RECIPE,
}


def train_once(run: Path, name: str) -> dict[str, Any]:
    """Train the run with the settings of run ``name`` (everything else default) and what it reached."""
    started = time.perf_counter()
    result = api.train(run, device="cpu", **RUNS[name])
    return {
        "settings": RUNS[name],
        "arch": result.arch,
        "accuracy": round(result.accuracy, 4),
        "ci95": [round(result.ci_low, 4), round(result.ci_high, 4)],
        "ci_unit": result.ci_unit,
        "n_test": result.n_test,
        "test_groups": result.test_groups,
        "chance": round(result.chance, 4),
        "classes": len(result.labels),
        "tokens": result.n_tokens,
        "epochs": result.epochs,
        "batch_size": result.batch_size,
        "best_epochs": result.best_epochs,
        "started_from": json.loads((run / "model" / "summary.json").read_text())["settings"].get("weights") or "none",
        "seconds": round(time.perf_counter() - started, 1),
        "warnings": result.warnings,
        "commit": code_commit(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/small-corpus"))
    parser.add_argument("--corpora", default="h95-5,sample,lj32")
    parser.add_argument("--runs", default="default,scratch,resnet18")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--result", type=Path, default=RESULTS / "small_corpus.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    record: dict[str, Any] = {"threads": args.threads, "cpu": platform.processor() or platform.machine(), "corpora": {}}
    if args.result.exists():  # keep corpora and runs measured by an earlier (cut-short or partial) run
        record["corpora"] = json.loads(args.result.read_text()).get("corpora", {})
    for name in args.corpora.split(","):
        inputs, description = corpus_inputs(name, args.work)
        run = args.work / name / "run"
        started = time.perf_counter()
        summary = api.extract(inputs.pop("corpus"), run, inputs.pop("textgrids", None), **inputs)
        earlier = record["corpora"].get(name, {})
        kept = earlier.get("runs", {}) if earlier.get("description") == description else {}  # same corpus only
        entry = {"description": description, "tokens": summary.n_tokens, "extract_seconds": None, "runs": kept}
        entry["extract_seconds"] = round(time.perf_counter() - started, 1)
        for run_name in args.runs.split(","):
            entry["runs"][run_name] = train_once(run, run_name)
            record["corpora"][name] = entry
            args.result.write_text(json.dumps(record, indent=2))
            print(json.dumps({name: entry["runs"][run_name]}, indent=2), flush=True)


if __name__ == "__main__":
    main()
