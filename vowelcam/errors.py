"""The vowelcam error family.

Config and argument errors stop a command at once (the CLI prints one line, exits non-zero).
Data errors name the file, tier and interval; the corpus stages collect them into ``problems.csv``
and carry on with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class VowelcamError(Exception):
    """Base of every error vowelcam raises on purpose."""


class ConfigError(VowelcamError):
    """Bad settings, flags or config file: the command cannot start."""


class RunDirError(VowelcamError):
    """A run directory lacks what a stage needs, or was written by an incompatible version."""


class ModelError(VowelcamError):
    """A model file that is not one, or one made for other settings than the data."""


class TrainingError(VowelcamError):
    """Training that cannot give a model (e.g. a loss that turned NaN): the message says what to change."""


@dataclass
class DataProblem(VowelcamError):
    """One problem with one input: a file, optionally a tier and an interval.

    ``reason`` is a short stable key (used to count problems by kind); ``detail`` is the human sentence.
    """

    path: str | Path
    reason: str
    detail: str = ""
    tier: str = ""
    interval: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:  # one clear line
        where = str(self.path)
        if self.tier:
            where += f" [tier {self.tier!r}"
            where += f", interval {self.interval}]" if self.interval else "]"
        return f"{where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")

    def as_row(self) -> dict[str, str]:
        """The problem as a ``problems.csv`` row."""
        return {
            "path": str(self.path),
            "tier": self.tier,
            "interval": self.interval,
            "reason": self.reason,
            "detail": self.detail,
        }


class TextGridParseError(DataProblem):
    """A file that is not a readable TextGrid (or TIMIT label file)."""


class AudioError(DataProblem):
    """Audio that cannot be read or used."""
