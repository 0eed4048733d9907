"""``vowelcam train``: fit a ResNet on a run's spectrograms and score it honestly.

Writes into the run directory: ``model/model.pt`` (and ``model/fold-<k>.pt`` per fold with ``folds`` >= 2),
``model/metrics.csv`` (per epoch), ``model/splits.csv``, ``model/confusion.csv`` (test tokens),
``model/summary.json`` and ``predictions.csv`` (test tokens of every fold; with one split every token, marked
train/val/test). Outputs are written only once training has succeeded.

Under ``torchrun`` (see :mod:`vowelcam.learn.distributed`) every rank computes the same seeded splits (checked),
trains its DistributedSampler share through DistributedDataParallel, scores its run of whole batches of the
validation and test tokens and gathers them in token order; only rank 0 reports progress and writes files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import rundir
from ..acoustics.store import SpectrogramStore
from ..config import TrainSettings
from ..errors import ConfigError, RunDirError
from ..progress import ProgressCallback
from ..tokens import read_tokens
from . import dataset as ds
from . import loaders
from .device import PRECISIONS, prepare_model, resolve_device
from .distributed import Dist, check_same_on_all_ranks, from_env, gather_arrays, process_group
from .familiarity import training_profile
from .loop import Batches, fit_fold, predict
from .metrics import accuracy_interval, confusion_matrix, confusion_rows, prediction_columns, prediction_rows
from .models import (
    ALL_ARCHS,
    ModelInfo,
    checkpoint_dict,
    choose_freq_strides,
    hz_per_row_by_layer,
)
from .plan.initial import base_familiarity, choose_start, fine_tuning, initial_model, started_from
from .plan.recipe import fit_to_corpus
from .small_corpus import PROBLEMS, add_honesty, chance_accuracy, drop_rare_classes

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["epoch", "fold", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
SPLITS = "model/splits.csv"
CONFUSION = "model/confusion.csv"
SUMMARY = "model/summary.json"


@dataclass
class TrainResult:
    """What a training run reached (also written to ``model/summary.json``)."""

    model_path: Path
    task: str
    arch: str
    device: str
    labels: list[str]
    group_by: str
    n_tokens: int
    n_test: int
    accuracy: float
    ci_low: float
    ci_high: float
    ci_unit: str  # what the interval resamples: speaker (recording with one speaker)
    fold_accuracies: list[float]
    best_epochs: list[int]
    class_weights: dict[str, float]
    hz_per_row: dict[str, float]
    seconds: float
    chance: float = float("nan")  # accuracy of always answering the most frequent test class
    left_out: dict[str, int] = field(default_factory=dict)  # classes below min_class_tokens: their token counts
    warnings: list[str] = field(default_factory=list)  # what the run could not support (also in the log)
    test_groups: list[str] = field(default_factory=list)  # the held-out speakers (recordings for one speaker)
    epochs: int = 0  # the most epochs per fold (the recipe's when the settings said auto)
    batch_size: int = 0  # training batch size (likewise)


CPU_DEFAULT_ARCH = "resnet18-w16"  # see bench/bench_cpu_default.py and bench/results/cpu_default.json


def resolve_arch(arch: str, device: torch.device) -> str:
    """``auto`` = resnet101 (the study's) on a GPU; on a CPU the quarter-width ResNet-18 (``resnet18-w16``), which
    keeps the <= 125 Hz CAM rows and the accuracy at a fraction of the cost (bench/bench_cpu_default.py)."""
    if arch == "auto":
        chosen = "resnet101" if device.type == "cuda" else CPU_DEFAULT_ARCH
        log.info(
            "architecture: %s (default on %s%s)",
            chosen,
            device.type.upper(),
            "; the study used resnet101 (--arch resnet101), which trains far slower on a CPU"
            if chosen != "resnet101"
            else "",
        )
        return chosen
    if arch not in ALL_ARCHS:
        raise ConfigError(f"unknown architecture {arch!r}; choose auto or one of {', '.join(ALL_ARCHS)}")
    return arch


def train(
    run_dir: str | Path,
    settings: TrainSettings = TrainSettings(),
    device: str = "auto",
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train and score a classifier for ``settings.task`` on the run directory's tokens.

    Under torchrun every rank calls this and gets the same result; only rank 0 writes and reports progress.
    """
    started = time.perf_counter()
    run = rundir.RunDir(run_dir)
    _check_settings(settings)
    store, data, left_out, problems = _load_task(run, settings)
    requested = resolve_device(device)
    with process_group(requested) as place:
        dev = place.device(requested)
        arch = resolve_arch(settings.arch, dev)
        torch.manual_seed(settings.seed)
        splits = ds.make_splits(data, settings.folds, settings.val_fraction, settings.test_fraction, settings.seed)
        check_same_on_all_ranks("\n".join(",".join(split) for split in splits), "the splits", place)
        n_train = max(int((split == "train").sum()) for split in splits)
        familiar = _familiarity(store, data, splits[0])
        settings = choose_start(settings, arch, n_train, store, familiar, place.is_main)
        settings = fit_to_corpus(settings, n_train, place.is_main, fine_tuning(settings))
        freq_strides = choose_freq_strides(store.hz_per_row * settings.freq_pool, settings.max_hz_per_row)
        fingerprint = _fingerprint(settings, arch, data, store, freq_strides)
        models, states, pred_rows = [], [], []
        for fold, split in enumerate(splits):
            model, info, state, rows = _train_fold(
                run,
                store,
                data,
                split,
                fold,
                arch,
                freq_strides,
                settings,
                dev,
                fingerprint,
                progress if place.is_main else None,
                place,
            )
            models.append((model, info))
            states.append(state)
            pred_rows.extend(rows)
        result = _write_outputs(
            run, data, splits, models, states, pred_rows, settings, dev, started, (left_out, problems), place.is_main
        )
        if place.is_main:
            for fold in range(len(splits)):
                (run.path(rundir.MODEL_DIR) / f"state-fold{fold}.pt").unlink(missing_ok=True)
    return result


def _check_settings(settings: TrainSettings) -> None:
    if min(settings.epochs, settings.batch_size, settings.patience) < 0:
        raise ConfigError("epochs, batch size and patience must be at least 0 (0 = from the corpus's size)")
    if settings.freq_pool < 1 or settings.time_pool < 1:
        raise ConfigError("pooling must be at least 1")
    if settings.folds == 1 or settings.folds < 0:
        raise ConfigError(f"folds {settings.folds}: use 0 (one held-out split) or at least 2")
    if settings.precision not in PRECISIONS:
        raise ConfigError(f"precision {settings.precision!r}: use one of {', '.join(PRECISIONS)}")
    if settings.schedule not in ("cosine", "plateau"):
        raise ConfigError(f"schedule {settings.schedule!r}: use cosine or plateau")
    if settings.pretrained and fine_tuning(settings):
        raise ConfigError("give either --pretrained or --weights / --init base, not both")
    if settings.min_class_tokens < 1:
        raise ConfigError(f"min_class_tokens {settings.min_class_tokens}: use at least 1")


def _load_task(
    run: rundir.RunDir, settings: TrainSettings
) -> tuple[SpectrogramStore, ds.TaskData, dict[str, int], list[dict[str, Any]]]:
    tokens_path = run.path(rundir.TOKENS)
    if not tokens_path.is_file():
        raise RunDirError(f"{run.root}: no {rundir.TOKENS}; run `vowelcam extract` first")
    rows = read_tokens(tokens_path)
    if not rows:
        raise RunDirError(f"{tokens_path}: no tokens")
    store = SpectrogramStore(run.path(rundir.SPECTROGRAMS))
    data = ds.select_task(rows, settings.task, settings.vowels, settings.group_by)
    data, left_out, problems = drop_rare_classes(data, settings.min_class_tokens, str(tokens_path))
    ds.check_places(data.rows, str(tokens_path))
    counts = np.bincount(data.targets, minlength=len(data.labels))
    if from_env().is_main:
        log.info(
            "task %s: %d tokens, %d classes (%s), grouped by %s (%d groups)",
            data.task,
            len(data.rows),
            len(data.labels),
            ", ".join(f"{n} {c}" for n, c in zip(data.labels, counts)),
            data.group_by,
            len(set(data.groups)),
        )
    return store, data, left_out, problems


def _familiarity(store: SpectrogramStore, data: ds.TaskData, split: np.ndarray):
    """How well a model knows the first split's training tokens (see :func:`base_familiarity`)."""
    train_idx = np.flatnonzero(split == "train")
    rows = [data.rows[i] for i in train_idx]
    labels = [data.labels[data.targets[i]] for i in train_idx]
    return lambda model, info: base_familiarity(model, info, store, rows, labels)


def _fingerprint(
    settings: TrainSettings, arch: str, data: ds.TaskData, store: SpectrogramStore, freq_strides: list[int]
) -> dict[str, Any]:
    ignored = ("workers", "patience", "resume", "eval_batch_size", "compile")  # change speed, not results
    keys = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ignored}
    return {
        "settings": json.dumps(keys, sort_keys=True),
        "arch": arch,
        "n_tokens": len(data.rows),
        "labels": list(data.labels),
        "store": json.dumps(store.settings, sort_keys=True),
        "freq_strides": list(freq_strides),
    }


def _train_fold(
    run: rundir.RunDir,
    store: SpectrogramStore,
    data: ds.TaskData,
    split: np.ndarray,
    fold: int,
    arch: str,
    freq_strides: list[int],
    settings: TrainSettings,
    dev: torch.device,
    fingerprint: dict[str, Any],
    progress: ProgressCallback | None,
    place: Dist,
):
    train_idx, val_idx = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
    stats = ds.estimate_input_level(store, data.rows, train_idx, data.max_freq, seed=settings.seed)
    norm = ds.silence_scaling(stats, float(store.settings.get("db_floor", -100.0)))  # 0 = silence, as zero padding
    info = ModelInfo(
        arch=arch,
        labels=list(data.labels),
        task=data.task,
        max_freq=data.max_freq,
        spectrogram=store.settings,
        norm=norm,
        freq_strides=freq_strides,
        input_pool=[settings.freq_pool, settings.time_pool],
        hz_per_row=hz_per_row_by_layer(store.hz_per_row, freq_strides, settings.freq_pool),
        extra={
            "vowels": settings.vowels,
            "group_by": data.group_by,
            "fold": fold,
            "folds": settings.folds,
            "weights": settings.weights,  # resolved: "base", a file, or "" for random (or ImageNet) weights
            "started_from": started_from(settings),
        },
    )
    torch.manual_seed(settings.seed + fold)
    model = initial_model(info, settings, store)
    weights = ds.class_weights(data.targets[train_idx], len(data.labels))
    weight = torch.tensor(weights, dtype=torch.float32) if settings.class_weighting else None
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=settings.label_smoothing)
    prepare_model(model, dev)
    augment = ds.Augment() if settings.augment else None
    batches = Batches(
        train=loaders.train_loader(store, data, train_idx, norm, settings, augment, settings.seed + fold, dev, place),
        val=loaders.eval_loader(store, data, val_idx, norm, settings, dev, place),
        seed=settings.seed + fold,
        rank=place.rank,
        calibrate=loaders.calibration_loader(
            store, data, loaders.calibration_tokens(train_idx, settings.seed + fold), norm, settings, dev
        ),
        val_chance=chance_accuracy(data.targets[val_idx], len(data.labels)),
    )
    state_path = run.path(rundir.MODEL_DIR) / f"state-fold{fold}.pt"
    state = fit_fold(
        model, batches, loss_fn.to(dev), settings, dev, state_path, {**fingerprint, "fold": fold}, fold, progress, place
    )
    info.extra.update(
        {
            "best_epoch": state.best_epoch,
            "val_acc": state.best_acc,
            "class_weights": {lab: float(w) for lab, w in zip(data.labels, weights)}
            if settings.class_weighting
            else {},
        }
    )
    scored = np.arange(len(split)) if settings.folds < 2 else np.flatnonzero(split == "test")
    probs, targets, idx = predict(model, loaders.eval_loader(store, data, scored, norm, settings, dev, place), dev)
    probs, targets, idx = (gather_arrays(a, place) for a in (probs, targets, idx))
    rows = prediction_rows([data.rows[i]["token_id"] for i in idx], targets, probs, data.labels, split[idx], fold)
    train_rows = (data.rows[i] for i in train_idx)
    info.extra.update(training_profile(train_rows, [r for r in rows if r["split"] == "val"]))  # for classify
    tested = [r["correct"] for r in rows if r["split"] == "test"]
    if place.is_main:
        log.info(
            "fold %d: best epoch %d (val acc %.3f), test accuracy %.3f on %d tokens",
            fold + 1,
            state.best_epoch,
            state.best_acc,
            float(np.mean(tested)) if tested else float("nan"),
            len(tested),
        )
    return model.cpu(), info, state, rows


def _write_outputs(
    run: rundir.RunDir,
    data: ds.TaskData,
    splits: list[np.ndarray],
    models: list,
    states: list,
    pred_rows: list[dict[str, Any]],
    settings: TrainSettings,
    dev: torch.device,
    started: float,
    rare: tuple[dict[str, int], list[dict[str, Any]]] = ({}, []),
    write: bool = True,
) -> TrainResult:
    """Score the test tokens; with ``write`` (rank 0) write the model(s), metrics, splits, confusion,
    predictions, summary and the classes left out (``rare``: counts and problems rows)."""
    labels = data.labels
    test = [r for r in pred_rows if r["split"] == "test"]
    index = {lab: i for i, lab in enumerate(labels)}
    matrix = confusion_matrix([index[r["true"]] for r in test], [index[r["predicted"]] for r in test], len(labels))
    n_correct = sum(r["correct"] for r in test)
    low, high, unit = accuracy_interval(test, {r["token_id"]: r for r in data.rows}, settings.seed)
    fold_acc = [float(np.mean([r["correct"] for r in test if r["fold"] == k])) for k in range(len(splits))]
    info = models[0][1]
    result = TrainResult(
        model_path=run.path(rundir.MODEL),
        task=data.task,
        arch=info.arch,
        device=dev.type,
        labels=list(labels),
        group_by=data.group_by,
        n_tokens=len(data.rows),
        n_test=len(test),
        accuracy=n_correct / max(len(test), 1),
        ci_low=low,
        ci_high=high,
        ci_unit=unit,
        fold_accuracies=fold_acc,
        best_epochs=[s.best_epoch for s in states],
        class_weights=dict(info.extra["class_weights"]),
        hz_per_row=dict(info.hz_per_row),
        seconds=time.perf_counter() - started,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
    )
    add_honesty(result, data, splits, states, rare[0])
    if not write:
        return result
    if rare[1]:
        rundir.write_csv(run.path(PROBLEMS), rare[1], rundir.PROBLEM_COLUMNS)
    else:
        run.path(PROBLEMS).unlink(missing_ok=True)  # no class left out (this time)
    model_dir = run.path(rundir.MODEL_DIR)
    if settings.folds >= 2:
        for k, (model, fold_info) in enumerate(models):
            _save_model(model_dir / f"fold-{k}.pt", model, fold_info)
    _save_model(run.path(rundir.MODEL), *models[0])
    history = [rec for state in states for rec in state.history]
    rundir.write_csv(run.path(rundir.METRICS), history, METRIC_COLUMNS)
    split_rows = [
        {"token_id": r["token_id"], "fold": k, "split": s}
        for k, split in enumerate(splits)
        for r, s in zip(data.rows, split)
    ]
    rundir.write_csv(run.path(SPLITS), split_rows, ["token_id", "fold", "split"])
    rundir.write_csv(run.path(CONFUSION), confusion_rows(matrix, labels), ["true", *labels, "n", "recall"])
    rundir.write_csv(run.path(rundir.PREDICTIONS), pred_rows, prediction_columns(labels))
    summary = {
        **dataclasses.asdict(result),
        "model_path": str(result.model_path),
        "settings": dataclasses.asdict(settings),
        "confusion": matrix.tolist(),
    }
    rundir.atomic_write_text(run.path(SUMMARY), json.dumps(summary, indent=2))
    return result


def _save_model(path: Path, model: nn.Module, info: ModelInfo) -> None:
    # Through a file object: a full disk is an OSError (one line), not torch's C++ RuntimeError, and the archive's
    # inner folder is "archive", not the random temporary name, so equal weights give equal bytes.
    with rundir.atomic_path(path, suffix=".pt") as tmp, open(tmp, "wb") as fh:
        torch.save(checkpoint_dict(model, info), fh)
