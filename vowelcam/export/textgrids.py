"""``vowelcam export-textgrids RUN``: per input TextGrid, a copy with vowelcam's tiers, to open in Praat beside the
sound (``RUN/textgrids/<the recording's relative path>.TextGrid``, long text format, UTF-8).

Added tiers (names prefixed ``vowelcam-``; an existing tier of that name gets a ``_`` appended):

- ``vowelcam-class`` (interval tier): per classified token, ``"<predicted> <probability>"`` with ``*`` after the
  class when it differs from the label (``"IH* 0.61"``), over the token's interval;
- ``vowelcam-points`` (point tier): the measurement points of each vowel (20/50/80 % and any extra ``--points``),
  marked ``"50%: F1 670 F2 1977 F3 2658"`` (Hz; ``–`` where not measurable);
- ``vowelcam-cam`` (point tier): at each token's midpoint, the top CAM band in Hz for the true and the predicted
  class, ``"true IY 2281-2344 Hz | pred IH 1938-2000 Hz"`` (the profile's peak row ± half the Hz per row of the
  CAM layer, from ``bands.csv``/``bands_pred.csv``).

The input TextGrids are found again from the corpus and TextGrid folders recorded by ``extract`` in
``RUN/sources.json`` (or given with ``--corpus``/``--textgrids``). Tiers of the input are copied unchanged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .. import rundir
from ..corpus.textgrid_write import interval_tier, point_tier, write_textgrid
from ..corpus.textgrids import TextGrid
from ..errors import DataProblem, RunDirError
from ..rundir import as_float
from ..tokens import FIXED_POINTS, read_tokens
from ..tokens import extra_points as settings_points

log = logging.getLogger(__name__)

OUT_DIR = "textgrids"
CLASS_TIER, POINTS_TIER, CAM_TIER = "vowelcam-class", "vowelcam-points", "vowelcam-cam"


@dataclass
class ExportSummary:
    """What ``export_textgrids`` wrote and what it could not."""

    written: list[Path] = field(default_factory=list)
    problems: list[DataProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # tiers left empty, and why


def export_textgrids(
    run_dir: str | Path,
    out: str | Path | None = None,
    corpus: str | Path | None = None,
    textgrids: str | Path | None = None,
) -> ExportSummary:
    """Write one annotated TextGrid per recording of the run into ``out`` (default ``RUN/textgrids``)."""
    from ..config import load_settings
    from ..corpus.discover import discover

    run = rundir.RunDir(run_dir)
    if not run.path(rundir.TOKENS).is_file():
        raise RunDirError(f"{run.root}: no tokens.csv (run `vowelcam extract` first)")
    corpus, textgrids = _sources(run, corpus, textgrids)
    settings = load_settings(run.path(rundir.CONFIG)) if run.path(rundir.CONFIG).is_file() else None
    extensions = settings.corpus.audio_extensions if settings else (".wav", ".flac")
    pairs = {p.rel: p for p in discover(corpus, textgrids, extensions).pairs}
    tokens = read_tokens(run.path(rundir.TOKENS))
    extra = _points(settings)
    predictions = _by_id(run.path(rundir.PREDICTIONS))
    cams = {"true": _by_id(run.path(rundir.BANDS)), "pred": _by_id(run.path("bands_pred.csv"))}
    target = Path(out) if out is not None else run.path(OUT_DIR)
    summary = ExportSummary(notes=_empty_tier_notes(run, predictions, cams["true"]))
    for file, rows in _by_file(tokens).items():
        pair = pairs.get(file)
        if pair is None:
            summary.problems.append(DataProblem(file, "recording not found", f"not under {corpus}"))
            continue
        try:
            grid = _read(pair)
        except DataProblem as problem:
            summary.problems.append(problem)
            continue
        add_tiers(grid, rows, predictions, cams, extra)
        path = target / PurePosixPath(file).with_suffix(".TextGrid")
        summary.written.append(write_textgrid(grid, path))
    return summary


def add_tiers(
    grid: TextGrid,
    tokens: list[dict[str, Any]],
    predictions: dict[str, dict],
    cams: dict[str, dict],
    extra_points: Iterable[int] = (),
) -> TextGrid:
    """Append the class, points and CAM tiers for ``tokens`` (rows of one recording) to ``grid``."""
    names = {t.name for t in grid.tiers}
    classes = [
        (t["start"], t["end"], class_mark(t, predictions[t["token_id"]]))
        for t in tokens
        if t["token_id"] in predictions
    ]
    grid.tiers.append(interval_tier(_free(CLASS_TIER, names), grid.start, grid.end, classes))
    points = [p for t in tokens if t.get("kind") == "vowel" for p in point_marks(t, extra_points)]
    grid.tiers.append(point_tier(_free(POINTS_TIER, names), grid.start, grid.end, points))
    tops = [((t["start"] + t["end"]) / 2, cam_mark(t["token_id"], cams)) for t in tokens]
    grid.tiers.append(point_tier(_free(CAM_TIER, names), grid.start, grid.end, [(x, m) for x, m in tops if m]))
    return grid


def class_mark(token: dict[str, Any], prediction: dict[str, str]) -> str:
    """``"IY 0.97"``; a ``*`` after the class when it is not the token's own."""
    predicted = prediction["predicted"]
    star = "*" if predicted != prediction.get("true", predicted) else ""
    return f"{predicted}{star} {as_float(prediction.get('prob_predicted')):.2f}"


def point_marks(token: dict[str, Any], extra_points: Iterable[int] = ()) -> list[tuple[float, str]]:
    """``(time, "50%: F1 670 F2 1977 F3 2658")`` at each measurement point of a vowel."""
    out = []
    for pct in sorted({*FIXED_POINTS, *extra_points}):
        values = [as_float(token.get(f"f{k}_{pct}")) for k in (1, 2, 3)]
        text = " ".join(f"F{k} {v:.0f}" if v == v else f"F{k} –" for k, v in zip((1, 2, 3), values))
        out.append((token["start"] + pct / 100 * (token["end"] - token["start"]), f"{pct}%: {text}"))
    return out


def cam_mark(token_id: str, cams: dict[str, dict]) -> str:
    """``"true IY 2281-2344 Hz | pred IH 1938-2000 Hz"`` from the bands tables ('' without CAMs)."""
    parts = []
    for which in ("true", "pred"):
        row = cams[which].get(token_id)
        peak = as_float(row.get("peak1_hz")) if row else math.nan
        if peak == peak:
            half = as_float(row.get("hz_per_row")) / 2
            cls = row.get("predicted" if which == "pred" else "vowel", "")
            band = f"{peak - half:.0f}-{peak + half:.0f} Hz" if half == half else f"{peak:.0f} Hz"
            parts.append(f"{which} {cls} {band}")
    return " | ".join(parts)


def _free(name: str, names: set[str]) -> str:
    while name in names:
        name += "_"
    names.add(name)
    return name


def _sources(run: rundir.RunDir, corpus, textgrids) -> tuple[Path, Path | None]:
    if corpus is None:
        recorded = rundir.read_sources(run.root)
        if recorded is None or not recorded[0]:
            raise RunDirError(
                f"{run.root}: no {rundir.SOURCES} (extracted by an older vowelcam); give --corpus "
                "(and --textgrids if they were apart)"
            )
        corpus, textgrids = recorded[0], textgrids or recorded[1] or None
    return Path(corpus), Path(textgrids) if textgrids else None


def _read(pair) -> TextGrid:
    from ..acoustics.audio import audio_info
    from ..extract.one_file import read_labels

    return read_labels(pair, audio_info(pair.audio) if pair.is_timit else None)


def _points(settings) -> list[int]:
    return settings_points(settings.measure) if settings is not None else []


def _empty_tier_notes(run: rundir.RunDir, predictions: dict, bands: dict) -> list[str]:
    """Why a tier will be empty: the run has no predictions (not trained) or no CAM bands (no cam stage)."""
    notes = []
    if not predictions:
        notes.append(
            f"{run.root} has no {rundir.PREDICTIONS}: tier {CLASS_TIER} is empty "
            "(run `vowelcam train` or `vowelcam analyze` first)"
        )
    if not bands:
        notes.append(f"{run.root} has no {rundir.BANDS}: tier {CAM_TIER} is empty (run `vowelcam cam` first)")
    return notes


def _by_id(path: Path) -> dict[str, dict[str, str]]:
    return {r["token_id"]: r for r in rundir.iter_csv(path)} if path.is_file() else {}


def _by_file(tokens: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for t in tokens:
        out.setdefault(t["file"], []).append(t)
    return out
