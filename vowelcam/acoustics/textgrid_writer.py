"""Write Praat TextGrids in the long text format (UTF-8), as Montreal Forced Aligner does."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..rundir import atomic_write_text

Interval = tuple[float, float, str]


def fill_gaps(intervals: Sequence[Interval], xmin: float, xmax: float) -> list[Interval]:
    """Cover ``[xmin, xmax]`` completely: empty-text intervals fill the gaps between ``intervals``."""
    out: list[Interval] = []
    cursor = xmin
    for start, end, text in sorted(intervals):
        if start > cursor:
            out.append((cursor, start, ""))
        out.append((start, end, text))
        cursor = end
    if xmax > cursor:
        out.append((cursor, xmax, ""))
    return out


def textgrid_text(tiers: dict[str, Sequence[Interval]], xmin: float, xmax: float) -> str:
    """The long-format text of a TextGrid with the given interval tiers (gaps filled with empty intervals)."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
             f"xmin = {_num(xmin)}", f"xmax = {_num(xmax)}", "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    for number, (name, intervals) in enumerate(tiers.items(), start=1):
        filled = fill_gaps(intervals, xmin, xmax)
        lines += [f"    item [{number}]:", '        class = "IntervalTier"', f'        name = "{_quote(name)}"',
                  f"        xmin = {_num(xmin)}", f"        xmax = {_num(xmax)}",
                  f"        intervals: size = {len(filled)}"]
        for index, (start, end, text) in enumerate(filled, start=1):
            lines += [f"        intervals [{index}]:", f"            xmin = {_num(start)}",
                      f"            xmax = {_num(end)}", f'            text = "{_quote(text)}"']
    return "\n".join(lines) + "\n"


def write_textgrid(path: str | Path, tiers: dict[str, Sequence[Interval]], xmin: float, xmax: float) -> None:
    """Write a long-format TextGrid atomically."""
    atomic_write_text(path, textgrid_text(tiers, xmin, xmax))


def _num(value: float) -> str:
    return repr(round(float(value), 6))


def _quote(text: str) -> str:
    return text.replace('"', '""')
