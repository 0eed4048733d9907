"""How learnable is the synthetic corpus? A formant-only classifier on ``vowelcam synth`` output.

    python -m bench.bench_synth_classifier [--speakers-per-group 6] [--seed 11] [--corpus DIR]

Synthesises a corpus (or reads ``--corpus``, e.g. ``sample_data``), measures every vowel token with
``vowelcam.acoustics.praat.measure_token`` and reports the speaker-grouped cross-validated accuracy of LDA on
log F1, F2, F3 at 50 % (from the synthesis targets in ``truth.csv`` and from the measured values), plus the
pass rate of the measurement (all of F1-F3 within 5 % of the targets) per group. Real data for comparison
(../shared/README.md): LDA on log F1, F2 at steady state 68-69 %, log F0 and F1-F3 81-82 % on Hillenbrand 1995.
Writes ``bench/results/synth_classifier.json`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import GroupKFold, cross_val_score

from vowelcam.acoustics.praat import measure_token
from vowelcam.config import MeasureSettings
from vowelcam.rundir import read_csv
from vowelcam.synth.corpus import TRUTH, generate_corpus
from vowelcam.synth.speakers import SynthSettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "synth_classifier.json"


def measure_all(root: Path, rows: list[dict[str, str]]) -> np.ndarray:
    """Measured F1-F3 at 50 % for every truth row (NaN where not measurable)."""
    settings = MeasureSettings()
    out = np.full((len(rows), 3), np.nan)
    for i, row in enumerate(rows):
        audio, sr = sf.read(root / "corpus" / row["file"])
        m = measure_token(audio, sr, float(row["start"]), float(row["end"]), row["group"], settings)
        out[i] = [m[f"f{k}_50"] for k in (1, 2, 3)]
    return out


def grouped_accuracy(features: np.ndarray, labels: np.ndarray, speakers: np.ndarray) -> tuple[float, float]:
    """Mean and SD over folds of LDA accuracy, folds grouped by speaker."""
    ok = np.all(np.isfinite(features), axis=1)
    folds = GroupKFold(n_splits=min(5, len(set(speakers[ok]))))
    scores = cross_val_score(LinearDiscriminantAnalysis(), features[ok], labels[ok], groups=speakers[ok], cv=folds)
    return float(scores.mean()), float(scores.std())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers-per-group", type=int, default=6)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--corpus", type=Path, default=None, help="an existing synth output folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, synth_s = args.corpus, None
        if root is None:
            root = Path(tmp)
            began = time.perf_counter()
            generate_corpus(root, SynthSettings(seed=args.seed, speakers_per_group=args.speakers_per_group))
            synth_s = time.perf_counter() - began
        rows = read_csv(root / TRUTH)
        began = time.perf_counter()
        measured = measure_all(root, rows)
        measure_s = time.perf_counter() - began
    targets = np.array([[float(r[f"f{k}_50"]) for k in (1, 2, 3)] for r in rows])
    labels = np.array([r["vowel"] for r in rows])
    speakers = np.array([r["speaker"] for r in rows])
    groups = np.array([r["group"] for r in rows])
    within = np.abs(measured / targets - 1) <= 0.05
    result = {
        "corpus": str(args.corpus)
        if args.corpus
        else f"synth seed {args.seed}, {args.speakers_per_group} speakers/group",
        "tokens": len(rows),
        "speakers": len(set(speakers)),
        "vowels": len(set(labels)),
        "synth_seconds": synth_s,
        "measure_seconds": measure_s,
        "lda_log_f123_targets": grouped_accuracy(np.log(targets), labels, speakers),
        "lda_log_f123_measured": grouped_accuracy(np.log(measured), labels, speakers),
        "pass_rate_5pct": {
            g: {f"F{k + 1}": float(within[groups == g, k].mean()) for k in range(3)}
            | {"all": float(within[groups == g].all(axis=1).mean())}
            for g in sorted(set(groups))
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    show(result)


def show(result: dict) -> None:
    """Print the result as Rich tables."""
    console = Console()
    table = Table(title=f"formant-only LDA, speaker-grouped CV ({result['corpus']}, {result['tokens']} tokens)")
    table.add_column("features")
    table.add_column("accuracy", justify="right")
    for key in ("lda_log_f123_targets", "lda_log_f123_measured"):
        mean, sd = result[key]
        table.add_row(key.replace("lda_", ""), f"{100 * mean:.1f} % ± {100 * sd:.1f}")
    console.print(table)
    passes = Table(title="measured within 5 % of target at 50 %")
    for column in ("group", "F1", "F2", "F3", "all"):
        passes.add_column(column, justify="right")
    for group, rates in result["pass_rate_5pct"].items():
        passes.add_row(group, *(f"{100 * rates[k]:.1f} %" for k in ("F1", "F2", "F3", "all")))
    console.print(passes)


if __name__ == "__main__":
    main()
