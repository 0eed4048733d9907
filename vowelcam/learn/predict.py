"""Score every token of a run directory with an existing model (``vowelcam analyze --model``).

The model is copied into the run (``model/model.pt``) so that the CAM and report stages find it and the run
directory stays self-contained; every scored token is marked ``split = test`` (none was seen in training here).
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
from .metrics import prediction_columns, prediction_rows, wilson_interval
from .models import check_compatible, load_model


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


def predict_run(run_dir: str | Path, model: str | Path, device: str = "cpu", batch_size: int = 64,
                progress: ProgressCallback | None = None) -> PredictResult:
    """Write ``predictions.csv`` for every token of the model's task and copy the model into the run."""
    run = rundir.RunDir(run_dir)
    dev = torch.device("cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
    net, info = load_model(model, dev)
    store = SpectrogramStore(run.path(rundir.SPECTROGRAMS))
    check_compatible(info, store.settings, str(model))
    rows = read_tokens(run.path(rundir.TOKENS))
    data = select_task(rows, info.task, ",".join(lab for lab in info.labels) if info.task != "voicing" else "all")
    known = np.array([data.labels[t] in info.labels for t in data.targets])
    if not known.any():
        raise RunDirError(f"{run.root}: no token of the model's classes ({', '.join(info.labels)})")
    chosen = [r for r, k in zip(data.rows, known) if k]
    targets = np.array([info.labels.index(data.labels[t]) for t, k in zip(data.targets, known) if k])
    probs = np.zeros((len(chosen), len(info.labels)), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(chosen), batch_size):
            batch = chosen[start: start + batch_size]
            specs = store.get_many([(r["spec_shard"], r["spec_row"]) for r in batch], max_freq=info.max_freq)
            logits = net(info.prepare(specs).to(dev))
            probs[start: start + len(batch)] = torch.softmax(logits.float(), dim=1).cpu().numpy()
            report(progress, "predict", start + len(batch), len(chosen))
    out_rows = prediction_rows([r["token_id"] for r in chosen], targets, probs, info.labels, ["test"] * len(chosen), 0)
    rundir.write_csv(run.path(rundir.PREDICTIONS), out_rows, prediction_columns(info.labels))
    target = run.path(rundir.MODEL)
    if Path(model).resolve() != target.resolve():
        with rundir.atomic_path(target, suffix=".pt") as tmp:
            shutil.copyfile(model, tmp)
    correct = int(sum(r["correct"] for r in out_rows))
    lo, hi = wilson_interval(correct, len(out_rows))
    return PredictResult(target, info.task, info.arch, list(info.labels), len(out_rows), correct / len(out_rows), lo, hi)
