"""Has the model learned a vowel? The gate before any of its decisions about that vowel is explained.

An explanation of a decision the model does not reliably make explains nothing: an untrained network's band
occlusion is as consistent across speakers as a trained one's (its random features respond to the same formant
structure in every speaker's tokens), so the speaker-level sign-flip test alone cannot tell it from a learned cue.
A verdict cell is therefore read only when the model, on the held-out tokens it explains, tells the vowel from
the others above chance, speaker by speaker.

The measure is **informedness** (Youden's J; Powers 2011) of each speaker's held-out tokens: the share of the
vowel's tokens predicted as the vowel minus the share of the speaker's *other* tokens predicted as it. Unlike
recall it is 0 for a model that calls every token the same vowel, and for any model that ignores the input. A
vowel is **learned** when the speakers' J values pass the one-sided sign-flip test
(:func:`~vowelcam.explain.readings.speaker_tests.sign_flip_pvalue`) at
:data:`~vowelcam.explain.readings.speaker_tests.ALPHA`; ``ALL`` uses each speaker's mean J over the vowels it
has (macro informedness). The predictions are those of the model being read (recomputed by the verdict pass),
never a possibly stale ``predictions.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...intervals import resampling_clusters
from .speaker_tests import ALPHA, sign_flip_pvalue

ALL = "ALL"


def speaker_informedness(
    truth: Sequence[str], predicted: Sequence[str], speakers: Sequence[str], vowel: str
) -> dict[str, float]:
    """Each speaker's informedness for ``vowel`` (speakers without tokens of it, or with no other tokens, are left
    out: J needs both)."""
    truth_a, pred_a, spk_a = (np.asarray([str(v) for v in a], dtype=object) for a in (truth, predicted, speakers))
    out: dict[str, float] = {}
    for speaker in sorted(set(spk_a)):
        own = spk_a == speaker
        is_vowel, called = truth_a[own] == vowel, pred_a[own] == vowel
        if is_vowel.any() and (~is_vowel).any():
            out[speaker] = float(called[is_vowel].mean() - called[~is_vowel].mean())
    return out


def learned_table(rows: Sequence[Mapping[str, Any]], seed: int = 0) -> dict[str, tuple[float, float]]:
    """``{vowel or "ALL": (mean J over speakers, sign-flip p)}`` from token rows with ``vowel`` (the truth),
        ``predicted``, ``speaker`` and ``file``, the units being those of the verdicts (speakers; recordings for one
    speaker). NaN where no unit has a J."""
    unique = {str(r["token_id"]): r for r in rows} if rows and "token_id" in rows[0] else dict(enumerate(rows))
    tokens = list(unique.values())
    truth = [str(r["vowel"]) for r in tokens]
    predicted = [str(r.get("predicted") or "") for r in tokens]
    names = [str(r.get("speaker") or "") for r in tokens]
    speakers, _ = resampling_clusters(names, [str(r.get("file") or "") for r in tokens])
    per_vowel = {v: speaker_informedness(truth, predicted, speakers, v) for v in sorted(set(truth))}
    table = {v: _summary(list(js.values()), seed) for v, js in per_vowel.items()}
    macro: dict[str, list[float]] = {}
    for js in per_vowel.values():
        for speaker, j in js.items():
            macro.setdefault(speaker, []).append(j)
    table[ALL] = _summary([float(np.mean(js)) for js in macro.values()], seed)
    return table


def is_learned(entry: tuple[float, float] | None) -> bool:
    """True when the informedness test of a cell (from :func:`learned_table`) is below :data:`ALPHA`."""
    return entry is not None and np.isfinite(entry[1]) and entry[1] < ALPHA


def _summary(values: list[float], seed: int) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return float(np.mean(values)), sign_flip_pvalue(values, seed)
