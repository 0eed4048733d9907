"""Who is speaking, and in which group (men / women / children): from tier groups, a file-name pattern,
the folder, or the file; groups from the pattern, a user map (CSV ``speaker,group[,ceiling][,...]``) or a
folder name.

Groups choose Praat's formant ceiling; unknown groups make the measurement search a wider ceiling range.
In the user map, ``ceiling`` (Hz, optional, may be empty) replaces the group's central ceiling for that
speaker, and ``group`` may be empty when a ceiling is given (the group is then estimated). Any further
columns (age, dialect, ...) are passed through to ``tokens.csv`` unchanged.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import ConfigError
from ..rundir import as_float
from ..tokens import normalise_group

PRESET_PATTERNS = {
    # Hillenbrand et al. (1995): m01ae.wav = man 01, vowel ae (b/g = boys/girls)
    "hillenbrand": r"(?P<speaker>(?P<group>[mwbg])\d\d)[a-z]{2}\.[^/]+$",
    # TIMIT: TRAIN/DR1/FCJF0/SA1.WAV = female speaker CJF0
    "timit": r"(?P<speaker>(?P<group>[FMfm])[A-Za-z]{3}\d)/[^/]+$",
}


@dataclass(frozen=True)
class SpeakerResolver:
    """Resolves (speaker, group) for a file and tier group according to the settings."""

    mode: str = "auto"  # auto | tiers | pattern | folder | file
    pattern: str = ""
    groups: dict[str, str] | None = None
    ceilings: dict[str, float] = field(default_factory=dict)  # speaker -> central formant ceiling (Hz)
    extras: dict[str, dict[str, str]] = field(default_factory=dict)  # speaker -> pass-through columns
    extra_columns: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, speaker_from: str, pattern: str, groups_csv: str) -> SpeakerResolver:
        """Build from CorpusSettings fields, validating the pattern and reading the group map."""
        if speaker_from not in ("auto", "tiers", "pattern", "folder", "file"):
            raise ConfigError(f"speaker_from must be auto, tiers, pattern, folder or file, not {speaker_from!r}")
        pattern = PRESET_PATTERNS.get(pattern, pattern)
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"speaker pattern {pattern!r} is not a valid regular expression ({exc})") from None
            if "speaker" not in compiled.groupindex:
                raise ConfigError(f"speaker pattern {pattern!r} needs a named group (?P<speaker>...)")
        if speaker_from == "pattern" and not pattern:
            raise ConfigError("speaker_from = 'pattern' needs --speaker-pattern")
        if not groups_csv:
            return cls(speaker_from, pattern)
        table = read_speaker_map(groups_csv)
        return cls(speaker_from, pattern, table.groups, table.ceilings, table.extras, table.extra_columns)

    def ceiling(self, speaker: str) -> float | None:
        """The speaker's own central formant ceiling from the map, or None."""
        return self.ceilings.get(speaker)

    def extra(self, speaker: str) -> dict[str, str]:
        """The map's pass-through columns for ``speaker`` (empty strings when the speaker is not in the map)."""
        row = self.extras.get(speaker, {})
        return {name: row.get(name, "") for name in self.extra_columns}

    def resolve(self, rel_path: str, tier_speaker: str = "") -> tuple[str, str]:
        """(speaker, group) for the audio file at ``rel_path`` (relative, POSIX) and a tier group's speaker."""
        path = PurePosixPath(rel_path)
        speaker, group = "", ""
        match = re.search(self.pattern, rel_path) if self.pattern else None
        if self.mode in ("auto", "tiers") and tier_speaker:
            speaker = tier_speaker
        elif self.mode in ("auto", "pattern") and match:
            speaker = match.group("speaker")
        elif self.mode in ("auto", "folder") and len(path.parts) > 1 and not normalise_group(path.parent.name):
            speaker = path.parent.name
        else:
            speaker = path.stem
        if match and "group" in match.re.groupindex and match.group("group"):
            group = normalise_group(match.group("group"))
        if self.groups and speaker in self.groups:
            group = self.groups[speaker]
        if not group:
            group = next((normalise_group(p) for p in path.parts[:-1] if normalise_group(p)), "")
        return speaker, group


RESERVED_COLUMNS = ("speaker", "group", "ceiling")


@dataclass(frozen=True)
class SpeakerMap:
    """A ``--speaker-groups`` CSV: groups, optional ceilings and pass-through columns by speaker."""

    groups: dict[str, str]
    ceilings: dict[str, float]
    extras: dict[str, dict[str, str]]
    extra_columns: tuple[str, ...]


def read_speaker_map(path: str | Path) -> SpeakerMap:
    """Read a ``speaker,group[,ceiling][,extra...]`` CSV; a bad group or ceiling is a ConfigError naming the row."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows, header = list(reader), [h.strip() for h in reader.fieldnames or []]
    except OSError as exc:
        raise ConfigError(f"speaker group map {path}: cannot read ({exc.strerror})") from None
    if not {"speaker", "group"} <= set(header):
        raise ConfigError(f"speaker group map {path}: needs columns 'speaker' and 'group' (and optionally 'ceiling')")
    extra_columns = tuple(h for h in header if h and h not in RESERVED_COLUMNS)
    groups, ceilings, extras = {}, {}, {}
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        speaker = row["speaker"]
        ceiling = _ceiling(path, line, row.get("ceiling", ""))
        group = normalise_group(row["group"])
        if not group and (row["group"] or ceiling is None):
            raise ConfigError(
                f"speaker group map {path} line {line}: unknown group {row['group']!r} for "
                f"{speaker!r} (men/women/children; empty only with a ceiling)"
            )
        if group:
            groups[speaker] = group
        if ceiling is not None:
            ceilings[speaker] = ceiling
        extras[speaker] = {name: row.get(name, "") for name in extra_columns}
    return SpeakerMap(groups, ceilings, extras, extra_columns)


def _ceiling(path: Path, line: int, text: str) -> float | None:
    if not text:
        return None
    value = as_float(text)
    if not 1000.0 <= value <= 20000.0:
        raise ConfigError(
            f"speaker group map {path} line {line}: ceiling {text!r} is not a frequency in Hz between 1000 and 20000"
        )
    return value
