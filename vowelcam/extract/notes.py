"""What an extraction should say on the terminal beside its counts: one example of each kind of problem (a wrong
``--phones-tier`` names the tiers the files do have), and the assumption a flat folder makes about speakers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from ..config import CorpusSettings

FLAT_FOLDER_NOTE = (
    "each of the {n} recordings was taken as its own speaker (no speaker tiers, folders or pattern): per-speaker "
    "normalisation and speaker-grouped splits assume so. If one person speaks in several files, give "
    "--speaker-pattern REGEX with (?P<speaker>...) on the file path, or --speaker-groups CSV"
)


def problem_example(row: Mapping[str, str]) -> str:
    """One ``problems.csv`` row as a line: ``file [tier] interval k: detail``."""
    where = [PurePosixPath(row.get("path") or "").name or "?"]
    if row.get("tier"):
        where.append(f"tier {row['tier']!r}")
    if row.get("interval"):
        where.append(f"interval {row['interval']}")
    return f"{' '.join(where)}: {row.get('detail') or row.get('reason')}"


def first_examples(problems: Iterable[Mapping[str, str]]) -> tuple[list[str], dict[str, str]]:
    """The problem reasons (one per row, for counting) and the first example line of each reason."""
    reasons, examples = [], {}
    for row in problems:
        reasons.append(row["reason"])
        examples.setdefault(row["reason"], problem_example(row))
    return reasons, examples


def speaker_per_file_note(speakers_by_file: Mapping[str, str], corpus: CorpusSettings) -> str:
    """The flat-folder note when every speaker is its file's name, from more than one file and no explicit
    choice (pattern, map or ``speaker_from = "file"``); '' otherwise."""
    if corpus.speaker_pattern or corpus.speaker_groups or corpus.speaker_from == "file":
        return ""
    if len(speakers_by_file) < 2:
        return ""
    if any(PurePosixPath(f).stem != s for f, s in speakers_by_file.items()):
        return ""
    return FLAT_FOLDER_NOTE.format(n=len(speakers_by_file))


def no_tokens_message(corpus: str, problems_path: str, counts: Mapping[str, int], examples: Mapping[str, str]) -> str:
    """The one-line error when nothing was extracted: the commonest problem named, with an example."""
    if not counts:
        return f"no token could be extracted from {corpus} (see {problems_path})"
    reason, n = max(counts.items(), key=lambda kv: kv[1])
    return (
        f"no token could be extracted from {corpus}: {n} x {reason!r}, e.g. {examples.get(reason, '')} "
        f"(all problems: {problems_path})"
    )
