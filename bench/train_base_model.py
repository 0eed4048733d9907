"""Train the base model that ships with vowelcam (``vowelcam/base_model/base.pt``) and measure it.

Data: Hillenbrand et al. (1995) men and women (``../shared/data/hillenbrand1995``, their /hVd/ words, 12 vowels)
plus the project's own synthetic children (``vowelcam synth --groups children``: Praat KlattGrid vowels drawn from
Hillenbrand's children's formant means and spreads, hVd and CVC words), so that the network has seen a child's
formant range. Everything is laid out as one corpus of speaker folders (links, nothing copied), extracted with
the default settings, and trained with the CPU default (``resnet18-w16``) and a speaker-grouped held-out split.

Measured: accuracy on the held-out speakers (per group, with a speaker-level interval), and on the 12 vowels of
the 32 LJSpeech clips (``../shared/data/ljspeech-32``: a speaker, a recording chain and connected speech the model
never saw), each vowel of their MFA alignment classified by ``vowelcam.classify``.

    python -m bench.train_base_model [--work /tmp/base-model] [--ship]

``--ship`` copies the model into the package with its ``card.json``. Writes bench/results/base_model.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")) / "data"
H95 = SHARED / "hillenbrand1995"
LJ = SHARED / "ljspeech-32"
PACKAGE = REPO / "vowelcam" / "base_model"
VOWELS = "IY,IH,EY,EH,AE,AA,AO,OW,UH,UW,AH,ER"
SYNTH_SEED = 9001  # not a seed of the calibration or of the sample corpus


def build_corpus(work: Path, children: int) -> tuple[Path, Path]:
    """One corpus of speaker folders: Hillenbrand's men and women linked, synthetic children made; and the
    speaker,group table."""
    corpus, groups = work / "corpus", work / "speakers.csv"
    shutil.rmtree(corpus, ignore_errors=True)
    synth = work / "synth"
    if not (synth / "speakers.csv").exists():
        command = [sys.executable, "-m", "vowelcam", "synth", str(synth), "--groups", "children"]
        command += ["--speakers-per-group", str(children), "--tokens-per-vowel", "2", "--seed", str(SYNTH_SEED)]
        subprocess.run(command, check=True)
    rows = []
    for group in ("men", "women"):
        for wav in sorted((H95 / group).glob("*.wav")):
            speaker = wav.stem[:3]
            folder = corpus / speaker
            folder.mkdir(parents=True, exist_ok=True)
            (folder / wav.name).symlink_to(wav)
            (folder / f"{wav.stem}.TextGrid").symlink_to(H95 / "textgrids" / f"{wav.stem}.TextGrid")
            rows.append((speaker, group))
    for speaker_dir in sorted((synth / "corpus").iterdir()):
        (corpus / speaker_dir.name).symlink_to(speaker_dir.resolve(), target_is_directory=True)
        rows.append((speaker_dir.name, "children"))
    with groups.open("w", newline="") as f:
        csv.writer(f).writerows([("speaker", "group"), *sorted(set(rows))])
    return corpus, groups


def held_out(run: Path) -> dict[str, Any]:
    """Test-split accuracy overall and per group, with the speakers behind each figure."""
    from vowelcam.rundir import read_csv

    tokens = {t["token_id"]: t for t in read_csv(run / "tokens.csv")}
    test = [p for p in read_csv(run / "predictions.csv") if p["split"] == "test"]
    out: dict[str, Any] = {}
    for group in ("all", "men", "women", "children"):
        rows = [p for p in test if group == "all" or tokens[p["token_id"]]["group"] == group]
        if rows:
            out[group] = {
                "accuracy": round(sum(p["true"] == p["predicted"] for p in rows) / len(rows), 4),
                "n_tokens": len(rows),
                "n_speakers": len({tokens[p["token_id"]]["speaker"] for p in rows}),
            }
    return out


def ljspeech_accuracy(model: Path) -> dict[str, Any]:
    """The base model on every vowel of the 12 in the LJSpeech clips' alignments (stress ignored)."""
    from vowelcam.classify_recording import classify, resolve_model

    loaded = resolve_model(model)
    right = total = 0
    per_vowel: dict[str, list[int]] = {}
    for wav in sorted((LJ / "wavs").glob("*.wav")):
        for r in classify(wav, textgrid=LJ / "textgrids" / f"{wav.stem}.TextGrid", model=loaded, top=1):
            true = "".join(c for c in str(r.label) if not c.isdigit()).upper()
            if true not in VOWELS.split(","):
                continue
            hit = int(r.top[0][0] == true)
            right, total = right + hit, total + 1
            per_vowel.setdefault(true, [0, 0])[0] += hit
            per_vowel[true][1] += 1
    return {
        "accuracy": round(right / total, 4) if total else None,
        "n_tokens": total,
        "per_vowel": {v: round(h / n, 3) for v, (h, n) in sorted(per_vowel.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/base-model"))
    parser.add_argument("--children", type=int, default=24, help="synthetic children")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ship", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from vowelcam import api

    args.work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    corpus, groups = build_corpus(args.work, args.children)
    run = args.work / "run"
    api.extract(corpus, run, speaker_from="folder", speaker_groups=str(groups))
    result = api.train(run, device="cpu", vowels=VOWELS, seed=args.seed, precision="fp32", weights="none", lr=1e-3)
    model = run / "model" / "model.pt"
    card = {
        "trained_on": "12 American English vowels (IY IH EY EH AE AA AO OW UH UW AH ER): Hillenbrand et al. 1995 "
        f"men and women, /hVd/ words, plus {args.children} synthetic children",
        "arch": result.arch,
        "tokens": result.n_tokens,
        "held_out": held_out(run)["all"] | {"ci95": [round(result.ci_low, 4), round(result.ci_high, 4)]},
        "held_out_by_group": held_out(run),
        "held_out_speakers": sorted(result.test_groups),
        "ljspeech_32": ljspeech_accuracy(model),
        "train_seconds": round(time.perf_counter() - began, 1),
        "seed": args.seed,
        "synth_seed": SYNTH_SEED,
    }
    (REPO / "bench" / "results" / "base_model.json").write_text(json.dumps(card, indent=2))
    if args.ship:
        shutil.copyfile(model, PACKAGE / "base.pt")
        (PACKAGE / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
