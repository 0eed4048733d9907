"""Splits stratified by speaker group: test and validation hold every group with enough speakers, no speaker is in
two splits, the folds depend on the seed alone, and a group with too few speakers is named instead of hidden."""

from __future__ import annotations

import numpy as np
import pytest

from vowelcam.learn.dataset import make_splits, select_task
from vowelcam.learn.plan.splits import split_notes

VOWELS = ("IY", "IH", "EH", "AE", "AA", "UW")


def corpus(speakers_per_group: dict[str, int], per_vowel: int = 2) -> list[dict]:
    """Token rows of a corpus where every speaker says every vowel ``per_vowel`` times."""
    rows = []
    for group, n in speakers_per_group.items():
        for s in range(n):
            speaker = f"{group[0]}{s:02d}"
            for v in VOWELS:
                for rep in range(per_vowel):
                    rows.append(
                        {
                            "token_id": f"{speaker}/{v}{rep}",
                            "file": f"{speaker}/{v}{rep}.wav",
                            "speaker": speaker,
                            "group": group,
                            "kind": "vowel",
                            "phone": v,
                        }
                    )
    return rows


def groups_in(data, split: np.ndarray, name: str) -> set[str]:
    return {r["group"] for r, s in zip(data.rows, split) if s == name}


def speakers_in(data, split: np.ndarray, name: str) -> set[str]:
    return set(data.groups[split == name])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sizes", [(3, 3, 3), (8, 6, 3), (12, 12, 4)])
def test_every_group_with_three_speakers_is_in_test_and_validation(seed, sizes):
    data = select_task(corpus(dict(zip(("men", "women", "children"), sizes))), "vowels")
    (split,) = make_splits(data, folds=0, val_fraction=0.15, test_fraction=0.2, seed=seed)
    for name in ("train", "val", "test"):
        assert groups_in(data, split, name) == {"men", "women", "children"}, name
    assert split_notes(data.rows, data.groups, [split]) == []


@pytest.mark.parametrize("folds", [0, 3])
def test_no_speaker_is_in_two_splits(folds):
    data = select_task(corpus({"men": 5, "women": 4, "children": 2, "other": 1}), "vowels")
    for split in make_splits(data, folds=folds, val_fraction=0.15, test_fraction=0.2, seed=3):
        sets = [speakers_in(data, split, name) for name in ("train", "val", "test")]
        assert all(sets)
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
        assert set().union(*sets) == set(data.groups)


def test_kfold_tests_every_token_once_with_groups():
    data = select_task(corpus({"men": 6, "women": 5, "children": 4}), "vowels")
    splits = make_splits(data, folds=3, val_fraction=0.15, test_fraction=0.2, seed=0)
    assert (np.stack([s == "test" for s in splits]).sum(0) == 1).all()
    for split in splits:
        assert groups_in(data, split, "test") == {"men", "women", "children"}


def test_the_same_seed_gives_the_same_splits_and_another_seed_other_ones():
    data = select_task(corpus({"men": 6, "women": 6, "children": 6}), "vowels")
    first = make_splits(data, folds=0, val_fraction=0.15, test_fraction=0.2, seed=7)[0]
    again = make_splits(data, folds=0, val_fraction=0.15, test_fraction=0.2, seed=7)[0]
    assert (first == again).all()
    others = [make_splits(data, folds=0, val_fraction=0.15, test_fraction=0.2, seed=s)[0] for s in range(8)]
    assert any((o != first).any() for o in others)


def test_test_split_keeps_near_the_asked_fraction_of_each_big_group():
    data = select_task(corpus({"men": 10, "women": 10, "children": 10}), "vowels")
    (split,) = make_splits(data, folds=0, val_fraction=0.15, test_fraction=0.2, seed=0)
    tested = speakers_in(data, split, "test")
    assert 6 <= len(tested) <= 7  # about 2 of 10 per group
    assert {s[0] for s in tested} == {"m", "w", "c"}


def test_a_group_with_too_few_speakers_falls_back_with_a_note():
    data = select_task(corpus({"men": 4, "women": 4, "children": 2}), "vowels")
    (split,) = make_splits(data, folds=0, val_fraction=0.15, test_fraction=0.2, seed=0)
    assert {"men", "women"} <= groups_in(data, split, "test") and {"men", "women"} <= groups_in(data, split, "val")
    notes = split_notes(data.rows, data.groups, [split])
    missing = [g for g in ("test", "val") if "children" not in groups_in(data, split, g)]
    assert missing, "2 speakers cannot fill training, validation and test"
    assert len(notes) == 1 and "'children' (2 speakers)" in notes[0] and "at least 3 speakers" in notes[0]
    assert ("validation" in notes[0]) == ("val" in missing) and ("test split" in notes[0]) == ("test" in missing)


def test_one_speaker_group_stays_in_training_and_is_named():
    data = select_task(corpus({"men": 4, "women": 4, "children": 1}), "vowels")
    (split,) = make_splits(data, folds=0, val_fraction=0.15, test_fraction=0.2, seed=1)
    assert groups_in(data, split, "train") >= {"children"}
    assert "children" not in groups_in(data, split, "test") | groups_in(data, split, "val")
    (note,) = split_notes(data.rows, data.groups, [split])
    assert "'children' (1 speaker)" in note and "test split nor in the validation split" in note


def test_a_corpus_without_groups_splits_as_before_without_notes():
    rows = [{**r, "group": ""} for r in corpus({"men": 8})]
    data = select_task(rows, "vowels")
    splits = make_splits(data, folds=4, val_fraction=0.15, test_fraction=0.2, seed=0)
    assert (np.stack([s == "test" for s in splits]).sum(0) == 1).all()
    assert split_notes(data.rows, data.groups, splits) == []


def test_kfold_names_the_folds_a_group_of_too_few_speakers_for_them_misses():
    data = select_task(corpus({"men": 6, "women": 6, "children": 3}), "vowels")
    splits = make_splits(data, folds=5, val_fraction=0.15, test_fraction=0.2, seed=0)
    (note,) = split_notes(data.rows, data.groups, splits)
    assert "'children' (3 speakers) is not in the test split of folds 4, 5" in note
    assert "cannot be tested in each of 5 folds" in note
