"""The report's per-speaker view: a table of speakers, per-vowel tables per speaker group and normalised vowel
spaces per group, in the normaliser the registry names for the report
(:data:`vowelcam.measure.formant_normalisers.REPORTED`, Lobanov z-scores: men, women and children become
comparable, where raw Hz pools vocal-tract sizes).

Accuracy intervals: per speaker, the unit resampled is the **recording** (a cluster bootstrap over the speaker's
recordings with held-out tokens; a Wilson interval over tokens when they come from one recording, said as such);
per group and vowel, the unit is the **speaker** (:func:`vowelcam.intervals.resampling_clusters`). Names are
passed to the template as written; Jinja2's autoescaping shows them literally, never as markup.
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import median
from typing import Any, Optional

import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure

from ..corpus.labels import ipa_label
from ..intervals import cluster_bootstrap_mean, resampling_clusters, wilson_interval
from ..measure.formant_normalisers import REPORTED
from ..measure.speaker_normalisation import add_normalised
from ..rundir import as_float
from ..tokens import normalised_column
from .data import ReportData
from .plots import halo, save, style, vowel_colours
from .stats import Estimate, evaluation_rows

FIGURE = f"vowel_space_{REPORTED.name}.svg"
UNKNOWN = "unknown"


def speaker_section(data: ReportData, report_dir: Path) -> dict[str, Any]:
    """Everything the speakers partial shows: the table, per-group vowel tables and the normalised figure."""
    vowels = [t for t in data.tokens if t.get("kind", "vowel") == "vowel"]
    if not any(_has(t, 1) for t in vowels):
        vowels = add_normalised(vowels)  # a run extracted before the columns existed (or without them filled)
    held_out = {r["token_id"]: r for r in evaluation_rows(data.predictions or [])[0]}
    n_boot = data.settings.cam.bootstrap
    figure = normalised_space_figure(vowels, report_dir / "figures" / FIGURE)
    return {
        "speakers": speaker_rows(vowels, held_out, n_boot),
        "groups": group_vowel_tables(vowels, held_out, n_boot),
        "figure": figure.relative_to(report_dir).as_posix() if figure else None,
        "normaliser": {"title": REPORTED.title, "unit": REPORTED.unit, "description": Markup(REPORTED.description)},
    }


def speaker_rows(vowels: list[dict[str, Any]], held_out: dict[str, dict], n_boot: int = 1000) -> list[dict[str, Any]]:
    """One row per speaker: group, vowel tokens, recordings, held-out tokens, accuracy [95 %] and its unit,
    median F0 (Hz) over the speaker's vowel tokens."""
    rows = []
    for speaker, tokens in _by(vowels, "speaker").items():
        evaluated = [t for t in tokens if t["token_id"] in held_out]
        f0 = [as_float(t.get("f0")) for t in tokens if as_float(t.get("f0")) == as_float(t.get("f0"))]
        accuracy, unit = speaker_accuracy(evaluated, held_out, n_boot)
        rows.append(
            {
                "speaker": speaker,
                "group": tokens[0].get("group") or UNKNOWN,
                "n_tokens": len(tokens),
                "n_recordings": len({t["file"] for t in tokens}),
                "n_evaluated": len(evaluated),
                "accuracy": accuracy,
                "unit": unit,
                "median_f0": median(f0) if f0 else math.nan,
            }
        )
    return sorted(rows, key=lambda r: (r["group"], r["speaker"]))


def speaker_accuracy(evaluated: list[dict[str, Any]], held_out: dict[str, dict], n_boot: int) -> tuple[Estimate, str]:
    """Share of one speaker's held-out tokens classified correctly, with its interval and unit."""
    if not evaluated:
        return Estimate(math.nan, math.nan, math.nan, 0), ""
    correct = [_correct(held_out[t["token_id"]]) for t in evaluated]
    recordings = [t["file"] for t in evaluated]
    if len(set(recordings)) >= 2:
        mean, lo, hi, n, _ = cluster_bootstrap_mean(correct, recordings, n_boot=n_boot, seed=0)
        return Estimate(mean, lo, hi, n), "recordings"
    lo, hi = wilson_interval(int(sum(correct)), len(correct))
    return Estimate(sum(correct) / len(correct), lo, hi, len(correct)), "tokens (one recording)"


def group_vowel_tables(
    vowels: list[dict[str, Any]], held_out: dict[str, dict], n_boot: int = 1000
) -> list[dict[str, Any]]:
    """Per speaker group, one row per vowel: tokens, speakers, median F1–F3 at 50 % (Hz), mean normalised
    F1/F2 (:data:`REPORTED`), accuracy of its held-out tokens with a speaker-bootstrap interval."""
    tables = []
    for group, tokens in sorted(_by(vowels, "group", UNKNOWN).items()):
        rows = []
        for vowel, mine in sorted(_by(tokens, "phone").items()):
            evaluated = [t for t in mine if t["token_id"] in held_out]
            clusters, unit = resampling_clusters([t["speaker"] for t in evaluated], [t["file"] for t in evaluated])
            correct = [_correct(held_out[t["token_id"]]) for t in evaluated]
            mean, lo, hi, n, _ = cluster_bootstrap_mean(correct, clusters, n_boot=n_boot, seed=0)
            rows.append(
                {
                    "vowel": vowel,
                    "label": ipa_label(vowel),
                    "n": len(mine),
                    "speakers": len({t["speaker"] for t in mine}),
                    "median": [_median(mine, f"f{k}_50") for k in (1, 2, 3)],
                    "normalised": [_mean(mine, normalised_column(k, 50, REPORTED.name)) for k in (1, 2)],
                    "accuracy": Estimate(mean, lo, hi, n),
                    "unit": unit if evaluated else "",
                }
            )
        tables.append({"group": group, "rows": rows, "n_speakers": len({t["speaker"] for t in tokens})})
    return tables


def normalised_space_figure(vowels: list[dict[str, Any]], path: Path) -> Optional[Path]:
    """One F2 × F1 panel per speaker group in the reported normaliser's units (axes reversed, as in the raw
    chart): token dots and bold class means. None when no token has normalised F1 and F2."""
    groups = {g: ts for g, ts in sorted(_by(vowels, "group", UNKNOWN).items()) if any(_has(t, 1) for t in ts)}
    if not groups:
        return None
    classes = sorted({t["phone"] for ts in groups.values() for t in ts})
    colours = dict(zip(classes, vowel_colours(len(classes))))
    with style():
        fig = Figure(figsize=(3.1 * len(groups) + 0.4, 3.3))
        axes = np.atleast_1d(fig.subplots(1, len(groups), sharex=True, sharey=True))
        for ax, (group, tokens) in zip(axes, groups.items()):
            _space_panel(ax, tokens, colours)
            ax.set_title(f"{group} ({len({t['speaker'] for t in tokens})} speakers)", loc="left")
        axes[0].invert_xaxis()
        axes[0].invert_yaxis()
        axes[0].set_ylabel(f"F1 ({REPORTED.title} {REPORTED.unit})")
        for ax in axes:
            ax.set_xlabel(f"F2 ({REPORTED.title} {REPORTED.unit})")
        return save(fig, path)


def _space_panel(ax, tokens: list[dict[str, Any]], colours: dict[str, Any]) -> None:
    for vowel, mine in sorted(_by(tokens, "phone").items()):
        f1 = np.array([_normalised(t, 1) for t in mine])
        f2 = np.array([_normalised(t, 2) for t in mine])
        ok = np.isfinite(f1) & np.isfinite(f2)
        if not ok.any():
            continue
        ax.scatter(f2[ok], f1[ok], s=5, color=colours[vowel], alpha=0.35, lw=0, rasterized=True)
        ax.text(
            float(f2[ok].mean()),
            float(f1[ok].mean()),
            ipa_label(vowel),
            color=colours[vowel],
            fontsize=10,
            fontweight="bold",
            ha="center",
            va="center",
            path_effects=[halo()],
        )
    ax.grid(color="#e4e7eb", lw=0.5)
    ax.set_axisbelow(True)


def _normalised(token: dict[str, Any], formant: int) -> float:
    return as_float(token.get(normalised_column(formant, 50, REPORTED.name)))


def _has(token: dict[str, Any], formant: int) -> bool:
    value = _normalised(token, formant)
    return value == value


def _by(tokens: list[dict[str, Any]], key: str, empty: str = "") -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for t in tokens:
        out.setdefault(str(t.get(key) or empty), []).append(t)
    return out


def _correct(prediction: dict[str, str]) -> float:
    return 1.0 if str(prediction.get("correct", "")).strip() in ("1", "1.0", "True", "true") else 0.0


def _median(tokens: list[dict[str, Any]], column: str) -> float:
    values = [as_float(t.get(column)) for t in tokens]
    values = [v for v in values if v == v]
    return median(values) if values else math.nan


def _mean(tokens: list[dict[str, Any]], column: str) -> float:
    values = [as_float(t.get(column)) for t in tokens]
    values = [v for v in values if v == v]
    return sum(values) / len(values) if values else math.nan
