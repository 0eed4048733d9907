"""Score every token of a run directory with an existing model (``vowelcam analyze --model``).

The model is copied into the run (``model/model.pt``) so that the CAM and report stages find it and the run
directory stays self-contained; every scored token is marked ``split = test`` (none was seen in training here).

Under ``torchrun`` each rank scores a contiguous run of whole batches and rank 0 writes the gathered results:
the same batches as in one process, so the same ``predictions.csv`` byte for byte.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import rundir
from ..acoustics.store import SpectrogramStore
from ..errors import RunDirError
from ..progress import ProgressCallback, report
from ..tokens import read_tokens
from .dataset import select_task
from .device import CUDA_EVAL_BATCH, autocast, prepare_model, resolve_device, to_device
from .distributed import Dist, batch_shard, gather_arrays, process_group
from .metrics import accuracy_interval, prediction_columns, prediction_rows
from .models import ModelInfo, check_compatible, load_model

CPU_BATCH = 64  # inference batch on a CPU when none is given


@dataclass
class PredictResult:
    """Accuracy of an existing model on a run's tokens."""

    model_path: Path
    task: str
    arch: str
    labels: list[str]
    n_test: int
    accuracy: float
    ci_low: float
    ci_high: float
    ci_unit: str = "speaker"  # what the interval resamples


def predict_run(
    run_dir: str | Path,
    model: str | Path,
    device: str = "cpu",
    batch_size: int = 0,
    progress: ProgressCallback | None = None,
) -> PredictResult:
    """Write ``predictions.csv`` for every token of the model's task and copy the model into the run.

    ``batch_size`` 0 = :data:`CPU_BATCH` on a CPU, 256 on CUDA. Under torchrun every rank returns the same result.
    """
    run = rundir.RunDir(run_dir)
    requested = resolve_device(device)
    with process_group(requested) as place:
        dev = place.device(requested)
        batch = batch_size or (CUDA_EVAL_BATCH if dev.type == "cuda" else CPU_BATCH)
        net, info = load_model(model, dev)
        prepare_model(net, dev)
        store = SpectrogramStore(run.path(rundir.SPECTROGRAMS))
        check_compatible(info, store.settings, str(model))
        chosen, targets = _model_tokens(run, info)
        probs = _probabilities(net, info, store, chosen, dev, batch, place, progress)
        out_rows = prediction_rows(
            [r["token_id"] for r in chosen], targets, probs, info.labels, ["test"] * len(chosen), 0
        )
        target = run.path(rundir.MODEL)
        if place.is_main:
            rundir.write_csv(run.path(rundir.PREDICTIONS), out_rows, prediction_columns(info.labels))
            if Path(model).resolve() != target.resolve():
                with rundir.atomic_path(target, suffix=".pt") as tmp:
                    shutil.copyfile(model, tmp)
    correct = int(sum(r["correct"] for r in out_rows))
    lo, hi, unit = accuracy_interval(out_rows, {str(r["token_id"]): r for r in chosen})
    return PredictResult(
        target, info.task, info.arch, list(info.labels), len(out_rows), correct / len(out_rows), lo, hi, unit
    )


def _model_tokens(run: rundir.RunDir, info: ModelInfo) -> tuple[list[dict], np.ndarray]:
    """The run's tokens of the model's classes and their class indices in the model's labels."""
    rows = read_tokens(run.path(rundir.TOKENS))
    data = select_task(
        rows, info.task, ",".join(lab for lab in info.labels) if info.task != "voicing" else "all", group_by="recording"
    )  # no split here: the grouping is never used
    known = np.array([data.labels[t] in info.labels for t in data.targets])
    if not known.any():
        raise RunDirError(f"{run.root}: no token of the model's classes ({', '.join(info.labels)})")
    chosen = [r for r, k in zip(data.rows, known) if k]
    targets = np.array([info.labels.index(data.labels[t]) for t, k in zip(data.targets, known) if k])
    return chosen, targets


def _probabilities(
    net: torch.nn.Module,
    info: ModelInfo,
    store: SpectrogramStore,
    chosen: list[dict],
    dev: torch.device,
    batch: int,
    place: Dist,
    progress: ProgressCallback | None,
) -> np.ndarray:
    """Class probabilities ``[N, C]`` of ``chosen``: this rank's run of whole batches, gathered in token order."""
    first, stop = batch_shard(len(chosen), batch, place)
    probs = np.zeros((stop - first, len(info.labels)), dtype=np.float64)
    with torch.inference_mode():
        for start in range(first, stop, batch):
            rows = chosen[start : min(start + batch, stop)]
            specs = store.get_many([(r["spec_shard"], r["spec_row"]) for r in rows], max_freq=info.max_freq)
            x = info.prepare(specs)
            if dev.type == "cuda":
                x = x.pin_memory()
            with autocast(dev):
                logits = net(to_device(x, dev))
            probs[start - first : start - first + len(rows)] = torch.softmax(logits.float(), dim=1).cpu().numpy()
            if place.is_main:  # rank 0's share stands for the whole (the ranks run at the same pace)
                done = min((start - first + len(rows)) * place.world_size, len(chosen))
                report(progress, "predict", done, len(chosen))
    return gather_arrays(probs, place)
