"""Confusion counts and recall on an asymmetric matrix (rows true, columns predicted)."""

from __future__ import annotations

import numpy as np

from vowelcam.learn.metrics import confusion_matrix, confusion_rows


def test_recall_is_per_true_class():
    true = np.array([0, 0, 0, 0, 1, 1])
    predicted = np.array([0, 0, 0, 1, 1, 0])
    matrix = confusion_matrix(true, predicted, 2)
    assert matrix.tolist() == [[3, 1], [1, 1]]
    rows = confusion_rows(matrix, ["AA", "IY"])
    assert rows[0] == {"true": "AA", "AA": 3, "IY": 1, "n": 4, "recall": 0.75}
    assert rows[1] == {"true": "IY", "AA": 1, "IY": 1, "n": 2, "recall": 0.5}
    true = np.array([0, 1, 1, 1])
    predicted = np.array([0, 0, 0, 1])  # AA never mistaken, IY mostly taken for AA
    rows = confusion_rows(confusion_matrix(true, predicted, 2), ["AA", "IY"])
    assert [r["recall"] for r in rows] == [1.0, 1 / 3] and [r["n"] for r in rows] == [1, 3]
