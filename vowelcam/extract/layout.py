"""How a corpus is cut into chunks, the unit of work, resumption and memory of extraction.

A chunk holds up to ``chunk_files`` recordings and up to ``chunk_seconds`` seconds of audio (from the headers,
read here). A recording longer than ``chunk_seconds`` is split into windows of that length, one chunk each: a
window's tokens are those that start inside it (the first window reaches back to minus infinity, the last one
forward to infinity), so a long interview is measured and written as several shards of bounded size while each
token is cut from the recording exactly as it would be whole.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..acoustics.audio import audio_info
from ..config import Settings
from ..corpus.discover import Pair
from ..errors import DataProblem


@dataclass(frozen=True)
class Window:
    """Window ``index`` of a long recording: the tokens that start in ``[start, end)`` seconds."""

    index: int
    start: float
    end: float

    def holds(self, token_start: float) -> bool:
        """Whether a token starting at ``token_start`` belongs to this window."""
        return self.start <= token_start < self.end


@dataclass(frozen=True)
class Chunk:
    """Chunk ``index``: its recordings (one, with ``window``, for a part of a long recording), the seconds of audio
    it covers (for progress) and the signature of its files, window and settings."""

    index: int
    pairs: list[Pair]
    signature: str
    seconds: float = 0.0
    window: Window | None = None

    @property
    def reports_files(self) -> bool:
        """Whether this chunk reports its recordings' file-level problems (a long recording's first window does)."""
        return self.window is None or self.window.index == 0


def recording_seconds(pair: Pair) -> float:
    """The recording's length from its header; 0 when unreadable (its chunk reports the problem)."""
    try:
        return audio_info(pair.audio).duration
    except DataProblem:
        return 0.0


def layout_chunks(pairs: list[Pair], settings: Settings) -> list[Chunk]:
    """The chunks of ``pairs`` in corpus order (see the module docstring)."""
    max_files, max_seconds = max(1, settings.extract.chunk_files), settings.extract.chunk_seconds
    groups: list[tuple[list[Pair], float, Window | None]] = []
    current: list[Pair] = []
    seconds = 0.0
    for pair in pairs:
        length = recording_seconds(pair)
        if current and (len(current) == max_files or seconds + length > max_seconds):
            groups.append((current, seconds, None))
            current, seconds = [], 0.0
        if length > max_seconds:
            groups += [([pair], min(w.end, length) - max(w.start, 0.0), w) for w in _windows(length, max_seconds)]
            continue
        current.append(pair)
        seconds += length
    if current:
        groups.append((current, seconds, None))
    return [
        Chunk(i, group, signature(group, settings, window), seconds, window)
        for i, (group, seconds, window) in enumerate(groups)
    ]


def _windows(length: float, size: float) -> list[Window]:
    """Windows of ``size`` seconds over a recording of ``length`` seconds, open at both ends."""
    n = math.ceil(length / size)
    bounds = [-math.inf] + [k * size for k in range(1, n)] + [math.inf]
    return [Window(k, bounds[k], bounds[k + 1]) for k in range(n)]


def signature(pairs: list[Pair], settings: Settings, window: Window | None = None) -> str:
    """Hash of the chunk's files (path, size, mtime), its window and every setting that changes extraction."""
    h = hashlib.sha256()
    relevant = {k: v for k, v in settings.to_dict().items() if k in ("corpus", "labels", "measure", "spectrogram")}
    h.update(json.dumps(relevant, sort_keys=True).encode())
    if settings.corpus.speaker_groups:  # the map's content (groups, ceilings, columns) changes the rows
        h.update(Path(settings.corpus.speaker_groups).read_bytes())
    for pair in pairs:
        for path in (pair.audio, pair.labels):
            stat = path.stat()
            h.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    if window is not None:
        h.update(f"window {window.index} {window.start} {window.end}".encode())
    return h.hexdigest()
