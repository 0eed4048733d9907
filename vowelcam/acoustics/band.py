"""What a recording's band can hold: formant analyses that follow the sample rate (pure arithmetic, no Praat).

A formant ceiling ``C`` analysed with ``N`` formants (5.5 by default) stands for a vocal tract whose formants
are spaced about ``C / N`` apart. When ``C`` lies above what the recording holds, the analysis keeps that
spacing and stops at the band: it runs up to a top frequency ``T <= band edge`` with ``N * T / C`` formants,
rounded down to Praat's half-formant steps (Praat uses ``round(2 N)`` LPC poles) and ``T`` moved down so that
the spacing stays exactly ``C / N``. So an 8 kHz telephone recording of a woman (``C`` = 6000 Hz) is analysed
up to 3818 Hz with 3.5 formants, not up to 4000 Hz with 5.5 (which puts spurious poles between the real ones).

Formant ``k`` is *held* by the band when the band has room for ``k + 0.5`` formant slots of the speaker's
vocal tract (``N * edge / C >= k + 0.5``), i.e. the formant's usual range lies below the edge with half a
spacing to spare. A formant the band does not hold is reported empty, never guessed from an edge pole.

The band edge is ``band_fraction`` (0.975) of the Nyquist frequency: resampled and telephone audio roll off in
the last few per cent below Nyquist, and a ceiling inside that roll-off invites a spurious pole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import MeasureSettings

TRACKED_FORMANTS = 3  # F1–F3 are tracked, judged for smoothness and reported


@dataclass(frozen=True)
class Analysis:
    """One Burg analysis: the vocal-tract ceiling it stands for, the top frequency analysed, the formant count."""

    ceiling: float  # full-band equivalent ceiling (Hz): formants spaced ceiling / max_formants apart
    top: float  # highest frequency analysed (Hz): the ceiling, or less when the band ends below it
    formants: float  # Praat's "maximum number of formants" (half steps)

    @property
    def band_limited(self) -> bool:
        """Whether the band cut this analysis short of its ceiling."""
        return self.top < self.ceiling


def band_edge(sr: float, settings: MeasureSettings) -> float:
    """The highest frequency (Hz) a formant analysis of audio sampled at ``sr`` may use."""
    return settings.band_fraction * sr / 2.0


def analysis_for(ceiling: float, sr: float, settings: MeasureSettings) -> Analysis:
    """The Burg analysis standing for ``ceiling`` in audio sampled at ``sr`` (see the module docstring)."""
    edge = band_edge(sr, settings)
    if ceiling <= edge:
        return Analysis(float(ceiling), float(ceiling), settings.max_formants)
    formants = math.floor(2.0 * settings.max_formants * edge / ceiling + 1e-9) / 2.0
    formants = max(formants, 1.0)
    return Analysis(float(ceiling), ceiling * formants / settings.max_formants, formants)


def formant_slots(ceiling: float, sr: float, settings: MeasureSettings) -> float:
    """How many formants of a vocal tract with this ceiling fit below the band edge."""
    return settings.max_formants * band_edge(sr, settings) / ceiling


def formants_held(ceiling: float, sr: float, settings: MeasureSettings) -> int:
    """How many of F1–F3 the band holds for a speaker whose central ceiling is ``ceiling`` (0 to 3)."""
    slots = formant_slots(ceiling, sr, settings)
    return max(0, min(TRACKED_FORMANTS, math.floor(slots - 0.5 + 1e-9)))


def band_note(ceiling: float, sr: float, group: str, settings: MeasureSettings) -> str:
    """Why some formants are empty, for problems.csv (``''`` when the band holds F1–F3)."""
    held = formants_held(ceiling, sr, settings)
    if held >= TRACKED_FORMANTS:
        return ""
    empty = ", ".join(f"F{k}" for k in range(held + 1, TRACKED_FORMANTS + 1))
    who = f"a {group} vocal tract" if group else "a vocal tract of unknown group"
    return (
        f"{empty} empty: {sr:g} Hz audio (band edge {band_edge(sr, settings):.0f} Hz) holds "
        f"{formant_slots(ceiling, sr, settings):.2f} formants of {who} (ceiling {ceiling:.0f} Hz); "
        f"F{held + 1} needs {held + 1.5:g}"
    )
