"""The report's figures: confusion matrix, per-vowel CAM frequency profiles, vowel space.

Headless by construction: figures are made with :class:`matplotlib.figure.Figure` and its Agg/SVG canvases,
never through ``pyplot``, so no GUI backend is ever selected and the caller's pyplot state is untouched.
Figures are written atomically (SVG with text as paths, dense scatter layers rasterised at 200 dpi).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse
from matplotlib.text import Text

from ..corpus.labels import ipa_label, to_ipa
from ..rundir import atomic_path
from .reference_mixture import Reference
from .stats import Estimate, Profile

DPI = 200
INK = "#1f2933"
MEASURED = "#c2410c"  # measured formants
REFERENCE = "#475569"  # reference formants
ACCENT = "#1d4ed8"
BASELINE = "#94a3b8"  # the energy baseline under CAM profiles
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "axes.edgecolor": "#9aa5b1",
    "axes.linewidth": 0.6,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.major.width": 0.5,
    "ytick.major.width": 0.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "vowelcam",  # deterministic SVG ids
    "figure.dpi": DPI,
}


@contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib style, applied only inside the block."""
    with matplotlib.rc_context(STYLE):
        yield


def save(fig: Figure, path: Path, tight: bool = True) -> Path:
    """Write ``fig`` atomically as SVG or PNG (by suffix) and return the path.

    ``tight`` crops to the drawn content (one extra draw); figures laid out by hand pass False.
    """
    with atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(
            tmp,
            format=path.suffix.lstrip("."),
            dpi=DPI,
            bbox_inches="tight" if tight else None,
            pad_inches=0.04,
            metadata={"Date": None} if path.suffix == ".svg" else None,
        )
    return path


CELL_PT = 8.0  # confusion numbers and ticks: the figure is shown at its own size, so this is the printed size
TWO_LINES_UP_TO, NUMBERS_UP_TO = 12, 18  # classes: "% (count)" in each cell; % only; beyond: the table


def confusion_figure(cm: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    """Row-normalised confusion matrix (% of the true class), drawn at the size the report prints it (so the
    numbers are 8 pt on paper): the count under the share up to 12 classes, the share alone up to 18, no numbers
    beyond (the report then prints the matrix as a table)."""
    n = len(labels)
    with style():
        side = min(5.4, 1.3 + 0.36 * n)
        fig = Figure(figsize=(side + 0.7, side))
        ax = fig.add_subplot()
        totals = cm.sum(axis=1, keepdims=True)
        share = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
        image = ax.imshow(share * 100, cmap="Blues", vmin=0, vmax=100, aspect="equal")
        for i, j in zip(*np.nonzero(cm)) if n <= NUMBERS_UP_TO else ():
            text = f"{share[i, j] * 100:.0f}" + (f"\n({cm[i, j]})" if n <= TWO_LINES_UP_TO else "")
            colour = "white" if share[i, j] > 0.55 else INK
            ax.text(j, i, text, ha="center", va="center", fontsize=CELL_PT, color=colour, linespacing=0.95)
        ticks = [ipa_label(label) for label in labels]
        ax.set_xticks(range(n), ticks, rotation=60, ha="right", rotation_mode="anchor", fontsize=CELL_PT)
        ax.set_yticks(range(n), ticks, fontsize=CELL_PT)
        ax.set_xlabel("predicted class", fontsize=CELL_PT)
        ax.set_ylabel("true class", fontsize=CELL_PT)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        bar.set_label("% of the true class", fontsize=CELL_PT)
        bar.ax.tick_params(labelsize=CELL_PT)
        bar.outline.set_visible(False)
        return save(fig, path)


def profile_figure(
    profiles: Mapping[str, Profile],
    measured: Mapping[str, Mapping[str, Estimate]],
    references: Mapping[str, Reference],
    path: Path,
    hz_per_row: float,
    baselines: Optional[Mapping[str, Profile]] = None,
) -> Path:
    """Small multiples: per vowel, mean share of CAM mass per Hz row (95 % band) with F1–F3 marked, drawn over
    the mean energy-baseline profile of the same tokens (grey) when ``baselines`` are given."""
    baselines = baselines or {}
    labels = list(profiles)
    cols = 3 if len(labels) > 4 else max(1, len(labels))
    rows = math.ceil(len(labels) / cols)
    with style():
        fig = Figure(figsize=(6.8, 1.9 * rows + 0.5))
        axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
        for ax, label in zip(axes.flat, labels):
            _profile_panel(
                ax, profiles[label], measured.get(label, {}), references.get(label), label, baselines.get(label)
            )
        for ax in list(axes.flat)[len(labels) :]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("frequency (Hz)")
        for ax in axes[:, 0]:
            ax.set_ylabel("% of CAM mass per row")
        handles = [
            Line2D([], [], color=ACCENT, lw=1.2, label="mean CAM profile (95 % band)"),
            *([Line2D([], [], color=BASELINE, lw=1.2, label="energy baseline (95 % band)")] if baselines else []),
            Line2D([], [], color=MEASURED, lw=1, label="measured F1–F3 (mean)"),
            Line2D([], [], color=REFERENCE, lw=1, ls=(0, (3, 2)), label="reference F1–F3"),
            Line2D([], [], color="#9aa5b1", lw=0.8, ls=":", label="uniform share"),
        ]
        fig.legend(
            handles=handles,
            loc="upper center",
            ncols=len(handles) if len(handles) <= 4 else 3,
            bbox_to_anchor=(0.5, 1.0),
        )
        fig.suptitle(f"CAM resolution {hz_per_row:.1f} Hz per row", y=0.0, va="top", fontsize=7, color=REFERENCE)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        return save(fig, path)


def _profile_panel(
    ax,
    profile: Profile,
    measured: Mapping[str, Estimate],
    reference: Optional[Reference],
    label: str,
    baseline: Optional[Profile] = None,
) -> None:
    freqs = profile.freqs
    if baseline is not None:  # under the CAM: what a map that only follows energy would show
        ax.fill_between(freqs, baseline.lo * 100, baseline.hi * 100, color=BASELINE, alpha=0.25, lw=0)
        ax.plot(freqs, baseline.mean * 100, color=BASELINE, lw=1.0)
    ax.fill_between(freqs, profile.lo * 100, profile.hi * 100, color=ACCENT, alpha=0.18, lw=0)
    ax.plot(freqs, profile.mean * 100, color=ACCENT, lw=1.1)
    ax.axhline(100 / len(freqs), color="#9aa5b1", lw=0.8, ls=":")
    for k in (1, 2, 3):
        est = measured.get(f"f{k}")
        if est is not None and est.value == est.value:
            ax.axvline(est.value, color=MEASURED, lw=0.9)
            ax.text(est.value, 1.0, f" F{k}", transform=ax.get_xaxis_transform(), fontsize=6, color=MEASURED, va="top")
        if reference is not None:
            ax.axvline(reference.means[k - 1], color=REFERENCE, lw=0.9, ls=(0, (3, 2)))
    ax.set_title(f"{ipa_label(label)}   n = {profile.n}", loc="left")
    ax.set_xlim(freqs[0], freqs[-1])
    peak = float(np.nanmax(profile.mean)) * 100
    upper = float(np.nanmax(profile.hi)) * 100 if np.isfinite(profile.hi).any() else peak
    if baseline is not None:
        peak = max(peak, float(np.nanmax(baseline.mean)) * 100)
        upper = max(upper, float(np.nanmax(baseline.mean)) * 100)
    ax.set_ylim(0, max(min(upper, 2 * peak), 100 / len(freqs)) * 1.08)  # a wild interval must not flatten the mean
    ax.spines[["top", "right"]].set_visible(False)


def vowel_space_figure(
    points: Mapping[str, tuple[np.ndarray, np.ndarray]],
    measured: Mapping[str, Mapping[str, Estimate]],
    references: Mapping[str, Reference],
    path: Path,
) -> Path:
    """F2 × F1 chart, both axes reversed (front vowels left, open vowels low): measured tokens at 50 % over
    reference ±2 SD ellipses (axis-aligned: the published tables give SDs, not covariances)."""
    colours = vowel_colours(len(points))
    with style():
        fig = Figure(figsize=(6.3, 4.6))
        ax = fig.add_subplot()
        texts: list = []
        for i, (label, (f1, f2)) in enumerate(points.items()):
            colour = colours[i]
            ax.scatter(f2, f1, s=6, color=colour, alpha=_dot_alpha(len(f1)), lw=0, rasterized=True)
            ref = references.get(label)
            if ref is not None:
                ax.add_patch(
                    Ellipse(
                        (ref.means[1], ref.means[0]),
                        4 * ref.sds[1],
                        4 * ref.sds[0],
                        fill=False,
                        ec=colour,
                        lw=1.0,
                        ls=(0, (4, 2)),
                    )
                )
                texts.append(_label(ax, (ref.means[1], ref.means[0]), to_ipa(label), REFERENCE, 8))
            m = measured.get(label, {})
            if "f1" in m and m["f1"].value == m["f1"].value and m["f2"].value == m["f2"].value:
                at = (m["f2"].value, m["f1"].value)
                texts.append(_label(ax, at, to_ipa(label), _darker(colour), 11, fontweight="bold"))
        ax.invert_xaxis()
        ax.invert_yaxis()
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.yaxis.tick_right()
        ax.yaxis.set_label_position("right")
        ax.set_xlabel("F2 (Hz)")
        ax.set_ylabel("F1 (Hz)")
        ax.grid(color="#e4e7eb", lw=0.5)
        ax.set_axisbelow(True)
        spread_labels(fig, texts)
        return save(fig, path)


def _label(ax, at: tuple[float, float], text: str, colour, size: float, **kwargs):
    """A label centred on ``at`` that :func:`spread_labels` may move off it (a thin leader line then shows where
    it belongs)."""
    return ax.annotate(
        text,
        at,
        xytext=(0, 0),
        textcoords="offset points",
        color=colour,
        fontsize=size,
        ha="center",
        va="center",
        path_effects=[halo()],
        arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.5, "shrinkA": 1, "shrinkB": 0},
        **kwargs,
    )


def spread_labels(fig: Figure, texts: Sequence, rounds: int = 200, pad_px: float = 2.0) -> int:
    """Move overlapping labels (annotations in offset points) apart until none overlap; returns how many moved.

    Each round pushes every overlapping pair apart along the axis where they overlap less, half each, so labels
    that sit alone stay on their point."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    to_points = 72.0 / fig.dpi
    for _ in range(rounds):
        boxes = [_text_box(t, renderer).padded(pad_px) for t in texts]
        pushes = np.zeros((len(texts), 2))
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                push = _overlap_push(boxes[i], boxes[j])
                pushes[i] -= push
                pushes[j] += push
        if not pushes.any():
            break
        for text, (dx, dy) in zip(texts, pushes):
            x, y = text.xyann
            text.xyann = (x + dx * to_points, y + dy * to_points)
    return sum(bool(np.hypot(*t.xyann) > 0.5) for t in texts)


def _text_box(annotation, renderer):
    """The window box of an annotation's text alone (not its leader line), at its current offset."""
    annotation.update_positions(renderer)
    return Text.get_window_extent(annotation, renderer)


def _overlap_push(a, b) -> np.ndarray:
    """How far (px) ``b`` must move from ``a`` (and ``a`` the opposite way) to end their overlap, half each."""
    ox = min(a.x1, b.x1) - max(a.x0, b.x0)
    oy = min(a.y1, b.y1) - max(a.y0, b.y0)
    if ox <= 0 or oy <= 0:
        return np.zeros(2)
    sx = 1.0 if (b.x0 + b.x1) >= (a.x0 + a.x1) else -1.0
    sy = 1.0 if (b.y0 + b.y1) >= (a.y0 + a.y1) else -1.0
    return np.array([sx * (ox / 2 + 0.5), 0.0]) if ox < oy else np.array([0.0, sy * (oy / 2 + 0.5)])


def vowel_colours(n: int) -> list[tuple[float, ...]]:
    """``n`` distinct colours: tab10's strong hues first, then tab20's light ones, then repeating."""
    strong = [matplotlib.colormaps["tab10"](i) for i in range(10)]
    light = [matplotlib.colormaps["tab20"](2 * i + 1) for i in range(10)]
    pool = strong + light
    return [pool[i % len(pool)] for i in range(n)]


def _darker(colour: tuple[float, ...], amount: float = 0.35) -> tuple[float, ...]:
    return tuple(c * (1 - amount) for c in colour[:3])


def _dot_alpha(n: int) -> float:
    """Opaque enough to see a few tokens, light enough that thousands still show their density."""
    return float(min(0.7, max(0.08, 6.0 / max(n, 1) ** 0.5)))


def halo():
    """A white outline that keeps labels legible over data."""
    from matplotlib import patheffects

    return patheffects.withStroke(linewidth=2.2, foreground="white")
