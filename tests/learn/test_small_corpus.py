"""Small-corpus honesty: rare classes left out and listed, chance stated, BatchNorm recalibrated before validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tests.helpers.runs import extracted_run
from vowelcam import rundir
from vowelcam.config import TrainSettings
from vowelcam.errors import RunDirError
from vowelcam.learn.dataset import select_task
from vowelcam.learn.loop import recalibrate_batchnorm
from vowelcam.learn.small_corpus import RARE_REASON, at_chance, chance_accuracy, drop_rare_classes
from vowelcam.tokens import read_tokens

FAST = dict(arch="resnet18", epochs=1, batch_size=16, seed=3, max_hz_per_row=0.0, augment=False)


def _keep_only(run, phone: str, n: int) -> None:
    """Keep ``n`` tokens of ``phone`` in the run's tokens.csv (from different speakers), all of the others."""
    rows = rundir.read_csv(run / rundir.TOKENS)
    kept, seen = [], 0
    for r in rows:
        if r["phone"] == phone:
            seen += 1
            if seen > n:
                continue
        kept.append(r)
    rundir.write_csv(run / rundir.TOKENS, kept, list(rows[0]))


def test_drop_rare_classes_counts_and_problems(tmp_path):
    run = extracted_run(tmp_path / "run", phones=("IY", "AA", "UW", "AE"), speakers=6, per_class=2)
    _keep_only(run, "AE", 3)
    data = select_task(read_tokens(run / rundir.TOKENS), "vowels")
    kept, left_out, problems = drop_rare_classes(data, 5, "tokens.csv")
    assert left_out == {"AE": 3} and kept.labels == ["AA", "IY", "UW"] and len(kept.rows) == 36
    assert [kept.labels[t] for t in kept.targets] == [r["phone"] for r in kept.rows]
    assert problems == [
        {
            "path": "tokens.csv",
            "tier": "",
            "interval": "",
            "reason": RARE_REASON,
            "detail": "class AE: 3 token(s) < 5; left out of training and testing",
        }
    ]
    same, none, _ = drop_rare_classes(data, 3)
    assert none == {} and same is data
    with pytest.raises(RunDirError, match="only 0 class.*at least 13 tokens"):
        drop_rare_classes(data, 13)


def test_chance_is_the_majority_share_and_at_chance_uses_the_wilson_bound():
    assert chance_accuracy(np.array([0, 0, 0, 1]), 3) == 0.75
    assert chance_accuracy(np.array([], dtype=int), 4) == 0.25
    assert at_chance(0.40, 20, 1 / 3)  # 8 of 20: Wilson 95 % lower bound 0.22 < 0.33
    assert not at_chance(0.80, 50, 1 / 3)  # lower bound 0.67
    assert at_chance(float("nan"), 10, 0.5) and at_chance(1.0, 0, 0.5)


def test_recalibration_gives_the_calibration_set_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 2))
    model.eval()
    x = torch.randn(40, 3) * torch.tensor([1.0, 3.0, 0.5]) + torch.tensor([5.0, -2.0, 0.0])
    loader = DataLoader(TensorDataset(x, torch.zeros(40, dtype=torch.long), torch.arange(40)), batch_size=10)
    seen = recalibrate_batchnorm(model, loader, torch.device("cpu"))
    bn = model[0]
    assert seen == 40 and not model.training and bn.momentum == 0.1
    batch_means = x.view(4, 10, 3).mean(1)
    batch_vars = x.view(4, 10, 3).var(1, unbiased=True)
    torch.testing.assert_close(bn.running_mean, batch_means.mean(0))
    torch.testing.assert_close(bn.running_var, batch_vars.mean(0))
    assert recalibrate_batchnorm(model, None, torch.device("cpu")) == 0


@pytest.mark.slow
def test_training_leaves_rare_classes_out_and_says_when_validation_is_at_chance(tmp_path, one_torch_thread):
    from vowelcam.learn.train import train

    run = extracted_run(tmp_path / "run", phones=("IY", "AA", "UW", "AE"), speakers=6, per_class=2)
    _keep_only(run, "AE", 2)
    # the sceptic's control: labels shuffled across tokens, so nothing can be learnt
    rows = rundir.read_csv(run / rundir.TOKENS)
    phones = [r["phone"] for r in rows]
    np.random.default_rng(0).shuffle(phones)
    for r, p in zip(rows, phones):
        r["phone"] = r["label"] = p
    rundir.write_csv(run / rundir.TOKENS, rows, list(rows[0]))
    counts = {p: phones.count(p) for p in set(phones)}
    result = train(run, TrainSettings(**FAST))
    assert result.left_out == {"AE": 2} == {p: n for p, n in counts.items() if n < 5}
    assert result.labels == ["AA", "IY", "UW"]
    preds = rundir.read_csv(run / rundir.PREDICTIONS)
    assert len(preds) == 36 and {p["true"] for p in preds} == {"AA", "IY", "UW"}
    problems = rundir.read_csv(run / "model" / "problems.csv")
    assert [(p["reason"], p["detail"]) for p in problems] == [
        (RARE_REASON, "class AE: 2 token(s) < 5; left out of training and testing")
    ]
    test_true = [p["true"] for p in preds if p["split"] == "test"]
    assert result.chance == pytest.approx(max(test_true.count(c) for c in set(test_true)) / len(test_true))
    assert any("never rose above chance" in w and "--vowels corner" in w for w in result.warnings)
    assert any("left out 1 class" in w for w in result.warnings)


@pytest.mark.slow
def test_learnable_data_gives_no_chance_warning(tmp_path, one_torch_thread):
    """The positive control of the test above: the same classes with their true labels are learnt, and the run
    neither leaves a class out nor warns about chance."""
    from vowelcam.learn.train import train

    run = extracted_run(tmp_path / "run", speakers=6, per_class=4)
    result = train(run, TrainSettings(**{**FAST, "epochs": 3}))
    val = [float(m["val_acc"]) for m in rundir.read_csv(run / rundir.METRICS)]
    assert max(val) == 1.0 and result.accuracy == 1.0 and result.chance == pytest.approx(1 / 3)
    assert result.warnings == [] and result.left_out == {}
    assert not (run / "model" / "problems.csv").exists()
