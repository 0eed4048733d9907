"""The calibration table: every instrument on single-cue synthetic corpora (F1-, F2-, F3-only; duration-only and
F0-only, where no formant can carry the decision), on several corpus seeds, with what each instrument called.

Runs :func:`vowelcam.explain.calibration_run.calibrate` (synthesise, extract, train the default network, read every
instrument) into ``--work`` (corpora and runs are reused when complete), then writes ``--out`` (JSON: the rows, the
per-instrument summary, the seeds, timings) and, with ``--ship``, the package's
``vowelcam/explain/readings/calibration.csv`` that gates the verdicts.

The reading rules were designed on corpora of seed 11 (an AH/ER F2-only and an AH/ER duration-only corpus); the
shipped table uses seeds 101, 202, 303, which were not looked at while tuning.

    python -m bench.bench_calibration --work runs/calibration --ship

``--init base`` trains every corpus from the shipped base model instead (at the fine-tuning learning rate): the
sceptic's question of whether verdicts on a fine-tuned network, which a small corpus gets by default, still name
the cue and nothing else. ``--instruments`` reads fewer instruments (a comma list).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from bench.lib.paths import REPO, RESULTS
from vowelcam.explain.calibration_run import CalibrationSettings, calibrate, parse_list
from vowelcam.explain.readings.calibration import CALIBRATION_COLUMNS, summarise, summary_rows
from vowelcam.rundir import read_csv, write_csv

PACKAGE_TABLE = REPO / "vowelcam" / "explain" / "readings" / "calibration.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="Folder for the corpora and runs (reused).")
    parser.add_argument("--cues", default="f1,f2,f3,duration,f0")
    parser.add_argument("--seeds", default="101,202,303")
    parser.add_argument("--out", type=Path, default=RESULTS / "calibration.json")
    parser.add_argument("--ship", action="store_true", help="Also write the package's calibration.csv.")
    parser.add_argument("--init", choices=("none", "base"), default="none", help="Where every training starts.")
    parser.add_argument("--instruments", default="", help="Comma list (default: every instrument).")
    parser.add_argument(
        "--tables",
        nargs="*",
        type=Path,
        help="Assemble the result from these calibration.csv files of earlier runs (one per seed) instead of running.",
    )
    args = parser.parse_args()
    settings = CalibrationSettings(
        cues=parse_list(args.cues),
        seeds=tuple(int(s) for s in parse_list(args.seeds)),
        **({"instruments": parse_list(args.instruments)} if args.instruments else {}),
        train={"weights": "base", "lr": 0.0} if args.init == "base" else {},
    )
    if args.ship and (args.init != "none" or args.instruments):
        parser.error("--ship writes the table the verdicts are gated by: every instrument, random weights")
    began = time.perf_counter()
    if args.tables:
        rows = [row for table in args.tables for row in read_csv(table)]
        write_csv(args.work / "calibration.csv", rows, CALIBRATION_COLUMNS)
        settings = CalibrationSettings(
            cues=tuple(dict.fromkeys(r["cue"] for r in rows)),
            seeds=tuple(dict.fromkeys(int(r["corpus_seed"]) for r in rows)),
        )
    else:
        rows = calibrate(args.work, settings, device="cpu")
    records = summarise(rows)
    result = {
        "what": "instrument x single-cue corpus x seed: cells with support and the outcome (hit / miss / false call)",
        "cues": list(settings.cues),
        "seeds": list(settings.seeds),
        "tuning_seed": 11,
        "speakers": 2 * settings.speakers_per_group,
        "tokens_per_vowel": settings.tokens_per_vowel,
        "test_fraction": settings.test_fraction,
        "init": args.init,
        "seconds": round(time.perf_counter() - began, 1),
        "summary": summary_rows(records),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    if args.ship:
        shutil.copyfile(args.work / "calibration.csv", PACKAGE_TABLE)
    for record in records.values():
        print(f"{record.instrument:22s} {record.describe()}")


if __name__ == "__main__":
    main()
