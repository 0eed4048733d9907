"""The run directory: stable file names and atomic writes.

Every stage reads and writes a run directory so that any stage can be re-run, resumed or inspected alone::

    run/
      config.toml            resolved settings of this run
      tokens.csv             one row per token (see vowelcam.tokens.TOKEN_COLUMNS)
      problems.csv           one row per skipped file/token: path, tier, interval, reason, detail
      speakers.csv           one row per speaker: group and its source (given, or estimated from F0)
      tracks.csv             F1-F3, B1-B3 every 5 % of each vowel, a row per token x time (vowelcam.measure.tracks)
      sources.json           corpus and TextGrid folders of the extraction (for export-textgrids)
      spectrograms/          memory-mappable store (see vowelcam.acoustics.store)
      model/model.pt         checkpoint; model/metrics.csv per-epoch metrics
      predictions.csv        token id, true, predicted, probabilities, split
      cams/                  per-token CAMs on the token's Hz x time grid
      bands.csv, agreement.csv (+ agreement_tidy.csv, long), faithfulness.csv
      report/report.html, report/report.pdf, report/figures/
      textgrids/             input TextGrids with vowelcam's tiers (vowelcam export-textgrids)
      show/                  one PNG per token asked for (vowelcam show)
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1

CONFIG = "config.toml"
TOKENS = "tokens.csv"
PROBLEMS = "problems.csv"
SPECTROGRAMS = "spectrograms"
MODEL_DIR = "model"
MODEL = "model/model.pt"
METRICS = "model/metrics.csv"
PREDICTIONS = "predictions.csv"
CAMS = "cams"
BANDS = "bands.csv"
AGREEMENT = "agreement.csv"
FAITHFULNESS = "faithfulness.csv"
REPORT_DIR = "report"
STAMP = "vowelcam-run.json"
SOURCES = "sources.json"

PROBLEM_COLUMNS = ["path", "tier", "interval", "reason", "detail"]


class RunDir:
    """A run directory with named paths for each stage's output."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """Absolute path of a documented file name (e.g. ``rundir.TOKENS``)."""
        return self.root / name

    def create(self) -> RunDir:
        """Create the directory and its version stamp (idempotent)."""
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = self.path(STAMP)
        if not stamp.exists():
            atomic_write_text(stamp, json.dumps({"format_version": FORMAT_VERSION, "tool": "vowelcam"}))
        return self

    def format_version(self) -> int | None:
        """The version stamp of an existing run directory, or None when absent/unreadable."""
        try:
            return int(json.loads(self.path(STAMP).read_text())["format_version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


@contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file ordinary permissions
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write text to ``target`` atomically (temp file + rename)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write bytes to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def record_sources(root: str | Path, corpus: str | Path, textgrids: str | Path | None) -> None:
    """Remember where a run's audio and TextGrids came from (``RUN/sources.json``)."""
    data = {"corpus": str(Path(corpus).resolve()), "textgrids": str(Path(textgrids).resolve()) if textgrids else ""}
    atomic_write_text(Path(root) / SOURCES, json.dumps(data, indent=1))


def read_sources(root: str | Path) -> tuple[str, str] | None:
    """The corpus and TextGrid folders ``extract`` recorded in ``RUN/sources.json`` ("" for TextGrids beside the
    audio), or None when the run has no readable record (extracted by an older vowelcam, or damaged)."""
    try:
        data = json.loads((Path(root) / SOURCES).read_text(encoding="utf-8"))
        return str(data.get("corpus") or ""), str(data.get("textgrids") or "")
    except (OSError, ValueError, AttributeError):
        return None


def write_csv(target: str | Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> int:
    """Write rows as UTF-8 CSV (readable in R with ``read.csv``) atomically; return the row count.

    Rows are streamed to a temporary file beside ``target`` (``rows`` may be a generator of any length).
    Missing values (None, NaN) are written as empty fields. Numbers are exact: times (columns named ``start``,
    ``end``, ``time`` or ending in ``_s``/``_time``) with ``TIME_DECIMALS`` fixed decimals (1 µs, at any length
    of recording), every other float with the fewest digits that read back to the same float (Python's
    ``repr``), so a value can be joined on after a round trip through the file.
    """
    n = 0
    with atomic_path(target) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        formats = [_fmt_time if is_time_column(k) else _fmt for k in columns]
        for row in rows:
            writer.writerow([fmt(row.get(k)) for fmt, k in zip(formats, columns)])
            n += 1
    return n


TIME_DECIMALS = 6


def is_time_column(name: str) -> bool:
    """Whether ``write_csv`` writes this column as a time (fixed decimals)."""
    return name in ("start", "end", "time") or name.endswith(("_s", "_time"))


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """Read a CSV written by :func:`write_csv` as a list of string dicts."""
    return list(iter_csv(path))


def iter_csv(path: str | Path) -> Iterator[dict[str, str]]:
    """The rows of a CSV written by :func:`write_csv`, one string dict at a time (for files of any size)."""
    with open(path, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def as_float(value: Any) -> float:
    """A CSV field (or any value) as a float: NaN when empty, None or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _is_float(value: Any) -> bool:
    """A Python or NumPy float (numpy is not imported here: the CLI starts without it)."""
    return isinstance(value, float) or (
        getattr(getattr(value, "dtype", None), "kind", "") == "f" and getattr(value, "ndim", 1) == 0
    )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if _is_float(value):
        if value != value:  # NaN
            return ""
        value = float(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # 500.0 -> "500": reads back to the same float
        return repr(value)  # shortest text that reads back to the same float
    return str(value)


def _fmt_time(value: Any) -> str:
    if _is_float(value) and value == value and abs(value) != math.inf:
        return f"{float(value):.{TIME_DECIMALS}f}"
    return _fmt(value)
