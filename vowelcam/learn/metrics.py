"""Scores of a classifier: accuracy with a speaker-level (cluster bootstrap) 95 % interval, confusion matrix,
predictions rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..checks.finite import listed, nonfinite_rows
from ..errors import ModelError
from ..intervals import cluster_bootstrap_mean, resampling_clusters, wilson_interval

__all__ = [
    "wilson_interval",
    "accuracy_interval",
    "confusion_matrix",
    "confusion_rows",
    "prediction_columns",
    "prediction_rows",
]
ACCURACY_BOOTSTRAP = 2000


def accuracy_interval(
    pred_rows: Sequence[Mapping[str, Any]], tokens: Mapping[str, Mapping[str, Any]], seed: int = 0
) -> tuple[float, float, str]:
    """95 % interval of the accuracy of ``pred_rows`` (with ``token_id`` and ``correct``) from a cluster bootstrap
    over the tokens' speakers (recordings with one speaker): ``(lo, hi, unit)``. NaN bounds with one cluster."""
    toks = [tokens.get(str(r["token_id"]), {}) for r in pred_rows]
    clusters, unit = resampling_clusters(
        [str(t.get("speaker") or "") for t in toks], [str(t.get("file") or "") for t in toks]
    )
    _, lo, hi, _, _ = cluster_bootstrap_mean(
        [float(r["correct"]) for r in pred_rows], clusters, ACCURACY_BOOTSTRAP, seed
    )
    return lo, hi, unit


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def confusion_rows(matrix: np.ndarray, labels: Sequence[str]) -> list[dict[str, Any]]:
    """The confusion matrix as CSV rows: ``true`` then one count column per predicted label, then ``n``, ``recall``."""
    rows = []
    for i, name in enumerate(labels):
        n = int(matrix[i].sum())
        row: dict[str, Any] = {"true": name, **{lab: int(matrix[i, j]) for j, lab in enumerate(labels)}}
        row["n"] = n
        row["recall"] = float(matrix[i, i] / n) if n else float("nan")
        rows.append(row)
    return rows


def prediction_columns(labels: Sequence[str]) -> list[str]:
    """Columns of ``predictions.csv``."""
    return [
        "token_id",
        "true",
        "predicted",
        "prob_true",
        "prob_predicted",
        *[f"p_{lab}" for lab in labels],
        "split",
        "fold",
        "correct",
    ]


def prediction_rows(
    token_ids: Sequence[str],
    targets: np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    splits: Sequence[str],
    fold: int,
) -> list[dict[str, Any]]:
    """One ``predictions.csv`` row per token from class probabilities ``[N, C]``; :class:`ModelError` naming the
    tokens when the model gave NaN or infinite values for any (never a silent NaN in predictions.csv)."""
    bad = nonfinite_rows(probs)
    if len(bad):
        raise ModelError(
            f"the model's outputs are NaN or infinite for tokens {listed([token_ids[i] for i in bad])} "
            f"(fold {fold}); its weights or those tokens' spectrograms are not finite: retrain, or re-extract"
        )
    predicted = probs.argmax(axis=1)
    rows = []
    for i, tid in enumerate(token_ids):
        t, p = int(targets[i]), int(predicted[i])
        row: dict[str, Any] = {
            "token_id": tid,
            "true": labels[t],
            "predicted": labels[p],
            "prob_true": float(probs[i, t]),
            "prob_predicted": float(probs[i, p]),
            "split": splits[i],
            "fold": fold,
            "correct": int(t == p),
        }
        row.update({f"p_{lab}": float(probs[i, j]) for j, lab in enumerate(labels)})
        rows.append(row)
    return rows
