"""Formant measurement benchmark: vowelcam's ceiling search against hand-edited formants (Hillenbrand et al. 1995).

Ground truth: ``measurements/vowdata.dat`` columns 11–13 (F1–F3 at 50 % of the vowel, hand-edited LPC tracks;
0 = not measurable, excluded). The vowel nucleus comes from the ``phones`` tier of each TextGrid; the speaker
group (men/women) from the file name. Every method sees the same audio: the vowel plus 0.1 s on each side.

Methods, all in this one run so that speed ratios are comparable:

- ``vowelcam``: :func:`vowelcam.acoustics.praat.measure_token` (F0 and F1–F3 at 20/50/80 % included; its F0,
  the median over the middle 60 %, is also scored against column 3, the steady-state F0, 20 % = gross);
- ``vowelcam (group unknown)``: the same without the speaker group (wider ceiling search);
- ``plain Burg``: one Praat Burg call per token, 5 formants, ceiling 5000 Hz men / 5500 Hz women;
- ``fasttrackpy``: Fast Track 0.6.1 (20 ceilings 4500–6500 Hz men / 5000–7000 Hz women, 4 formants, its
  defaults otherwise) on a spread-out subset (``--fasttrack-tokens`` per group; it runs at a few tokens/s);
  vowelcam is scored on the same subset for a like-for-like comparison.

Speed: ``time.perf_counter`` around the measuring calls only (file reading excluded), in this single process;
also thread CPU time, which is the fairer per-core figure on a machine shared with other jobs. Methods take
turns token by token, so load changes during the run hit them alike; ``cpu_time_vs_plain_burg`` is the ratio.

    python -m bench.bench_formants [--limit N] [--fasttrack-tokens 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.lib.hillenbrand import (
    CORPUS,
    F0_GROSS,
    GROSS,
    evaluate,
    fasttrack_method,
    load_tokens,
    plain_method,
    vowelcam_method,
)
from bench.lib.paths import RESULTS
from vowelcam.config import MeasureSettings
from vowelcam.rundir import atomic_write_text


def print_table(results: dict) -> None:
    """One Rich table: method x group, median error and gross rate per formant, speed."""
    table = Table(title="F1–F3 at 50 % vs Hillenbrand et al. (1995) hand-edited values")
    for col in (
        "method",
        "group",
        "n",
        "F1 med %",
        "F2 med %",
        "F3 med %",
        "F1 gross %",
        "F2 gross %",
        "F3 gross %",
        "F0 med %",
        "F0 gross %",
        "tok/s wall",
        "tok/s CPU",
    ):
        table.add_column(col, justify="left" if col in {"method", "group"} else "right")
    for name, entry in results["methods"].items():
        for group, s in entry["groups"].items():
            table.add_row(
                name,
                group,
                str(s["tokens"]),
                *(f"{s[f'F{k}_median_rel_err_pct']:.2f}" for k in (1, 2, 3)),
                *(f"{s[f'F{k}_gross_pct']:.2f}" for k in (1, 2, 3)),
                *(f"{s[key]:.2f}" if key in s else "–" for key in ("F0_median_rel_err_pct", "F0_gross_pct")),
                f"{entry['tokens_per_s_wall']:.1f}",
                f"{entry['tokens_per_s_cpu']:.1f}",
            )
    Console(width=160).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="files per group (default: all)")
    parser.add_argument("--fasttrack-tokens", type=int, default=60, help="fasttrackpy subset per group (0 = skip)")
    parser.add_argument("--out", type=Path, default=RESULTS / "formants_5ceilings_band_aware.json")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        raise SystemExit(f"{CORPUS} not found (set VOWELCAM_SHARED)")
    settings = MeasureSettings()
    tokens = load_tokens(args.limit)
    methods = evaluate(
        {
            "vowelcam": vowelcam_method(settings),
            "vowelcam (group unknown)": vowelcam_method(settings, know_group=False),
            "plain Burg": plain_method,
        },
        tokens,
    )
    if args.fasttrack_tokens:
        subset = load_tokens(min(args.fasttrack_tokens, args.limit or args.fasttrack_tokens))
        subset_methods = {
            "vowelcam (fasttrack subset)": vowelcam_method(settings),
            "fasttrackpy (subset)": fasttrack_method,
        }
        methods.update(evaluate(subset_methods, subset))
    plain_cpu = methods["plain Burg"]["ms_per_token_cpu"]
    for entry in methods.values():
        entry["cpu_time_vs_plain_burg"] = round(entry["ms_per_token_cpu"] / plain_cpu, 2)
    results = {
        "corpus": str(CORPUS),
        "reference": "vowdata.dat columns 11-13 (F1-F3 at 50 % of the vowel) and 3 (F0), 0 excluded",
        "gross_threshold": GROSS,
        "f0_gross_threshold": F0_GROSS,
        "timing": "perf_counter (wall) and thread_time (CPU) around the measuring calls only, one process, "
        "methods interleaved token by token",
        "fasttrack_subset_per_group": args.fasttrack_tokens,
        "settings": dataclasses.asdict(settings),
        "load_average": os.getloadavg(),
        "methods": methods,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(results, indent=2, default=float))
    print_table(results)
    Console().print(f"written {args.out}")


if __name__ == "__main__":
    main()
