"""Regenerate ``reference_formants/*.csv`` from the published token tables in ``../shared/data/reference_formants``.

    python tools/make_reference_formants.py [--shared ../shared/data/reference_formants] [--out reference_formants]

The tables ship inside the package (``vowelcam.reference_formants``), so this builds a resource, not a benchmark.

Writes ``h95.csv`` (Hillenbrand et al. 1995) and ``pb52.csv`` (Peterson & Barney 1952): one row per vowel
(ARPAbet) and speaker group (men / women / children) with the token count and the mean and sample SD of F0,
F1, F2, F3 (and of the duration in ms where the source has it). Boys and girls (h95 ``b``/``g``) and P&B's
``c`` form the group ``children``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data" / "reference_formants"
OUT_DIR = REPO / "reference_formants"

XSAMPA_TO_ARPABET = {
    "i": "IY",
    "I": "IH",
    "e": "EY",
    "E": "EH",
    "{": "AE",
    "A": "AA",
    "O": "AO",
    "o": "OW",
    "U": "UH",
    "u": "UW",
    "V": "AH",
    "3'": "ER",
}
GROUP_OF_TYPE = {"m": "men", "w": "women", "c": "children", "b": "children", "g": "children"}
GROUP_ORDER = ["men", "women", "children"]
VOWEL_ORDER = list(XSAMPA_TO_ARPABET.values())


def summarise(rows: list[dict[str, str]], measures: list[str]) -> list[dict[str, object]]:
    """Means and sample SDs of ``measures`` per (vowel, group), in a fixed order."""
    values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        key = (XSAMPA_TO_ARPABET[row["vowel"]], GROUP_OF_TYPE[row["type"]])
        for measure in measures:
            if row[measure] not in ("", "0", "0.0"):
                values[key][measure].append(float(row[measure]))
    out = []
    for vowel in VOWEL_ORDER:
        for group in GROUP_ORDER:
            if (vowel, group) not in values:
                continue
            cell = values[(vowel, group)]
            record: dict[str, object] = {"vowel": vowel, "group": group, "n": len(cell[measures[0]])}
            for measure in measures:
                record[f"{measure}_mean"] = round(statistics.fmean(cell[measure]), 1)
                record[f"{measure}_sd"] = round(statistics.stdev(cell[measure]), 1)
            out.append(record)
    return out


def write(path: Path, records: list[dict[str, object]]) -> None:
    """Write records as CSV with a trailing newline and Unix line ends."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    sources = {"h95": ["dur", "f0", "f1", "f2", "f3"], "pb52": ["f0", "f1", "f2", "f3"]}
    for name, measures in sources.items():
        with open(args.shared / f"{name}.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        records = summarise(rows, measures)
        write(args.out / f"{name}.csv", records)
        print(f"{args.out / (name + '.csv')}: {len(records)} rows from {len(rows)} tokens")


if __name__ == "__main__":
    main()
