"""Tasks, honest splits and the torch Dataset over a run's spectrogram store.

Tasks (the study's three experiments):

- ``vowels``: vowel classes on the full band (Exp 1)
- ``vowels4k``: vowel classes below 4 kHz (Exp 2)
- ``voicing``: vowel vs unvoiced (``kind`` column) below 4 kHz (Exp 3)

Splits are grouped so no speaker (or, with ``group_by = "recording"``, no recording) is in two of
train/validation/test: the validation split chooses the epoch, the test split is scored once. The grouping never
changes silently (see :func:`split_groups`): ``auto`` groups by speaker when every token names one of at least
:data:`MIN_SPEAKERS` speakers, by recording when the corpus has a single speaker (said in the log), and stops with
an error otherwise, asking for an explicit ``--group-by speaker|recording``.

Input scaling (:func:`scale_input`, recorded in the checkpoint's ``norm``): ``(dB - floor) / scale`` with
``floor`` the store's dB floor (silence) and ``scale`` the training tokens' dB standard deviation, so the value 0
*is* silence and the zero padding of every convolution adds silence at the axis edges, not loudness. Checkpoints
written before this (``norm = {mean, std}``, a corpus-mean z-score, where 0 meant average loudness) keep loading
with their own scaling. (This is the *scaling* of the dB input; formant *normalisation* per speaker is
:mod:`vowelcam.measure.speaker_normalisation`.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..acoustics.store import SpectrogramStore
from ..corpus.labels import VOWEL_SETS
from ..corpus.labels import vowel_set as named_vowel_set
from ..errors import ConfigError, RunDirError
from .plan.splits import speaker_strata, stratified_group_folds

log = logging.getLogger(__name__)

MIN_SPEAKERS = 4  # auto grouping by speaker needs at least this many
GROUP_BY = ("auto", "speaker", "recording")
_GROUP_FIELD = {"speaker": "speaker", "recording": "file"}
TASK_MAX_FREQ = {"vowels": 0.0, "vowels4k": 4000.0, "voicing": 4000.0}


@dataclass(frozen=True)
class TaskData:
    """The tokens of one task: their rows in tokens.csv, class labels and split groups."""

    task: str
    rows: list[dict[str, Any]]
    labels: list[str]  # class names, sorted
    targets: np.ndarray  # int class index per row
    groups: np.ndarray  # speaker or file per row
    group_by: str  # "speaker" | "recording"
    max_freq: float


def vowel_set(name: str) -> tuple[str, ...] | None:
    """The ARPAbet classes of a named set (corner, monophthongs, hillenbrand12) or comma list; None = every vowel."""
    if name.strip().lower() in ("", "all"):
        return None
    return named_vowel_set(name.strip().lower() if name.strip().lower() in VOWEL_SETS else name)


def select_task(rows: list[dict[str, Any]], task: str, vowels: str = "all", group_by: str = "auto") -> TaskData:
    """Pick the tokens and labels of ``task``; refuse data with fewer than two classes. ``group_by``: how the
    splits are grouped (see :func:`split_groups`)."""
    if task not in TASK_MAX_FREQ:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(TASK_MAX_FREQ)}")
    wanted = vowel_set(vowels)
    if task == "voicing":
        chosen = [r for r in rows if r.get("kind") == "unvoiced" or _is_wanted_vowel(r, wanted)]
        names = [r["kind"] for r in chosen]
    else:
        chosen = [r for r in rows if _is_wanted_vowel(r, wanted)]
        names = [r["phone"] for r in chosen]
    labels = sorted(set(names))
    if len(labels) < 2:
        found = f"only {labels[0]!r}" if labels else "none"
        raise RunDirError(f"task {task!r} needs at least two classes in tokens.csv; found {found}")
    index = {name: i for i, name in enumerate(labels)}
    groups, group_by = split_groups(chosen, group_by)
    return TaskData(
        task=task,
        rows=chosen,
        labels=labels,
        targets=np.array([index[n] for n in names], dtype=np.int64),
        groups=groups,
        group_by=group_by,
        max_freq=TASK_MAX_FREQ[task],
    )


def split_groups(rows: Sequence[dict[str, Any]], group_by: str = "auto") -> tuple[np.ndarray, str]:
    """The split group of every row and the grouping used (``speaker`` or ``recording``).

    ``speaker``: every row must name its speaker (else an error naming the first that does not). ``recording``:
    the row's file. ``auto``: speaker when all rows name one of >= :data:`MIN_SPEAKERS` speakers; recording when
    they name one speaker or none (the only honest split then, logged); otherwise an error, because some rows
    without a speaker, or two or three speakers, leave no grouping that is both honest and unasked for."""
    if group_by not in GROUP_BY:
        raise ConfigError(f"group_by {group_by!r}: use {' | '.join(GROUP_BY)}")
    speakers = [str(r.get("speaker") or "") for r in rows]
    named = sorted({s for s in speakers if s})
    if group_by == "auto":
        group_by = _auto_grouping(rows, speakers, named)
    if group_by == "speaker" and "" in speakers:
        first = rows[speakers.index("")]
        raise RunDirError(
            f"{first.get('file', '?')}: token {first.get('token_id', '?')} (and "
            f"{speakers.count('') - 1} more) has no speaker; splits grouped by speaker need one for "
            "every token (set corpus.speaker_pattern / speaker_groups, or pass --group-by recording)"
        )
    field_name = _GROUP_FIELD[group_by]
    return np.array([str(r.get(field_name) or "") for r in rows]), group_by


def _auto_grouping(rows: Sequence[dict[str, Any]], speakers: list[str], named: list[str]) -> str:
    missing = speakers.count("")
    if named and missing:
        first = rows[speakers.index("")]
        raise ConfigError(
            f"{missing} of {len(rows)} tokens have no speaker (e.g. {first.get('token_id', '?')} in "
            f"{first.get('file', '?')}) while {len(named)} speaker(s) are named: fix the speakers or "
            "choose the split's grouping with --group-by speaker|recording"
        )
    if len(named) >= MIN_SPEAKERS:
        return "speaker"
    if len(named) <= 1:
        log.warning("one speaker (%s): splits grouped by recording", named[0] if named else "none named")
        return "recording"
    raise ConfigError(
        f"only {len(named)} speakers ({', '.join(named)}): too few to split by speaker by default "
        f"(at least {MIN_SPEAKERS}); pass --group-by speaker or --group-by recording (the same speakers "
        "then appear in training and test)"
    )


def _is_wanted_vowel(row: dict[str, Any], wanted: tuple[str, ...] | None) -> bool:
    return row.get("kind") == "vowel" and (wanted is None or row.get("phone") in wanted)


def class_weights(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights (mean 1 over tokens) for the loss; a missing class gets weight 0."""
    counts = np.bincount(targets, minlength=n_classes).astype(float)
    weights = np.where(counts > 0, len(targets) / (n_classes * np.maximum(counts, 1)), 0.0)
    return weights


def make_splits(data: TaskData, folds: int, val_fraction: float, test_fraction: float, seed: int) -> list[np.ndarray]:
    """Split assignments, one array per fold: ``"train"``/``"val"``/``"test"`` for every token.

    ``folds`` >= 2: grouped stratified k-fold, every token tested once. ``folds`` 0/1: one split with about
    ``test_fraction`` of the groups as test. Validation groups are taken from the non-test groups. Both are
    stratified by speaker group and class (:mod:`.plan.splits`): test and validation hold every speaker group
    with at least three speakers; :func:`~.plan.splits.split_notes` names the groups they miss.
    """
    n_groups = len(set(data.groups))
    k = folds if folds >= 2 else max(2, int(round(1 / test_fraction)))
    if n_groups < 3 or n_groups < k:
        raise RunDirError(
            f"only {n_groups} {data.group_by}(s) in this task: need at least {max(3, k)} for grouped splits"
        )
    strata = speaker_strata(data.rows, data.groups)
    outer = stratified_group_folds(data.targets, data.groups, strata, k, seed)
    chosen = outer if folds >= 2 else outer[:1]
    out = []
    for test_idx in chosen:
        split = np.full(len(data.targets), "train", dtype=object)
        split[test_idx] = "test"
        rest = np.flatnonzero(split == "train")
        k_val = max(2, min(int(round(1 / val_fraction)), len(set(data.groups[rest]))))
        val_local = stratified_group_folds(data.targets[rest], data.groups[rest], strata[rest], k_val, seed + 1)[0]
        split[rest[val_local]] = "val"
        out.append(split.astype(str))
    return out


@dataclass(frozen=True)
class Augment:
    """Axis-preserving augmentation on scaled spectrograms: no flips, no frequency warps, no resizing.

    ``shift``: up to this many frames of time shift (the gap filled with the floor value); ``mask``: up to this
    many frames of one time mask; ``noise``: std of Gaussian noise; ``gain``: up to +- this many scaled units
    added to the whole token (a level change, as dB add).
    """

    shift: int = 4
    mask: int = 8
    noise: float = 0.05
    gain: float = 0.1

    def __call__(self, x: torch.Tensor, floor: float, gen: torch.Generator) -> torch.Tensor:
        """Augment one ``[1, F, T]`` tensor (returns a new tensor)."""
        x = x.clone()
        if self.shift:
            x = _time_shift(x, int(torch.randint(-self.shift, self.shift + 1, (1,), generator=gen)), floor)
        if self.mask:
            width = int(torch.randint(0, self.mask + 1, (1,), generator=gen))
            start = int(torch.randint(0, x.shape[-1] - width + 1, (1,), generator=gen))
            x[..., start : start + width] = floor
        if self.gain:
            x += (torch.rand(1, generator=gen) * 2 - 1) * self.gain
        if self.noise:
            x += torch.randn(x.shape, generator=gen) * self.noise
        return x


def _time_shift(x: torch.Tensor, shift: int, floor: float) -> torch.Tensor:
    if shift == 0:
        return x
    out = torch.full_like(x, floor)
    if shift > 0:
        out[..., shift:] = x[..., :-shift]
    else:
        out[..., :shift] = x[..., -shift:]
    return out


class SpectrogramDataset(Dataset):
    """Tokens of a task read from the store (memory-mapped), scaled (:func:`~.models.scale_input`),
    optionally augmented.

    Items are ``(x [1, F, T] float32, target, index)`` where ``index`` is the position in ``indices``' source.
    """

    def __init__(
        self,
        store: SpectrogramStore,
        rows: Sequence[dict[str, Any]],
        targets: np.ndarray,
        indices: np.ndarray,
        max_freq: float,
        norm: dict[str, float],
        augment: Augment | None = None,
        seed: int = 0,
    ):
        self.store, self.rows, self.targets = store, rows, targets
        self.indices = np.asarray(indices)
        self.max_freq, self.norm, self.augment = max_freq, norm, augment
        self.floor = float(scale_input(torch.tensor(float(store.settings.get("db_floor", -100.0))), norm))
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        idx = int(self.indices[i])
        row = self.rows[idx]
        spec = self.store.get(row["spec_shard"], row["spec_row"], self.max_freq)
        x = scale_input(torch.from_numpy(spec), self.norm)
        x = x.unsqueeze(0)
        if self.augment is not None:
            x = self.augment(x, self.floor, self.gen)
        return x, int(self.targets[idx]), idx


def scale_input(db: torch.Tensor, norm: Mapping[str, float]) -> torch.Tensor:
    """The model's input from dB values: ``(dB - floor) / scale`` (0 = silence), or the legacy z-score
    ``(dB - mean) / std`` for a checkpoint whose ``norm`` has no ``floor``."""
    offset, scale = input_offset_scale(norm)
    return (db - offset) / scale


def input_offset_scale(norm: Mapping[str, float]) -> tuple[float, float]:
    """``(offset, scale)`` of a checkpoint's input scaling (see :func:`scale_input`)."""
    if "floor" in norm:
        return float(norm["floor"]), float(norm["scale"])
    return float(norm["mean"]), float(norm["std"])


def silence_scaling(stats: Mapping[str, float], db_floor: float) -> dict[str, float]:
    """The input scaling new models use: offset at the store's ``db_floor`` (so 0 = silence), scaled by the
    training tokens' dB standard deviation ``stats["std"]``; ``stats["mean"]`` kept as ``mean_db`` for the record."""
    return {"floor": float(db_floor), "scale": float(stats["std"]), "mean_db": float(stats["mean"])}


def describe_input_scaling(norm: Mapping[str, float]) -> str:
    """One line for meta files and reports."""
    offset, scale = input_offset_scale(norm)
    if "floor" in norm:
        return f"(dB - {offset:g}) / {scale:.4g}: 0 = the dB floor (silence), zero padding = silence"
    return (
        f"(dB - {offset:.4g}) / {scale:.4g} (legacy corpus-mean z-score: 0 = mean loudness, so zero padding "
        f"adds mean loudness at the axis edges)"
    )


def estimate_input_level(
    store: SpectrogramStore,
    rows: Sequence[dict[str, Any]],
    indices: np.ndarray,
    max_freq: float,
    max_tokens: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Global mean and std of the dB values over (a sample of) the training tokens."""
    rng = np.random.default_rng(seed)
    sample = indices if len(indices) <= max_tokens else rng.choice(indices, max_tokens, replace=False)
    specs = store.get_many([(rows[i]["spec_shard"], rows[i]["spec_row"]) for i in sample], max_freq=max_freq)
    return {"mean": float(specs.mean()), "std": float(max(specs.std(), 1e-3))}


def check_places(rows: Sequence[dict[str, Any]], source: str) -> None:
    """Refuse tokens without a place in the store (extraction incomplete)."""
    missing = [r["token_id"] for r in rows if not isinstance(r.get("spec_shard"), int)]
    if missing:
        raise RunDirError(f"{source}: {len(missing)} tokens have no spectrogram (e.g. {missing[0]}); re-run extract")
