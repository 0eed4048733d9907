"""vowelcam.learn under torchrun: DDP training and sharded inference on CPU with gloo, 2 processes.

The launches go through ``python -m torch.distributed.run`` (torchrun) in a subprocess, exactly as a user would
start them; a single-process run in this process is the reference.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from tests.helpers.corpus import write_pair
from tests.helpers.runs import extracted_run
from vowelcam import rundir
from vowelcam.acoustics.store import SpectrogramStore
from vowelcam.config import Settings, TrainSettings
from vowelcam.extract import extract
from vowelcam.learn import device as accel
from vowelcam.learn.distributed import Dist, batch_shard, gather_in_order, shard_bounds
from vowelcam.learn.loop import Batches
from vowelcam.learn.models import load_model
from vowelcam.learn.predict import predict_run
from vowelcam.learn.train import train

LAUNCH_TIMEOUT_S = 180
TRAIN_ARGS = ["--epochs", "2", "--arch", "resnet18", "--batch-size", "8", "--seed", "3"]
PREDICT_SCRIPT = """import sys
from vowelcam.learn.predict import predict_run
predict_run(sys.argv[1], sys.argv[2], device="cpu", batch_size=5)
"""


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def free_port() -> int:
    """A TCP port nobody listens on now (for the rendezvous)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(args: list[str], cwd: Path, config_dir: Path) -> subprocess.CompletedProcess:
    """Run ``torchrun --nproc-per-node 2 ARGS`` on CPU (gloo); fail the test with its output if it fails."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "VOWELCAM_CONFIG_DIR": str(config_dir)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(free_port()),
        *args,
    ]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


# --- sharding arithmetic (single process) ------------------------------------------------------------------


@pytest.mark.parametrize("n,world", [(0, 2), (1, 3), (10, 3), (36, 2), (37, 4)])
def test_shards_cover_every_item_once_in_order(n, world):
    shards = [shard_bounds(n, Dist(rank, world)) for rank in range(world)]
    assert [i for a, b in shards for i in range(a, b)] == list(range(n))
    assert max(b - a for a, b in shards) - min(b - a for a, b in shards) <= 1


@pytest.mark.parametrize("n,batch,world", [(36, 5, 2), (36, 5, 3), (3, 8, 2), (40, 8, 4), (0, 8, 2)])
def test_batch_shards_keep_single_process_batches(n, batch, world):
    shards = [batch_shard(n, batch, Dist(rank, world)) for rank in range(world)]
    assert [i for a, b in shards for i in range(a, b)] == list(range(n))
    single = {(s, min(s + batch, n)) for s in range(0, n, batch)}
    per_rank = {(s, min(s + batch, b)) for a, b in shards for s in range(a, b, batch)}
    assert per_rank == single  # the same batches, just spread over ranks


def test_single_process_helpers_are_no_ops():
    assert gather_in_order([3, 1], Dist()) == [3, 1]
    assert shard_bounds(7, Dist()) == (0, 7) and batch_shard(7, 3, Dist()) == (0, 7)


def test_distributed_sampler_epochs_partition_the_data_and_repeat_on_resume():
    """Two ranks' shares of an epoch are disjoint and cover the data; reseeding for an epoch repeats its order."""
    data = TensorDataset(torch.arange(10))

    def batches(rank: int) -> Batches:
        sampler = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=7 * 100_003)
        return Batches(DataLoader(data, batch_size=3, sampler=sampler), DataLoader(data), seed=7, rank=rank)

    ranks = [batches(0), batches(1)]
    orders = {}
    for epoch in (1, 2):
        for b in ranks:
            b.reseed(epoch)
        orders[epoch] = [list(b.train.sampler) for b in ranks]
        assert sorted(orders[epoch][0] + orders[epoch][1]) == list(range(10))
    assert orders[1] != orders[2]  # re-shuffled every epoch
    ranks[0].reseed(1)
    assert list(ranks[0].train.sampler) == orders[1][0]  # a resumed epoch repeats


# --- GPU path settings and their CPU fallbacks ---------------------------------------------------------------


def test_gpu_options_leave_the_cpu_path_alone():
    cpu = torch.device("cpu")
    assert accel.loader_options(cpu) == {"pin_memory": False}
    assert accel.eval_batch_size(0, 32, cpu) == 32 and accel.eval_batch_size(100, 32, cpu) == 100
    assert accel.eval_batch_size(0, 32, torch.device("cuda")) == accel.CUDA_EVAL_BATCH
    x = torch.randn(2, 1, 5, 4)
    assert accel.to_device(x, cpu).is_contiguous() and torch.equal(accel.to_device(x, cpu), x)
    assert isinstance(accel.autocast(cpu), type(accel.autocast(cpu)))  # a null context on a CPU
    model = torch.nn.Linear(3, 2)
    assert accel.maybe_compile(model, False) is model and accel.prepare_model(model, cpu) is model


@pytest.mark.slow
def test_bf16_channels_last_keeps_the_float32_decisions(tmp_path):
    """The GPU path's numerics (bf16 autocast, channels-last), run with the CPU's bf16 kernels as a stand-in:
    a trained model takes the same decisions as in float32, with probabilities within a few hundredths."""
    run = extracted_run(tmp_path / "run", speakers=6, per_class=4)
    torch.manual_seed(0)
    train(run, TrainSettings(arch="resnet18", epochs=2, batch_size=8, seed=0, max_hz_per_row=0.0))
    model, info = load_model(run / rundir.MODEL)
    store = SpectrogramStore(run / rundir.SPECTROGRAMS)
    tokens = rundir.read_csv(run / rundir.TOKENS)
    x = info.prepare(
        store.get_many([(int(t["spec_shard"]), int(t["spec_row"])) for t in tokens], max_freq=info.max_freq)
    )
    if accel.bf16_faulty_convolutions(model, [tuple(x.shape)]):  # oneDNN's AMX kernel at layer3/4 (16 frames)
        pytest.skip("this CPU's bf16 convolution is wrong for these shapes: it cannot stand in for the GPU's")
    with torch.no_grad():
        reference = torch.softmax(model(x), 1)
        model.to(memory_format=torch.channels_last)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            fast = torch.softmax(model(x.contiguous(memory_format=torch.channels_last)).float(), 1)
    confident = reference.max(1).values > 0.6  # a near-tie may flip under any rounding
    assert confident.sum() >= len(tokens) // 2
    assert torch.equal(fast[confident].argmax(1), reference[confident].argmax(1))
    assert (fast - reference).abs().max() < 0.05


def test_compile_failure_falls_back_to_eager_with_a_warning(monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("no C compiler found")

    monkeypatch.setattr(torch, "compile", lambda module: broken)
    torch.manual_seed(0)
    eager = torch.nn.Linear(3, 2)
    wrapped = accel.maybe_compile(eager, True)
    x = torch.randn(4, 3)
    with caplog.at_level(logging.WARNING, logger="vowelcam.learn.device"):
        out = wrapped(x)
    assert torch.equal(out, eager(x)) and "no C compiler found" in caplog.text
    assert wrapped(x).shape == (4, 2) and caplog.text.count("torch.compile failed") == 1  # warned once
    assert [p is q for p, q in zip(wrapped.parameters(), eager.parameters())] == [True, True]


# --- torchrun, 2 processes, gloo -----------------------------------------------------------------------------


@pytest.mark.slow
def test_ddp_train_writes_one_set_of_outputs_in_single_process_order(tmp_path, extracted_run_dir, run_copy):
    single, two = run_copy(extracted_run_dir, "single"), run_copy(extracted_run_dir, "two")
    # not the trained run: seed 3, as TRAIN_ARGS, gives the splits compared here
    train(single, TrainSettings(arch="resnet18", epochs=1, batch_size=8, seed=3))  # order and splits only
    done = torchrun(["-m", "vowelcam", "train", str(two), *TRAIN_ARGS], tmp_path, tmp_path / "config")
    log_text = done.stdout + done.stderr
    assert "rank 1 of 2 (local rank 1) joined the gloo process group" in log_text
    assert log_text.count("remembered as the default model") == 1  # only rank 0 reports and remembers
    assert log_text.count("fold 1 epoch 2:") == 1

    preds = rundir.read_csv(two / rundir.PREDICTIONS)
    reference = rundir.read_csv(single / rundir.PREDICTIONS)
    assert [p["token_id"] for p in preds] == [p["token_id"] for p in reference]  # every token once, same order
    assert [(p["true"], p["split"]) for p in preds] == [(p["true"], p["split"]) for p in reference]
    for p in preds:
        probs = [float(p[f"p_{lab}"]) for lab in ("AA", "IY", "UW")]
        assert sum(probs) == pytest.approx(1, abs=1e-4)
    metrics = rundir.read_csv(two / rundir.METRICS)
    assert [(m["epoch"], m["fold"]) for m in metrics] == [("1", "0"), ("2", "0")]  # one row per epoch, not per rank
    assert rundir.read_csv(two / "model" / "splits.csv") == rundir.read_csv(single / "model" / "splits.csv")
    written = sorted(p.name for p in (two / "model").iterdir())
    assert written == ["confusion.csv", "metrics.csv", "model.pt", "splits.csv", "summary.json", "train.toml"]
    model, info = load_model(two / rundir.MODEL)
    assert info.labels == ["AA", "IY", "UW"] and not model.training
    assert not any(k.startswith("module.") for k in model.state_dict())  # saved unwrapped from DDP


@pytest.mark.slow
def test_sharded_predict_run_writes_the_same_bytes(tmp_path, extracted_run_dir, trained_run_dir, run_copy):
    # a quick model: one epoch is enough to give varied probabilities
    single, two = run_copy(trained_run_dir, "single"), run_copy(extracted_run_dir, "two")
    model = tmp_path / "model.pt"
    shutil.copyfile(single / rundir.MODEL, model)
    result = predict_run(single, model, device="cpu", batch_size=5)  # 36 tokens: 8 batches, 4 per rank
    script = tmp_path / "predict.py"
    script.write_text(PREDICT_SCRIPT, encoding="utf-8")
    torchrun([str(script), str(two), str(model)], tmp_path, tmp_path / "config")
    ours = (two / rundir.PREDICTIONS).read_bytes()
    assert ours == (single / rundir.PREDICTIONS).read_bytes()
    assert len(rundir.read_csv(two / rundir.PREDICTIONS)) == result.n_test == 36
    assert (two / rundir.MODEL).read_bytes() == model.read_bytes()
    rows = rundir.read_csv(two / rundir.PREDICTIONS)
    probs = np.array([[float(r[f"p_{lab}"]) for lab in result.labels] for r in rows])
    assert probs.std(axis=0).max() > 0  # not a constant output that would match whatever the sharding


@pytest.mark.slow
def test_sharded_cam_writes_the_same_maps_and_tables(tmp_path, trained_run_dir, explained_run_dir, run_copy):
    """``vowelcam cam`` under torchrun: ranks compute whole batches, rank 0 gathers them in token order and writes."""
    single, two = explained_run_dir, run_copy(trained_run_dir, "two")  # the explained run: the same cam settings
    cam_args = ["--tokens", "all", "--no-faithfulness"]
    done = torchrun(["-m", "vowelcam", "cam", str(two), *cam_args, "--batch-size", "5"], tmp_path, tmp_path / "config")
    assert "Traceback" not in done.stderr
    for name in ("true.npy", "pred.npy"):
        ours, ref = np.load(two / "cams" / name), np.load(single / "cams" / name)
        assert ours.shape == ref.shape and ours.shape[0] == 36
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
        assert np.abs(ref).sum(axis=(1, 2)).min() > 0  # every token's map was computed (none left at zero)
    ours, ref = rundir.read_csv(two / rundir.BANDS), rundir.read_csv(single / rundir.BANDS)
    assert [r["token_id"] for r in ours] == [r["token_id"] for r in ref]
    assert [r["enrich_f1"] for r in ours] == [r["enrich_f1"] for r in ref]


@pytest.mark.slow
def test_analyze_under_torchrun_shares_extraction_and_writes_once(tmp_path):
    """``vowelcam analyze`` on 2 ranks: each extracts its chunks, rank 0 merges, trains (DDP), CAMs and report."""
    corpus = tmp_path / "corpus"
    for s in range(6):
        for rep in range(2):
            write_pair(corpus / f"spk{s}", f"utt{rep}", ["IY1", "AA1", "S", "UW1", "AA1", "IY1"], seed=10 * s + rep)
    config = tmp_path / "fast.toml"
    config.write_text(
        "[extract]\nchunk_files = 3\n[train]\nmax_hz_per_row = 0.0\nfreq_pool = 2\ntime_pool = 2\n"
        "[cam]\nfaithfulness = false\n"
    )
    single = tmp_path / "single"
    extract(corpus, single, settings=Settings().with_overrides({"extract": {"chunk_files": 3}}))
    two = tmp_path / "two"
    args = [
        "-m",
        "vowelcam",
        "analyze",
        str(corpus),
        "--out",
        str(two),
        "--epochs",
        "1",
        "--arch",
        "resnet18",
        "--task",
        "vowels4k",
        "--config",
        str(config),
        "--device",
        "cpu",
    ]
    done = torchrun(args, tmp_path, tmp_path / "config")
    log_text = done.stdout + done.stderr
    assert "rank 0 of 2 extracts 2 of the 4 chunks" in log_text and "rank 1 of 2 extracts 2 of the 4 chunks" in log_text
    assert (two / rundir.TOKENS).read_bytes() == (single / rundir.TOKENS).read_bytes()
    ours, ref = SpectrogramStore(two / rundir.SPECTROGRAMS), SpectrogramStore(single / rundir.SPECTROGRAMS)
    for shard in range(4):
        np.testing.assert_array_equal(ours._shard(shard), ref._shard(shard))
    predictions = rundir.read_csv(two / rundir.PREDICTIONS)
    assert len({p["token_id"] for p in predictions}) == len(predictions) == 60  # every vowel once, not per rank
    assert set(json.loads((two / "stages.json").read_text())) == {"train", "cam", "report"}
    assert (two / "report" / "report.html").read_text(encoding="utf-8").count("<table") >= 2
    assert log_text.count("CAM resolution") == 1  # rank 0 alone prints the summary table
