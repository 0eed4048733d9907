"""Other TextGrid tiers carried into ``tokens.csv`` as columns (``--carry-tier NAME`` -> column ``tier_NAME``).

For an interval tier the value is the label of the interval that contains the token's midpoint (a style,
utterance or speaker-turn tier); for a point tier, the marks of the points inside the token, joined by ``" | "``.
A tier missing from a file gives one ``problems.csv`` row for that file and empty values; the tokens are kept.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..corpus.textgrids import TextGrid, Tier
from ..errors import DataProblem
from ..tokens import carried_tier_column

POINT_JOIN = " | "


def carried_values(
    grid: TextGrid, spans: Iterable[tuple[str, int, float, float]], names: Sequence[str], path: str | Path
) -> tuple[dict[tuple[str, int], dict[str, str]], list[DataProblem]]:
    """``{(tier, interval): {column: value}}`` for token spans ``(tier, interval, start, end)``, plus problems."""
    problems = []
    tiers: dict[str, Tier | None] = {}
    for name in names:
        tiers[name] = grid.tier(name)
        if tiers[name] is None:
            problems.append(
                DataProblem(
                    path,
                    "carry tier missing",
                    f"no tier {name!r}; column {carried_tier_column(name)} left empty",
                    tier=name,
                )
            )
    starts = {name: [iv.start for iv in t.intervals] for name, t in tiers.items() if t is not None}
    out: dict[tuple[str, int], dict[str, str]] = {}
    for tier, interval, start, end in spans:
        out[(tier, interval)] = {
            carried_tier_column(n): value_at(t, start, end, starts[n]) if t is not None else ""
            for n, t in tiers.items()
        }
    return out, problems


def value_at(tier: Tier, start: float, end: float, starts: Sequence[float] | None = None) -> str:
    """The label of ``tier`` for a token spanning ``start``..``end`` (see the module's rules); ``starts``: the
    tier's interval starts, when the caller looks up many tokens (computed here otherwise)."""
    if tier.is_point:
        return POINT_JOIN.join(p.text for p in tier.intervals if start <= p.start <= end)
    mid = (start + end) / 2
    starts = [iv.start for iv in tier.intervals] if starts is None else starts
    i = bisect.bisect_right(starts, mid) - 1
    if 0 <= i < len(tier.intervals) and tier.intervals[i].start <= mid <= tier.intervals[i].end:
        return tier.intervals[i].text
    return ""
