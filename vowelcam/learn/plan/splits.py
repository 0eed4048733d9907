"""Speaker-grouped folds stratified by speaker group and by class.

A held-out split answers "how well does the model do on new speakers of the kinds it was trained on" only when it
holds speakers of every kind: a test split of two women, with men and children in training alone, asks about an
unseen speaker group instead. So the folds are made per speaker group (tokens.csv's ``group`` column, e.g. men,
women, children): every group with at least :data:`MIN_GROUP_SPEAKERS` speakers is cut into class-stratified,
speaker-grouped folds of its own, and fold *j* is the union of every group's fold *j*. Fold 0 (the test split of a
single held-out split, and the validation split inside the rest) then holds every such group. Groups with fewer
speakers cannot be in training, validation and test at once; their speakers are pooled and split as before
(class-stratified, speaker-grouped), and :func:`split_notes` says which split each such group is missing from.
No speaker is ever in two folds; the folds depend on the seed alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

MIN_GROUP_SPEAKERS = 3  # a speaker group needs this many speakers to be in training, validation and test
POOLED = ""  # the stratum of tokens without a speaker group, or of a group too small to stratify by


def speaker_strata(rows: Sequence[dict[str, Any]], groups: np.ndarray) -> np.ndarray:
    """Each token's stratum: its speaker group when that group has >= :data:`MIN_GROUP_SPEAKERS` split groups
    (speakers, or recordings for one speaker) and the corpus has at least two such groups; else :data:`POOLED`."""
    named = np.array([str(r.get("group") or "") for r in rows], dtype=object)
    big = [g for g in sorted(set(named) - {""}) if len(set(groups[named == g])) >= MIN_GROUP_SPEAKERS]
    if len(big) < 2:
        return np.full(len(rows), POOLED, dtype=object)
    return np.where(np.isin(named, big), named, POOLED)


def stratified_group_folds(
    targets: np.ndarray, groups: np.ndarray, strata: np.ndarray, k: int, seed: int
) -> list[np.ndarray]:
    """``k`` folds of token indices, no group (speaker) in two of them. Each stratum is cut into
    ``min(k, its groups)`` class-stratified grouped folds, numbered from 0, so fold 0 holds every stratum with at
    least two groups; a stratum of one group joins a fold other than 0."""
    parts: list[list[np.ndarray]] = [[] for _ in range(k)]
    lone = 0
    for stratum in sorted(set(strata)):
        idx = np.flatnonzero(strata == stratum)
        n_groups = len(set(groups[idx]))
        if n_groups == 1:
            parts[1 + lone % (k - 1)].append(idx)
            lone += 1
            continue
        for j, local in enumerate(grouped_folds(targets[idx], groups[idx], min(k, n_groups), seed)):
            parts[j].append(idx[local])
    return [np.sort(np.concatenate(p)) if p else np.array([], dtype=np.int64) for p in parts]


def grouped_folds(targets: np.ndarray, groups: np.ndarray, k: int, seed: int) -> Iterator[np.ndarray]:
    """Class-stratified grouped k-fold (scikit-learn's, shuffled with ``seed``): the test indices of each fold.

    The groups are renamed in a seeded random order first: scikit-learn 1.7 (the newest for Python 3.10) broke ties
    between groups of the same class make-up by their names whatever its ``random_state``, so there every seed gave
    the same split (1.9 does not)."""
    names, inverse = np.unique(groups, return_inverse=True)
    renamed = np.random.default_rng(seed).permutation(len(names))[inverse]
    # StratifiedGroupKFold warns when a class has fewer groups than folds; that is expected for rare classes.
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _, test_idx in splitter.split(np.zeros(len(targets)), targets, renamed):
            yield test_idx


def split_notes(rows: Sequence[dict[str, Any]], groups: np.ndarray, splits: Sequence[np.ndarray]) -> list[str]:
    """One sentence per speaker group missing from the test or validation split (of some fold), with its number
    of speakers; none when the corpus names fewer than two speaker groups."""
    named = np.array([str(r.get("group") or "") for r in rows], dtype=object)
    notes = []
    for group in sorted(set(named) - {""}) if len(set(named) - {""}) >= 2 else []:
        members = named == group
        missing = {
            shown: [k + 1 for k, split in enumerate(splits) if not (members & (split == name)).any()]
            for name, shown in (("test", "test"), ("val", "validation"))
        }
        where = [_where(name, folds, len(splits)) for name, folds in missing.items() if folds]
        if where:
            n = len(set(groups[members]))
            why = (
                f"a group needs at least {MIN_GROUP_SPEAKERS} speakers to be in training, validation and test"
                if n < MIN_GROUP_SPEAKERS
                else f"{n} speakers cannot be tested in each of {len(splits)} folds"
            )
            size = f"{n} speaker{'s' if n != 1 else ''}"
            notes.append(f"speaker group {group!r} ({size}) is not in {' nor in '.join(where)}: {why}")
    return notes


def _where(name: str, folds: list[int], n_folds: int) -> str:
    if n_folds == 1:
        return f"the {name} split"
    return f"the {name} split of fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))}"
