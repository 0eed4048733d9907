"""Write Praat TextGrids in the long text format (UTF-8, quotes doubled), the one Praat and MFA write.

Used for synthetic corpora (``vowelcam synth``), for copying a TextGrid with an added prediction tier
(``vowelcam classify --write-textgrid``) and for ``vowelcam export-textgrids``; tiers are built with
:func:`interval_tier` and :func:`point_tier`; the reader in :mod:`vowelcam.corpus.textgrids` reads it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..rundir import atomic_write_text
from .textgrids import Interval, TextGrid, Tier

Mark = tuple[float, float, str]


def interval_tier(name: str, start: float, end: float, marks: Sequence[Mark]) -> Tier:
    """An interval tier covering ``[start, end]``: ``(start, end, text)`` marks, gaps filled with empty intervals,
    overlapping or out-of-range parts dropped."""
    intervals: list[Interval] = []
    cursor = start
    for s, e, text in sorted(marks):
        s, e = max(s, cursor), min(e, end)
        if e <= s:
            continue
        if s > cursor:
            intervals.append(Interval(cursor, s, "", len(intervals) + 1))
        intervals.append(Interval(s, e, text, len(intervals) + 1))
        cursor = e
    if cursor < end or not intervals:
        intervals.append(Interval(cursor, end, "", len(intervals) + 1))
    return Tier(name=name, start=start, end=end, intervals=intervals)


def point_tier(name: str, start: float, end: float, points: Iterable[tuple[float, str]]) -> Tier:
    """A point tier (points sorted, one per time, inside ``start``..``end``)."""
    seen: dict[float, str] = {}
    for t, text in sorted(points):
        t = round(float(t), 6)
        if start <= t <= end:
            seen[t] = f"{seen[t]} | {text}" if t in seen else text
    marks = [Interval(t, t, text, i) for i, (t, text) in enumerate(sorted(seen.items()), 1)]
    return Tier(name=name, start=start, end=end, intervals=marks, is_point=True)


def grid_from_marks(tiers: Mapping[str, Sequence[Mark]], start: float, end: float, path: str | Path = "") -> TextGrid:
    """A TextGrid of interval tiers built from ``{name: marks}``."""
    return TextGrid(Path(path), start, end, [interval_tier(name, start, end, marks) for name, marks in tiers.items()])


def textgrid_text(grid: TextGrid) -> str:
    """The long text format of ``grid``."""
    lines = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        f"xmin = {_num(grid.start)} ",
        f"xmax = {_num(grid.end)} ",
        "tiers? <exists> ",
        f"size = {len(grid.tiers)} ",
        "item []: ",
    ]
    for i, tier in enumerate(grid.tiers, 1):
        lines += [
            f"    item [{i}]:",
            f'        class = "{"TextTier" if tier.is_point else "IntervalTier"}" ',
            f'        name = "{_quote(tier.name)}" ',
            f"        xmin = {_num(tier.start)} ",
            f"        xmax = {_num(tier.end)} ",
        ]
        lines += _point_lines(tier) if tier.is_point else _interval_lines(tier)
    return "\n".join(lines) + "\n"


def write_textgrid(grid: TextGrid, out: str | Path) -> Path:
    """Write ``grid`` to ``out`` atomically in Praat's long text format."""
    out = Path(out)
    atomic_write_text(out, textgrid_text(grid))
    return out


def _interval_lines(tier: Tier) -> list[str]:
    lines = [f"        intervals: size = {len(tier.intervals)} "]
    for j, iv in enumerate(tier.intervals, 1):
        lines += [
            f"        intervals [{j}]:",
            f"            xmin = {_num(iv.start)} ",
            f"            xmax = {_num(iv.end)} ",
            f'            text = "{_quote(iv.text)}" ',
        ]
    return lines


def _point_lines(tier: Tier) -> list[str]:
    lines = [f"        points: size = {len(tier.intervals)} "]
    for j, pt in enumerate(tier.intervals, 1):
        lines += [
            f"        points [{j}]:",
            f"            number = {_num(pt.start)} ",
            f'            mark = "{_quote(pt.text)}" ',
        ]
    return lines


def _quote(text: str) -> str:
    return text.replace('"', '""')


def _num(x: float) -> str:
    return repr(float(x)) if x != int(x) else str(int(x))
