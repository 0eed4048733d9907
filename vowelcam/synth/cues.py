"""Single-cue corpora: vowel classes that differ in one acoustic cue only, the ground truth that calibrates the
explanation instruments (``vowelcam synth --cue``, ``vowelcam calibrate``).

With a cue, every class of the corpus is drawn from the *same* targets except the cue:

- ``f1`` / ``f2`` / ``f3``: that formant keeps each vowel's published mean and spread (per speaker group); every
  other formant, F0 and the duration are the mean over the corpus's vowels, for every class alike.
- ``duration``: all formants, F0 alike; the classes' mean durations are spread geometrically over
  :data:`DURATION_RANGE` times the vowels' mean duration (two classes: 0.7x and 1.4x).
- ``f0``: all formants and durations alike; the classes' intrinsic F0 is spread over :data:`F0_RANGE`.

Everything else that could carry a class is made alike too: every class has the same (flat) offglide and draws its
CVC words from the same consonant frames, so that neither coarticulation nor vowel-inherent spectral change can
tell the classes apart. What remains is the cue and the speaker and token variation that all classes share.
"""

from __future__ import annotations

import math

from ..corpus.published_formants import ReferenceTable
from ..errors import ConfigError

FORMANT_CUES = ("f1", "f2", "f3")
SPECTRAL_FREE_CUES = ("duration", "f0")
CUES = (*FORMANT_CUES, *SPECTRAL_FREE_CUES)
DURATION_RANGE = (0.7, 1.4)
F0_RANGE = (0.85, 1.18)
_MEASURES = ("f0", "f1", "f2", "f3", "dur")


def check_cue(cue: str) -> str:
    """The canonical cue name ('' = natural vowels); :class:`ConfigError` for anything else."""
    name = (cue or "").strip().lower()
    if name and name not in CUES:
        raise ConfigError(f"unknown cue {cue!r}; choose one of {', '.join(CUES)}")
    return name


def cue_reference(
    reference: ReferenceTable, vowels: tuple[str, ...], groups: tuple[str, ...], cue: str
) -> ReferenceTable:
    """A reference table for ``vowels`` x ``groups`` in which the classes differ in ``cue`` only (see the module
    docstring); the input table is not changed."""
    cue = check_cue(cue)
    if len(vowels) < 2:
        raise ConfigError("a single-cue corpus needs at least two vowels (--vowels)")
    out: ReferenceTable = {}
    for group in groups:
        cells = {v: reference[(v, group)] for v in vowels}
        shared = {
            f"{m}_{s}": _mean([c.get(f"{m}_{s}") for c in cells.values()]) for m in _MEASURES for s in ("mean", "sd")
        }
        for rank, vowel in enumerate(vowels):
            cell = {k: v for k, v in shared.items() if math.isfinite(v)}
            cell["n"] = cells[vowel].get("n", 0.0)
            if cue in FORMANT_CUES:
                cell[f"{cue}_mean"], cell[f"{cue}_sd"] = cells[vowel][f"{cue}_mean"], cells[vowel][f"{cue}_sd"]
            elif cue == "duration":
                cell["dur_mean"] = shared["dur_mean"] * _spread(rank, len(vowels), DURATION_RANGE)
            elif cue == "f0":
                cell["f0_mean"] = shared["f0_mean"] * _spread(rank, len(vowels), F0_RANGE)
            out[(vowel, group)] = cell
    return out


def _spread(rank: int, n: int, bounds: tuple[float, float]) -> float:
    """The ``rank``-th of ``n`` factors spaced geometrically from ``bounds[0]`` to ``bounds[1]``."""
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    return math.exp(lo + (hi - lo) * rank / max(n - 1, 1))


def _mean(values: list[float | None]) -> float:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(finite) / len(finite) if finite else math.nan


def shared_cvc_frames(
    cvc_words: dict[str, tuple[tuple[str, str, str, str], ...]], vowels: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The (onset, coda) frames of every vowel's CVC words, one list for all classes (sorted, no repeats)."""
    return sorted({(onset, coda) for v in vowels for _, onset, _, coda in cvc_words[v]})
