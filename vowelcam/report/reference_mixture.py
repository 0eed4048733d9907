"""Reference formant values for the report: the published means and SDs by vowel and speaker group
(:func:`vowelcam.corpus.published_formants.load_reference`), mixed in the proportions of the run's own speakers."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional

from ..corpus.published_formants import load_reference
from ..tokens import normalise_group

CITATIONS = {
    "h95": "Hillenbrand, Getty, Clark & Wheeler (1995), J. Acoust. Soc. Am. 97(5), 3099–3111",
    "pb52": "Peterson & Barney (1952), J. Acoust. Soc. Am. 24(2), 175–184",
}


@dataclass(frozen=True)
class Reference:
    """Reference F1–F3 of one vowel for a mix of speaker groups (mean and SD of the mixture, Hz)."""

    vowel: str
    means: tuple[float, float, float]
    sds: tuple[float, float, float]
    groups: str  # e.g. "men 45 %, women 55 %"


def references_for(tokens: Iterable[dict[str, Any]], source: str) -> dict[str, Reference]:
    """Per vowel class in ``tokens``, the reference for the speaker groups of those tokens.

    Tokens of unknown group count as half men, half women (stated in :attr:`Reference.groups`).
    """
    table = {(vowel, _group(group)): values for (vowel, group), values in load_reference(source).items()}
    groups_by_vowel: dict[str, Counter] = {}
    for t in tokens:
        groups_by_vowel.setdefault(t["phone"], Counter())[_group(str(t.get("group", "")))] += 1
    out = {}
    for vowel, counts in groups_by_vowel.items():
        ref = _mixture(vowel, counts, table)
        if ref is not None:
            out[vowel] = ref
    return out


def _group(text: str) -> str:
    """men / women / children from the spellings corpora use; other text kept, lower-cased."""
    return normalise_group(text, keep_unknown=True)


def _mixture(vowel: str, counts: Counter, table: dict[tuple[str, str], dict[str, float]]) -> Optional[Reference]:
    weights: Counter = Counter()
    for group, n in counts.items():
        if (vowel, group) in table:
            weights[group] += n
        else:  # unknown group: split between the adult groups
            for adult in ("men", "women"):
                if (vowel, adult) in table:
                    weights[adult] += n / 2
    total = sum(weights.values())
    if total == 0:
        return None
    means, sds = [], []
    for k in (1, 2, 3):
        mu = sum(w * table[(vowel, g)][f"f{k}_mean"] for g, w in weights.items()) / total
        second = sum(
            w * (table[(vowel, g)][f"f{k}_sd"] ** 2 + table[(vowel, g)][f"f{k}_mean"] ** 2) for g, w in weights.items()
        )
        means.append(mu)
        sds.append(math.sqrt(max(second / total - mu * mu, 0.0)))
    label = ", ".join(f"{g} {100 * w / total:.0f} %" for g, w in sorted(weights.items()))
    return Reference(vowel, (means[0], means[1], means[2]), (sds[0], sds[1], sds[2]), label)
