"""The causal verdicts on ground truth: the causal formant test run on the calibration runs (single-cue corpora whose
classes differ in F1, F2 or F3 only, or in duration or F0 only), with what it called.

Reads a folder made by ``vowelcam calibrate`` / ``bench.bench_calibration`` (``<cue>-seed<N>/corpus`` and
``run-<cue>-seed<N>``), runs ``vowelcam cam RUN --causal`` on each run (default manipulations: F1-F3 and the F4
sham ±1 Bark, notches, length warps; the map instruments are skipped by reading only integrated gradients), and
records per run which cells the causal verdicts (:mod:`vowelcam.explain.evidence.causal_verdicts`) call causal:
a **hit** when the cue's formant is causal over all vowels, a **false call** when any other formant is (on duration
and F0 corpora: any formant), a **miss** otherwise.

In a single-cue corpus only the cue's formant differs between the classes, so every other formant is "no
contrast" and a false call is impossible by construction. The sceptic's pass (``pretend``) reads the duration- and
F0-only runs again as if the classes differed in F1-F3 the way AH and ER do (each token's formants replaced by
Hillenbrand et al.'s AH/ER means for its speaker group, which orients the moves): the network cannot use any
formant there, so any causal call is false.

    python -m bench.bench_causal_calibration --work runs/calibration
    python -m bench.bench_causal_calibration --ship bench/results/causal_calibration.json \
        bench/results/causal_calibration_fresh.json

``--ship`` writes the table the package ships (``vowelcam/explain/readings/causal_calibration.csv``, one row per
run of the given results) and runs nothing; page 1 quotes its sceptic's record. With ``--base-start`` it writes
``causal_calibration_base_start.csv`` instead, from runs trained by ``bench_calibration --init base``: the record
page 1 quotes for a network fine-tuned from the base model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.lib.paths import RESULTS
from vowelcam.corpus.published_formants import load_reference
from vowelcam.explain.evidence.causal_verdicts import CAUSAL, causal_verdicts
from vowelcam.explain.readings.calibration import CAUSAL_BASE_TABLE, CAUSAL_COLUMNS, CAUSAL_TABLE, outcome
from vowelcam.rundir import read_csv, write_csv

READINGS = Path(__file__).resolve().parents[1] / "vowelcam" / "explain" / "readings"


def run_one(run: Path, corpus: Path, max_tokens: int) -> float:
    """``vowelcam cam`` with the causal test on one calibration run; its wall time in seconds."""
    began = time.perf_counter()
    command = [sys.executable, "-m", "vowelcam", "cam", str(run), "--no-faithfulness", "--causal"]
    command += ["--causal-corpus", str(corpus), "--causal-max-tokens", str(max_tokens)]
    command += ["--instruments", "integrated-gradients", "--replicate-seeds", "", "--device", "cpu"]
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - began


def read_verdicts(run: Path, pretend: bool = False) -> list[dict]:
    """The causal verdicts of ``run``'s causal.csv; with ``pretend`` each token's F1-F3 replaced by the Hillenbrand
    mean of its class and group first (the no-cue corpora's sceptic pass, see the module docstring)."""
    tokens = read_csv(run / "tokens.csv")
    if pretend:
        reference = load_reference("h95")
        for token in tokens:
            ref = reference.get((token["phone"], token["group"])) or {}
            token.update({f"f{k}_50": ref.get(f"f{k}_mean", "") for k in (1, 2, 3)})
    preds = {p["token_id"]: p for p in read_csv(run / "predictions.csv")}
    rows = read_csv(run / "causal.csv")
    truth = {r["token_id"]: preds[r["token_id"]]["true"] for r in rows}
    labels = sorted({p["true"] for p in preds.values()})
    return causal_verdicts(rows, truth, tokens, labels)


def called(verdicts: list[dict]) -> list[str]:
    """The cells called causal."""
    return [f"{r['vowel']} {r['formant']}" for r in verdicts if r["verdict"] == CAUSAL]


def ship(results: list[Path], table: str) -> None:
    """Write the shipped causal calibration table ``table`` from bench results (one row per run)."""
    rows = []
    for path in results:
        for r in json.loads(path.read_text(encoding="utf-8"))["rows"]:
            pretend = r.get("pretend_causal")
            rows.append(
                {
                    "cue": r["cue"],
                    "corpus_seed": r["seed"],
                    "outcome": r["outcome"],
                    "causal": "; ".join(r["causal"]),
                    "pretend_causal": None if pretend is None else "; ".join(pretend),
                }
            )
    write_csv(READINGS / table, rows, CAUSAL_COLUMNS)
    print(f"wrote {len(rows)} rows to {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="A calibration folder (corpora and runs).")
    parser.add_argument("--ship", type=Path, nargs="+", help="Write the shipped table from these results instead.")
    parser.add_argument("--base-start", action="store_true", help="--ship the table of base-model-started runs.")
    parser.add_argument("--cues", default="f1,f2,f3,duration,f0")
    parser.add_argument("--seeds", default="101,202,303")
    parser.add_argument("--max-tokens", type=int, default=120)
    parser.add_argument("--reuse", action="store_true", help="Read causal.csv where it already exists.")
    parser.add_argument("--out", type=Path, default=RESULTS / "causal_calibration.json")
    args = parser.parse_args()
    if args.ship:
        return ship(args.ship, CAUSAL_BASE_TABLE if args.base_start else CAUSAL_TABLE)
    if args.work is None:
        parser.error("--work is required (or --ship RESULTS...)")
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for cue in args.cues.split(","):
            run, corpus = args.work / f"run-{cue}-seed{seed}", args.work / f"{cue}-seed{seed}" / "corpus"
            if not run.is_dir():
                print(f"skip {run}: not there", file=sys.stderr)
                continue
            done = args.reuse and (run / "causal.csv").exists()
            seconds = 0.0 if done else run_one(run, corpus, args.max_tokens)
            verdicts = read_verdicts(run)
            cells = called(verdicts)
            pretend = read_verdicts(run, pretend=True) if cue in ("duration", "f0") else None
            n_tokens = len({r["token_id"] for r in read_csv(run / "causal.csv") if not r["problem"]})
            rows.append(
                {
                    "cue": cue,
                    "seed": seed,
                    "causal": cells,
                    "outcome": outcome(cue, cells),
                    "shares": {f"{r['vowel']} {r['formant']}": _round(r["share"]) for r in verdicts},
                    "tokens": n_tokens,
                    "verdicts": {f"{r['vowel']} {r['formant']}": r["verdict"] for r in verdicts},
                    "pretend_causal": called(pretend) if pretend is not None else None,
                    "pretend_shares": {f"{r['vowel']} {r['formant']}": _round(r["share"]) for r in pretend or []},
                    "seconds": round(seconds, 1),
                }
            )
            print(cue, seed, rows[-1]["outcome"], cells, rows[-1]["pretend_causal"], file=sys.stderr)
    summary = {
        "hits": sum(r["outcome"] == "hit" for r in rows),
        "formant_runs": sum(r["cue"] in ("f1", "f2", "f3") for r in rows),
        "false_calls": sum(r["outcome"] == "false call" for r in rows),
        "pretend_runs": sum(r["pretend_causal"] is not None for r in rows),
        "pretend_false_calls": sum(bool(r["pretend_causal"]) for r in rows),
        "runs": len(rows),
    }
    result = {"what": f"causal verdicts ({CAUSAL}) on single-cue calibration runs", "summary": summary, "rows": rows}
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(summary))


def _round(value: float) -> float | None:
    return round(float(value), 3) if value == value else None


if __name__ == "__main__":
    main()
