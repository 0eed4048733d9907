"""Misclassification cards: one figure per chosen error, the token's spectrogram with the CAM of the true and of
the predicted class laid over it (Hz × ms), the token's interval and its measured formants at 20/50/80 %."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from ..corpus.labels import ipa_label
from .plots import MEASURED, halo, save, style

# CAM overlay: transparent below a tenth of the card's maximum (so weak maps do not veil the spectrogram),
# then a warm colour growing opaque towards the maximum.
CAM_COLOURS = LinearSegmentedColormap.from_list(
    "cam_overlay",
    [
        (0.0, (1.0, 0.85, 0.1, 0.0)),
        (0.1, (1.0, 0.8, 0.1, 0.0)),
        (0.5, (1.0, 0.55, 0.0, 0.45)),
        (1.0, (0.85, 0.1, 0.1, 0.85)),
    ],
)
SPEC_RANGE_DB = 70.0  # dynamic range shown, below the token's maximum


@dataclass(frozen=True)
class CardInputs:
    """What one card needs: the token's spectrogram and maps on the same grid."""

    spectrogram: np.ndarray  # [F, T] dB, rows = freqs
    freqs: np.ndarray  # [F] Hz
    times_ms: np.ndarray  # [T] ms relative to the token centre
    cam_true: Optional[np.ndarray]  # [F, T] raw (None when not computed)
    cam_pred: Optional[np.ndarray]
    token: dict[str, Any]
    true: str
    predicted: str
    track: Optional[dict[int, tuple[np.ndarray, np.ndarray]]] = None  # formant -> (ms re centre, Hz), tracks.csv
    title: str = ""  # a line of numbers above the panels (vowelcam show)


def card_figure(inputs: CardInputs, path: Path) -> Path:
    """Two panels (true-class and predicted-class CAM over the spectrogram), written as a 200-dpi PNG."""
    scale = _shared_scale(inputs.cam_true, inputs.cam_pred)
    title = wrap_title(inputs.title)
    extra = 0.3 + TITLE_LINE_IN * (title.count("\n")) if title else 0.0
    with style():
        fig = Figure(figsize=(6.6, 2.05 + extra))
        axes = fig.subplots(1, 2, sharey=True)
        panels = (
            (inputs.cam_true, f"CAM of the true class {ipa_label(inputs.true)}"),
            (inputs.cam_pred, f"CAM of the predicted class {ipa_label(inputs.predicted)}"),
        )
        for ax, (cam, panel_title) in zip(axes, panels):
            _panel(ax, inputs, cam, scale)
            ax.set_title(panel_title, loc="left")
            ax.set_xlabel("time re token centre (ms)")
        axes[0].set_ylabel("frequency (Hz)")
        height = 2.05 + extra
        top = 0.885
        if title:
            fig.suptitle(title, x=0.085, ha="left", fontsize=7, linespacing=1.3)
            top = 1 - (0.47 + TITLE_LINE_IN * title.count("\n")) / height
        fig.subplots_adjust(
            left=0.085, right=0.985, bottom=0.447 / height if title else 0.215, top=top, wspace=0.06
        )  # fixed: no layout passes
        return save(fig, path, tight=False)


TITLE_CHARS = 100  # of 7-pt DejaVu Sans across the card's 6.6 in, with margin
TITLE_LINE_IN = 0.13


def wrap_title(title: str, width: int = TITLE_CHARS) -> str:
    """The title broken between its " · " parts into lines of at most ``width`` characters (a part is never cut)."""
    lines: list[str] = []
    for part in title.split(" · ") if title else []:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def _shared_scale(*maps: Optional[np.ndarray]) -> float:
    """One colour scale for both panels, so their strengths compare (raw values, positive part)."""
    peaks = [float(np.max(m)) for m in maps if m is not None and m.size]
    peak = max(peaks) if peaks else 0.0
    return peak if peak > 0 else 1.0


def _panel(ax, inputs: CardInputs, cam: Optional[np.ndarray], scale: float) -> None:
    extent = (inputs.times_ms[0], inputs.times_ms[-1], inputs.freqs[0], inputs.freqs[-1])
    ax.imshow(
        overlay(inputs.spectrogram, cam, scale), origin="lower", aspect="auto", extent=extent, interpolation="nearest"
    )
    if cam is None:
        ax.text(0.5, 0.5, "CAM not computed", transform=ax.transAxes, ha="center", color="#b91c1c")
    _mark_token(ax, inputs.token)
    if inputs.track:
        draw_track(ax, inputs.track)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])


def overlay(spectrogram: np.ndarray, cam: Optional[np.ndarray], scale: float) -> np.ndarray:
    """RGB image ``[F, T, 3]``: the spectrogram in grey (dark = loud, the top ``SPEC_RANGE_DB``) with the CAM's
    positive part alpha-blended over it in warm colours (``scale`` = the value drawn fully opaque).

    Composed here in one array so each panel is a single image on the exact spectrogram grid.
    """
    top = float(np.max(spectrogram))
    level = np.clip((spectrogram - (top - SPEC_RANGE_DB)) / SPEC_RANGE_DB, 0.0, 1.0)
    grey = 1.0 - 0.92 * level
    rgb = np.repeat(grey[..., None], 3, axis=2)
    if cam is None:
        return rgb
    colours = CAM_COLOURS(np.clip(cam, 0.0, None) / scale)  # [F, T, 4], alpha in the last channel
    alpha = colours[..., 3:4]
    return (1.0 - alpha) * rgb + alpha * colours[..., :3]


def _mark_token(ax, token: dict[str, Any]) -> None:
    duration = float(token.get("duration_ms") or 0.0)
    if duration != duration or duration <= 0:
        return
    start = -duration / 2
    for edge in (start, -start):
        ax.axvline(edge, color="#0f766e", lw=0.8, ls=(0, (2, 2)))
    for pct, marker in ((20, "o"), (50, "s"), (80, "D")):
        t = start + duration * pct / 100
        for k in (1, 2, 3):
            value = token.get(f"f{k}_{pct}")
            if isinstance(value, float) and value == value:
                ax.plot(t, value, marker=marker, ms=3.2, mfc="white", mec=MEASURED, mew=0.9, ls="none")
    for k in (1, 2, 3):
        values = [token.get(f"f{k}_{p}") for p in (20, 50, 80)]
        if all(isinstance(v, float) and v == v for v in values):
            times = [start + duration * p / 100 for p in (20, 50, 80)]
            ax.plot(times, values, color=MEASURED, lw=0.7, alpha=0.9)
            ax.text(times[-1] + 4, values[-1], f"F{k}", color=MEASURED, fontsize=6, va="center", path_effects=[halo()])


def draw_track(ax, track: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
    """The token's formant tracks (tracks.csv: every 5 % at the chosen ceiling) as thin dotted lines."""
    for _, (times_ms, hz) in sorted(track.items()):
        ax.plot(times_ms, hz, color=MEASURED, lw=0.6, ls=(0, (1, 1)), alpha=0.95)
