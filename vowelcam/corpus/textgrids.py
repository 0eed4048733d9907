"""Tolerant readers for Praat TextGrids (long and short text format, UTF-8/UTF-16) and TIMIT .phn/.wrd files.

Real aligner output is not always clean: intervals a hair past the tier's end (a real LJSpeech MFA file does
this), empty or zero-length intervals, BOMs, CRLF line ends. We read those as Praat would and keep going.

A file whose declared sizes (``size = `` tiers, ``intervals: size = ``, ``points: size = ``) disagree with its
content is refused with :class:`~vowelcam.errors.TextGridParseError` (reason ``declared size disagrees with
content``, naming the tier), which extraction records in ``problems.csv``. Praat refuses such files too, except
when the *last* tier declares fewer intervals than it holds: Praat then reads the file short and silently drops
the rest; vowelcam refuses that case as well rather than lose intervals without a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TextGridParseError

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# One pass over the file: a quoted string ("" escapes a quote), an [index] of the long format (skipped), a number,
# a flag, or a bare word such as 'xmin' or 'intervals: size' (skipped). Quoted strings are consumed whole first,
# so brackets, digits or '=' inside labels never leak into the structure.
_TOKEN = re.compile(rf'"((?:[^"]|"")*)(")|\[\d*\]|({_NUMBER})(?![\w.])|(<exists>|<absent>)|[A-Za-z_]\w*\??')
EXISTS, ABSENT = object(), object()
_TIER_CLASSES = ("IntervalTier", "TextTier")
SIZE_MISMATCH = "declared size disagrees with content"


@dataclass
class Interval:
    """One interval (or point, where ``start == end``) of a tier."""

    start: float
    end: float
    text: str
    index: int  # 1-based position in its tier

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass
class Tier:
    """An interval tier (``is_point`` False) or a point tier."""

    name: str
    start: float
    end: float
    intervals: list[Interval] = field(default_factory=list)
    is_point: bool = False


@dataclass
class TextGrid:
    """A TextGrid's tiers in file order."""

    path: Path
    start: float
    end: float
    tiers: list[Tier]

    def tier(self, name: str) -> Tier | None:
        """The first tier with this exact name, or None."""
        return next((t for t in self.tiers if t.name == name), None)

    @property
    def interval_tiers(self) -> list[Tier]:
        """Interval tiers only."""
        return [t for t in self.tiers if not t.is_point]


def decode_text(raw: bytes) -> str:
    """Decode Praat text: UTF-16 with BOM (what Praat writes for non-ASCII), UTF-8 with or without BOM, else Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if len(raw) > 1 and raw[0] == 0 and raw[1] != 0:  # UTF-16-BE without BOM
        return raw.decode("utf-16-be")
    if len(raw) > 1 and raw[1] == 0 and raw[0] != 0:  # UTF-16-LE without BOM
        return raw.decode("utf-16-le")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_textgrid(path: str | Path) -> TextGrid:
    """Read a TextGrid in long or short text format.

    Intervals that end past the tier's end are clipped to it; reversed, empty and zero-length intervals are kept
    (callers decide what to skip: :func:`vowelcam.corpus.select.select_tokens` reports a reversed or zero-length
    token interval as a problem of that interval alone, and keeps the rest of the file).
    """
    path = Path(path)
    try:
        text = decode_text(path.read_bytes())
    except OSError as exc:
        raise TextGridParseError(path, "unreadable file", exc.strerror or str(exc)) from None
    if "ooTextFile" not in text[:200] or "TextGrid" not in text[:300]:
        raise TextGridParseError(path, "not a TextGrid", "no 'ooTextFile'/'TextGrid' header")
    tokens = _tokens(text)
    try:
        return _parse(path, tokens)
    except (IndexError, ValueError) as exc:
        raise TextGridParseError(path, "malformed TextGrid", str(exc) or type(exc).__name__) from None


def _tokens(text: str) -> list:
    """Values of the file in order: labels as str, numbers as float, flags as EXISTS/ABSENT (matched one at a time:
    a list of every match of a three-hour TextGrid would take ten times the file's size)."""
    out: list = []
    append = out.append
    for match in _TOKEN.finditer(text):
        quoted, is_quoted, number, flag = match.groups()
        if is_quoted:
            append(quoted.replace('""', '"') if '""' in quoted else quoted)
        elif number:
            append(float(number))
        elif flag:
            append(EXISTS if flag == "<exists>" else ABSENT)
    return out


class _Cursor:
    def __init__(self, tokens: list):
        self.tokens, self.pos = tokens, 0

    def number(self) -> float:
        while self.tokens[self.pos] is EXISTS or self.tokens[self.pos] is ABSENT:  # skip flags such as <exists>
            self.pos += 1
        value = self.tokens[self.pos]
        if not isinstance(value, float):
            raise ValueError(f"expected a number, found {value!r}")
        self.pos += 1
        return value

    def at_tier_or_end(self) -> bool:
        """Whether the next value starts a tier (or the file ends here)."""
        return self.pos >= len(self.tokens) or self.tokens[self.pos] in _TIER_CLASSES

    def string(self) -> str:
        value = self.tokens[self.pos]
        self.pos += 1
        if not isinstance(value, str):
            raise ValueError(f"expected a string, found {value!r}")
        return value


def _parse(path: Path, tokens: list) -> TextGrid:
    strings = [t for t in tokens[:4] if isinstance(t, str)]
    if not strings[:2] == ["ooTextFile", "TextGrid"]:
        raise ValueError("header must be ooTextFile / TextGrid")
    cur = _Cursor(tokens)
    cur.pos = tokens.index("TextGrid") + 1
    xmin, xmax = cur.number(), cur.number()
    if any(t is ABSENT for t in tokens[cur.pos : cur.pos + 2]):
        return TextGrid(path, xmin, xmax, [])
    n_tiers = int(cur.number())
    tiers = [_parse_tier(path, cur) for _ in range(n_tiers)]
    extra = sum(1 for t in tokens[cur.pos :] if t in _TIER_CLASSES)
    if extra:
        raise TextGridParseError(path, SIZE_MISMATCH, f"declares {n_tiers} tiers, {n_tiers + extra} follow")
    return TextGrid(path, xmin, xmax, tiers)


def _parse_tier(path: Path, cur: _Cursor) -> Tier:
    if cur.pos >= len(cur.tokens) or cur.tokens[cur.pos] not in _TIER_CLASSES:
        found = "the end of the file" if cur.pos >= len(cur.tokens) else repr(cur.tokens[cur.pos])
        raise TextGridParseError(path, SIZE_MISMATCH, f"a tier was declared, found {found}")
    kind = cur.string()
    name = cur.string()
    tmin, tmax, n = cur.number(), cur.number(), int(cur.number())
    tier = Tier(name, tmin, tmax, is_point=kind == "TextTier")
    what = "points" if tier.is_point else "intervals"
    for i in range(1, n + 1):
        try:
            start, end, label = _item(cur, tier.is_point)
        except (IndexError, ValueError):
            raise TextGridParseError(path, SIZE_MISMATCH, f"declares {n} {what}, {i - 1} found", name) from None
        # a reversed interval (end < start) is kept: select_tokens reports it as a problem of that interval alone
        # clip to the tier (an interval a hair past the tier's end is common in MFA output)
        if not tier.is_point:
            start, end = min(max(start, tmin), tmax), min(end, tmax)
        tier.intervals.append(Interval(start, end, label, i))
    if not cur.at_tier_or_end():
        raise TextGridParseError(path, SIZE_MISMATCH, f"declares {n} {what}, more follow", name)
    return tier


def _item(cur: _Cursor, is_point: bool) -> tuple[float, float, str]:
    """One interval (start, end, label) or point (time, time, label)."""
    if is_point:
        t = cur.number()
        return t, t, cur.string()
    start, end = cur.number(), cur.number()
    return start, end, cur.string()


def read_timit(phn_path: str | Path, sample_rate: int, wrd_path: str | Path | None = None) -> TextGrid:
    """Read TIMIT-style ``.phn`` (and optional ``.wrd``) files: ``start_sample end_sample label`` per line."""
    phn_path = Path(phn_path)
    phones = _timit_tier(phn_path, "phones", sample_rate)
    tiers = [phones]
    if wrd_path is not None and Path(wrd_path).exists():
        tiers.insert(0, _timit_tier(Path(wrd_path), "words", sample_rate))
    end = max(t.end for t in tiers)
    return TextGrid(phn_path, 0.0, end, tiers)


def _timit_tier(path: Path, name: str, sample_rate: int) -> Tier:
    intervals: list[Interval] = []
    try:
        lines = decode_text(path.read_bytes()).splitlines()
    except OSError as exc:
        raise TextGridParseError(path, "unreadable file", exc.strerror or str(exc)) from None
    for lineno, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise TextGridParseError(path, "not a TIMIT label file", f"line {lineno}: {line.strip()[:60]!r}")
        start, end = int(parts[0]) / sample_rate, int(parts[1]) / sample_rate
        intervals.append(Interval(start, end, " ".join(parts[2:]), len(intervals) + 1))
    if not intervals:
        raise TextGridParseError(path, "empty label file")
    return Tier(name, intervals[0].start, max(i.end for i in intervals), intervals)
