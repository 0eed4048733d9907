"""Who is speaking, and in which group (men / women / children): from tier groups, a file-name pattern,
the folder, or the file; groups from the pattern, a user map (CSV ``speaker,group``) or a folder name.

Groups choose Praat's formant ceiling; unknown groups make the measurement search a wider ceiling range.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ConfigError

PRESET_PATTERNS = {
    # Hillenbrand et al. (1995): m01ae.wav = man 01, vowel ae (b/g = boys/girls)
    "hillenbrand": r"(?P<speaker>(?P<group>[mwbg])\d\d)[a-z]{2}\.[^/]+$",
    # TIMIT: TRAIN/DR1/FCJF0/SA1.WAV = female speaker CJF0
    "timit": r"(?P<speaker>(?P<group>[FMfm])[A-Za-z]{3}\d)/[^/]+$",
}

_GROUP_WORDS = {
    "men": "men", "man": "men", "male": "men", "males": "men", "m": "men",
    "women": "women", "woman": "women", "female": "women", "females": "women", "w": "women", "f": "women",
    "children": "children", "child": "children", "kids": "children", "kid": "children", "c": "children",
    "boys": "children", "boy": "children", "b": "children", "girls": "children", "girl": "children", "g": "children",
}
GROUPS = ("men", "women", "children")


def normalise_group(text: str) -> str:
    """``'M'``, ``'male'``, ``'men'`` -> ``'men'`` etc.; unknown words -> ''."""
    return _GROUP_WORDS.get(text.strip().lower(), "")


@dataclass(frozen=True)
class SpeakerResolver:
    """Resolves (speaker, group) for a file and tier group according to the settings."""

    mode: str = "auto"  # auto | tiers | pattern | folder | file
    pattern: str = ""
    groups: dict[str, str] | None = None

    @classmethod
    def from_settings(cls, speaker_from: str, pattern: str, groups_csv: str) -> "SpeakerResolver":
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
        return cls(speaker_from, pattern, read_group_map(groups_csv) if groups_csv else None)

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


def read_group_map(path: str | Path) -> dict[str, str]:
    """Read a ``speaker,group`` CSV (group: men/women/children or m/w/f/c/male/female...)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"speaker group map {path}: cannot read ({exc.strerror})") from None
    if not rows or not {"speaker", "group"} <= set(rows[0]):
        raise ConfigError(f"speaker group map {path}: needs columns 'speaker' and 'group'")
    out = {}
    for row in rows:
        group = normalise_group(row["group"])
        if not group:
            raise ConfigError(f"speaker group map {path}: unknown group {row['group']!r} for {row['speaker']!r}")
        out[row["speaker"].strip()] = group
    return out
