"""What a chunk measures: its recordings' plans (labels read, tokens chosen) and the speaker groups estimated
over them.

A window of a long recording (see :mod:`.layout`) is planned from the whole recording, so every window sees the
same tokens, groups and F0s as the recording unwindowed would, and keeps the tokens that start inside it; the
file-level problems belong to the first window. The whole recording's plan is kept for the next window (one
recording per process), so its labels are read and its speakers' groups estimated once per process, not once per
window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import Settings
from ..corpus.speakers import SpeakerResolver
from .groups import GroupEstimate, TokenKey, estimate_groups
from .layout import Chunk, signature
from .one_file import FilePlan, FileResult, plan_file

Plan = FilePlan | FileResult


@dataclass(frozen=True)
class ChunkPlans:
    """A chunk's plans in order, its speakers' estimated groups and the F0s measured on the way."""

    plans: list[Plan]
    estimates: dict[str, GroupEstimate]
    known_f0: dict[TokenKey, float]


_last_recording: dict[str, ChunkPlans] = {}  # signature of a windowed recording -> its whole plan (one entry)


def chunk_plans(chunk: Chunk, settings: Settings, resolver: SpeakerResolver) -> ChunkPlans:
    """Plan ``chunk``: every recording, or for a window the tokens of its recording that start inside it."""
    if chunk.window is None:
        return _planned(chunk.pairs, settings, resolver)
    key = signature(chunk.pairs, settings)
    whole = _last_recording.get(key)
    if whole is None:
        whole = _planned(chunk.pairs, settings, resolver)
        _last_recording.clear()
        _last_recording[key] = whole
    return replace(whole, plans=[_in_window(plan, chunk) for plan in whole.plans])


def _planned(pairs: list, settings: Settings, resolver: SpeakerResolver) -> ChunkPlans:
    """Plans of ``pairs`` and the groups of their speakers nobody named (estimated over all of them)."""
    plans = [plan_file(pair, settings) for pair in pairs]
    known_f0: dict[TokenKey, float] = {}
    estimates = estimate_groups([p for p in plans if isinstance(p, FilePlan)], settings, resolver, known_f0)
    return ChunkPlans(plans, estimates, known_f0)


def _in_window(plan: Plan, chunk: Chunk) -> Plan:
    """The part of a recording's plan that ``chunk``'s window measures and reports."""
    window = chunk.window
    if window is None:
        return plan
    if isinstance(plan, FileResult):
        return plan if chunk.reports_files else FileResult()
    specs = [spec for spec in plan.specs if window.holds(spec.start)]
    return replace(plan, specs=specs, problems=list(plan.problems) if chunk.reports_files else [])


def forget_recordings() -> None:
    """Drop the kept plan of the last windowed recording (at the end of an extraction in this process)."""
    _last_recording.clear()
