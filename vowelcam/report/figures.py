"""Make every figure of the report from a run's data into ``report/figures/`` (paths returned relative to the
report folder), skipping those whose inputs were not computed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..corpus.labels import ipa_label
from ..progress import ProgressCallback, report
from ..rundir import as_float
from .cards import card_figure
from .data import ReportData
from .plots import NUMBERS_UP_TO, TWO_LINES_UP_TO, confusion_figure, profile_figure, vowel_space_figure
from .reference_mixture import Reference
from .stats import (
    Estimate,
    baseline_profiles,
    cam_profiles,
    class_order,
    confusion_matrix,
    evaluation_rows,
    select_gallery,
    top_confusions,
)
from .token_view import TRACKS, card_inputs, read_tracks, with_track

log = logging.getLogger(__name__)

FIGURES = "figures"
TOP_PAIRS = 8


@dataclass
class Figures:
    """Figure paths relative to the report folder (None = not computed) and the gallery's cards."""

    confusion: Optional[str] = None
    confusion_pairs: list[dict[str, Any]] = field(default_factory=list)
    confusion_cells: str = "share_count"  # what the matrix's cells print: share_count | share | none (the table)
    confusion_table: list[dict[str, Any]] = field(default_factory=list)  # the matrix as rows, when cells are bare
    profiles: Optional[str] = None
    profiles_baseline: bool = False  # the energy baseline is drawn under each CAM profile
    vowel_space: Optional[str] = None
    cards: list[dict[str, Any]] = field(default_factory=list)
    n_errors: int = 0


def _confusion_cells(cm: np.ndarray, labels: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """What the matrix figure prints in its cells, and the matrix as table rows when it prints nothing."""
    if len(labels) <= TWO_LINES_UP_TO:
        return "share_count", []
    if len(labels) <= NUMBERS_UP_TO:
        return "share", []
    rows = [
        {"label": ipa_label(lab), "counts": [int(c) for c in cm[i]], "n": int(cm[i].sum())}
        for i, lab in enumerate(labels)
    ]
    return "none", rows


def make_figures(
    data: ReportData,
    report_dir: Path,
    measured: Mapping[str, Mapping[str, Estimate]],
    references: Mapping[str, Reference],
    analysed: list[dict[str, Any]],
    progress: Optional[ProgressCallback] = None,
) -> Figures:
    """All figures the data allows; a card gallery of at most ``settings.report.gallery_size`` errors."""
    out = report_dir / FIGURES
    out.mkdir(parents=True, exist_ok=True)
    figs = Figures()
    steps = 4
    report(progress, "figures", 0, steps, "confusion matrix")
    labels: list[str] = []
    if data.predictions:
        rows, _ = evaluation_rows(data.predictions)
        labels = class_order(rows, (data.model or {}).get("labels"))
        cm = confusion_matrix(rows, labels)
        figs.confusion = _rel(confusion_figure(cm, labels, out / "confusion.svg"), report_dir)
        figs.confusion_pairs = top_confusions(cm, labels, TOP_PAIRS, rows, data.by_id)
        figs.confusion_cells, figs.confusion_table = _confusion_cells(cm, labels)
        for pair in figs.confusion_pairs:
            pair["true_label"], pair["predicted_label"] = ipa_label(pair["true"]), ipa_label(pair["predicted"])
    report(progress, "figures", 1, steps, "CAM profiles")
    if data.cams is not None:
        classes = labels or sorted({e["true"] for e in data.cams.index})
        profiles = cam_profiles(data.cams, data.by_id, classes)
        energy = baseline_profiles(data.cams, data.by_id, classes, "energy")
        figs.profiles_baseline = bool(energy)
        if profiles:
            figs.profiles = _rel(
                profile_figure(profiles, measured, references, out / "profiles.svg", data.cams.hz_per_row, energy),
                report_dir,
            )
    report(progress, "figures", 2, steps, "vowel space")
    points = _formant_points(analysed)
    if points:
        figs.vowel_space = _rel(vowel_space_figure(points, measured, references, out / "vowel_space.svg"), report_dir)
    report(progress, "figures", 3, steps, "misclassification cards")
    figs.cards, figs.n_errors = _cards(data, out, report_dir, figs.confusion_pairs, progress)
    _remove_stale_cards(out, {c["figure"] for c in figs.cards})
    report(progress, "figures", steps, steps, "done")
    return figs


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _formant_points(tokens: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    by_class: dict[str, list[tuple[float, float]]] = {}
    for t in tokens:
        if t.get("kind", "vowel") != "vowel":
            continue
        f1, f2 = as_float(t.get("f1_50")), as_float(t.get("f2_50"))
        if f1 == f1 and f2 == f2:
            by_class.setdefault(t["phone"], []).append((f1, f2))
    return {c: (np.array([p[0] for p in v]), np.array([p[1] for p in v])) for c, v in sorted(by_class.items())}


def _cards(
    data: ReportData, out: Path, report_dir: Path, pairs: list[dict[str, Any]], progress: Optional[ProgressCallback]
) -> tuple[list[dict[str, Any]], int]:
    if not data.predictions:
        return [], 0
    rows, _ = evaluation_rows(data.predictions)
    errors = [r for r in rows if r.get("correct") not in ("1", "1.0", "True", "true")]
    if data.cams is not None:
        errors = [r for r in errors if r["token_id"] in data.cams.row_of]
    chosen = select_gallery(errors, pairs, data.settings.report.gallery_size)
    tracks = read_tracks(data.run.path(TRACKS), [row["token_id"] for row, _ in chosen])
    cards = []
    for i, (row, why) in enumerate(chosen, start=1):
        report(progress, "cards", i - 1, len(chosen), row["token_id"])
        token = data.by_id.get(row["token_id"])
        if token is None:
            log.warning("predictions.csv names token %s that tokens.csv lacks; card skipped", row["token_id"])
            continue
        figure = None
        inputs = card_inputs(data, token, row)
        if inputs is not None:
            figure = _rel(
                card_figure(with_track(inputs, tracks.get(row["token_id"])), out / f"card-{i:02d}.png"), report_dir
            )
        cards.append(_card_context(data, token, row, why, figure))
    report(progress, "cards", len(chosen), len(chosen), "")
    return cards, len(errors)


def _card_context(
    data: ReportData, token: dict[str, Any], row: dict[str, str], why: str, figure: Optional[str]
) -> dict[str, Any]:
    probs = sorted(((k[2:], as_float(v)) for k, v in row.items() if k.startswith("p_")), key=lambda kv: -kv[1])
    return {
        "figure": figure,
        "why": why,
        "token": token,
        "true": ipa_label(row["true"]),
        "predicted": ipa_label(row["predicted"]),
        "prob_true": as_float(row.get("prob_true")),
        "prob_predicted": as_float(row.get("prob_predicted")),
        "top": [(ipa_label(k), p) for k, p in probs[:3]],
        "context": [
            ipa_label(token.get("prev_phone") or "") or "#",
            ipa_label(token["phone"]),
            ipa_label(token.get("next_phone") or "") or "#",
        ],
        "formants": {p: [as_float(token.get(f"f{k}_{p}")) for k in (1, 2, 3)] for p in (20, 50, 80)},
    }


def _remove_stale_cards(out: Path, kept: set[Optional[str]]) -> None:
    names = {Path(k).name for k in kept if k}
    for path in out.glob("card-*.png"):
        if path.name not in names:
            path.unlink()
