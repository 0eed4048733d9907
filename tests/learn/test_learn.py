"""vowelcam.learn: models, splits, augmentation, training, checkpoints, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision import models as tvm

from tests.helpers.runs import extracted_run
from vowelcam import rundir
from vowelcam.config import TrainSettings
from vowelcam.errors import ConfigError, ModelError, RunDirError
from vowelcam.learn import models
from vowelcam.learn.dataset import Augment, class_weights, make_splits, select_task
from vowelcam.learn.metrics import confusion_matrix, wilson_interval
from vowelcam.learn.models import (
    ModelInfo,
    SpectrogramResNet,
    check_compatible,
    choose_freq_strides,
    feature_layers,
    hz_per_row_by_layer,
    imagenet_state_dict,
    load_model,
)
from vowelcam.learn.train import train
from vowelcam.tokens import read_tokens

FAST = dict(arch="resnet18", epochs=2, batch_size=16, seed=3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- models ------------------------------------------------------------------------------------------------


def test_freq_strides_keep_125_hz_per_row_at_layer4():
    strides = choose_freq_strides(31.25, 125.0)
    assert strides == [2, 2, 1, 1, 1]
    assert hz_per_row_by_layer(31.25, strides) == {"layer1": 125.0, "layer2": 125.0, "layer3": 125.0, "layer4": 125.0}
    assert choose_freq_strides(31.25, 0.0) == [2, 2, 2, 2, 2]
    assert hz_per_row_by_layer(31.25, [2] * 5)["layer4"] == 1000.0
    model = SpectrogramResNet("resnet18", 5, strides).eval()
    feats = model.forward_features(torch.zeros(1, 1, 129, 96))
    assert feats.shape[2] == 33  # 129 rows / 4 (rounded up): 4000 Hz / 125 Hz + 1
    assert feats.shape[3] == 3  # time still strided 32x
    assert set(feature_layers(model)) == {"layer1", "layer2", "layer3", "layer4"}


def test_bottleneck_arch_gets_time_only_strides():
    model = SpectrogramResNet("resnet50", 3, choose_freq_strides(31.25, 125.0)).eval()
    assert model.forward_features(torch.zeros(1, 1, 65, 32)).shape[1:3] == (2048, 17)
    assert model(torch.zeros(2, 1, 65, 32)).shape == (2, 3)


def test_single_channel_model_equals_rgb_model_on_grey_input(tmp_path, monkeypatch):
    """ImageNet weights from a (locally made) torch cache file: conv1 summed over RGB gives the same logits."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    rgb = tvm.resnet18(weights=None).eval()
    cache = models.imagenet_cache_path("resnet18")
    assert cache.parent == tmp_path / "hub" / "checkpoints" and cache.name.startswith("resnet18-")
    cache.parent.mkdir(parents=True)
    torch.save(rgb.state_dict(), cache)
    monkeypatch.setattr(models, "_reachable", lambda host, timeout=3.0: pytest.fail("must not touch the network"))
    grey = SpectrogramResNet("resnet18", 1000)
    models.load_backbone(grey, imagenet_state_dict("resnet18"), "cache")
    grey.fc.load_state_dict(rgb.fc.state_dict())  # the head is never taken without class names
    grey.eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(grey(x), rgb(x.repeat(1, 3, 1, 1)), atol=1e-4)
    assert torch.allclose(grey.conv1.weight, rgb.conv1.weight.sum(1, keepdim=True))


def test_local_weights_file_loads_backbone_but_not_a_foreign_head(tmp_path):
    info = ModelInfo("resnet18", ["A", "B", "C", "D"], "vowels", 0.0, {}, {"mean": 0.0, "std": 1.0}, [2] * 5)
    donor = models.build_model(info)
    path = tmp_path / "donor.pt"
    torch.save(models.checkpoint_dict(donor, info), path)
    torch.manual_seed(1)
    model = SpectrogramResNet("resnet18", 3)
    fc_before = model.fc.weight.clone()
    n = models.load_backbone(model, models.read_state_dict(path), str(path))
    assert n == len(model.state_dict()) - 2  # everything but fc.weight / fc.bias (4 classes vs 3)
    assert torch.equal(model.layer4[1].conv2.weight, donor.layer4[1].conv2.weight)
    assert torch.equal(model.fc.weight, fc_before)
    with pytest.raises(ModelError, match="not weights for resnet50"):
        models.load_backbone(SpectrogramResNet("resnet50", 3), models.read_state_dict(path), "donor")


def test_pretrained_offline_without_cache_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(models, "_reachable", lambda host, timeout=3.0: False)
    with pytest.raises(ModelError, match=r"not in the torch cache .*resnet101-.*cannot be reached"):
        imagenet_state_dict("resnet101")


def test_load_model_refuses_non_models(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="junk.pt: not a vowelcam model"):
        load_model(junk)
    plain = tmp_path / "plain.pt"
    torch.save({"a": torch.zeros(2)}, plain)
    with pytest.raises(ModelError, match="plain.pt: not a vowelcam model"):
        load_model(plain)
    with pytest.raises(ModelError, match="no such model file"):
        load_model(tmp_path / "absent.pt")


def test_check_compatible_names_the_difference():
    info = ModelInfo(
        "resnet18",
        ["A", "B"],
        "vowels",
        0.0,
        {"sample_rate": 16000, "n_fft": 512, "window_ms": 15.0, "hop_ms": 5.0, "n_frames": 96, "db_floor": -100.0},
        {"mean": 0.0, "std": 1.0},
        [2] * 5,
    )
    check_compatible(info, dict(info.spectrogram), "m.pt")
    with pytest.raises(ModelError, match=r"m.pt: .*n_fft 512 vs 1024"):
        check_compatible(info, {**info.spectrogram, "n_fft": 1024}, "m.pt")
    with pytest.raises(ModelError, match="model band full Hz vs store up to 4000 Hz"):
        check_compatible(info, {**info.spectrogram, "max_freq": 4000.0}, "m.pt")
    x = info.prepare(np.full((3, 5, 7), 2.0, dtype=np.float32))
    assert x.shape == (3, 1, 5, 7) and float(x[0, 0, 0, 0]) == 2.0


# --- data ----------------------------------------------------------------------------------------------------


def _rows(run):
    return read_tokens(run / rundir.TOKENS)


def test_select_task_labels_and_grouping(tmp_path):
    run = extracted_run(tmp_path / "run", phones=("IY", "AA", "UW"), speakers=5, per_class=2, unvoiced=2)
    rows = _rows(run)
    vowels = select_task(rows, "vowels4k", "IY,UW")
    assert vowels.labels == ["IY", "UW"] and vowels.max_freq == 4000.0 and len(vowels.rows) == 20
    assert vowels.group_by == "speaker"
    voicing = select_task(rows, "voicing", "corner")
    assert (
        voicing.labels == ["unvoiced", "vowel"] and len(voicing.rows) == 5 * 2 + 5 * 2 * 3
    )  # all three are corner vowels
    two = [r for r in rows if r["speaker"] in ("spk0", "spk1")]
    with pytest.raises(ConfigError, match="only 2 speakers.*--group-by"):
        select_task(two, "vowels")  # never a silent per-file split
    few = select_task(two, "vowels", group_by="recording")
    assert few.group_by == "recording" and list(few.groups) == [r["file"] for r in few.rows]
    one = select_task([{**r, "speaker": "spk0"} for r in two], "vowels")
    assert one.group_by == "recording"  # one speaker: by recording, as the design says, and logged
    with pytest.raises(RunDirError, match="at least two classes.*only 'IY'"):
        select_task(rows, "vowels", "IY")
    with pytest.raises(ConfigError, match="unknown task"):
        select_task(rows, "formants")


def test_a_token_without_speaker_stops_the_split_instead_of_regrouping(tmp_path):
    rows = _rows(extracted_run(tmp_path / "run", speakers=5, per_class=2))
    rows[3] = {**rows[3], "speaker": ""}
    with pytest.raises(ConfigError, match=rf"1 of {len(rows)} tokens have no speaker.*{rows[3]['token_id']}"):
        select_task(rows, "vowels")
    with pytest.raises(RunDirError, match=rf"{rows[3]['file']}: token .* has no speaker"):
        select_task(rows, "vowels", group_by="speaker")
    assert select_task(rows, "vowels", group_by="recording").group_by == "recording"
    with pytest.raises(ConfigError, match="group_by 'file'"):
        select_task(rows, "vowels", group_by="file")


def test_grouped_kfold_tests_every_token_once_and_keeps_speakers_apart(tmp_path):
    data = select_task(_rows(extracted_run(tmp_path / "run", speakers=8, per_class=2)), "vowels")
    splits = make_splits(data, folds=4, val_fraction=0.15, test_fraction=0.2, seed=0)
    assert len(splits) == 4
    tested = np.stack([s == "test" for s in splits]).sum(0)
    assert (tested == 1).all()
    for split in splits:
        sets = {name: set(data.groups[split == name]) for name in ("train", "val", "test")}
        assert sets["train"] and sets["val"] and sets["test"]
        assert (
            not (sets["train"] & sets["test"])
            and not (sets["train"] & sets["val"])
            and not (sets["val"] & sets["test"])
        )
    with pytest.raises(RunDirError, match="only 8 speaker"):
        make_splits(data, folds=10, val_fraction=0.15, test_fraction=0.2, seed=0)


def test_class_weights_balance_the_loss():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w[0] == pytest.approx(4 / 9) and w[1] == pytest.approx(4 / 3) and w[2] == 0.0


def test_augment_keeps_frequency_rows():
    x = torch.zeros(1, 20, 40)
    x[0, 7, 10:30] = 5.0  # one bright "formant" row
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        y = Augment(shift=4, mask=8, noise=0.05, gain=0.1)(x, -1.0, gen)
        assert y.shape == x.shape
        assert int(y[0].mean(1).argmax()) == 7  # the band never moves in frequency
    shifted = Augment(shift=3, mask=0, noise=0, gain=0)
    gen.manual_seed(1)
    y = shifted(x, -1.0, gen)
    assert (y[0, 7] == 5.0).sum() == 20 and y.min() >= -1.0


def test_wilson_interval_and_confusion():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0)[0] != wilson_interval(0, 0)[0]  # NaN
    m = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


# --- training ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_writes_scored_outputs_and_resumes_identically(extracted_run_dir, run_copy):
    settings = TrainSettings(**FAST)  # not the trained run: two epochs are needed to interrupt the second
    run_a = run_copy(extracted_run_dir, "a")
    result = train(run_a, settings)
    preds = rundir.read_csv(run_a / rundir.PREDICTIONS)
    assert len(preds) == 36 and {p["split"] for p in preds} == {"train", "val", "test"}
    for p in preds:
        probs = [float(p[f"p_{lab}"]) for lab in ("AA", "IY", "UW")]
        assert sum(probs) == pytest.approx(1, abs=1e-4)
        assert p["predicted"] == ("AA", "IY", "UW")[int(np.argmax(probs))]
        assert p["correct"] == str(int(p["true"] == p["predicted"]))
    test = [p for p in preds if p["split"] == "test"]
    assert result.n_test == len(test) and result.accuracy == pytest.approx(np.mean([int(p["correct"]) for p in test]))
    assert result.ci_low <= result.accuracy <= result.ci_high
    metrics = rundir.read_csv(run_a / rundir.METRICS)
    assert [m["epoch"] for m in metrics] == ["1", "2"]
    model, info = load_model(run_a / rundir.MODEL)
    assert info.labels == ["AA", "IY", "UW"] and info.hz_per_row["layer4"] == 125.0 and info.spectrogram["n_fft"] == 128
    assert not model.training and result.class_weights == {"AA": 1.0, "IY": 1.0, "UW": 1.0}
    assert info.extra["n_train"] == sum(p["split"] == "train" for p in preds)  # what classify compares with
    val_tops = sorted(float(p["prob_predicted"]) for p in preds if p["split"] == "val")
    assert info.extra["val_confidence"] == pytest.approx(val_tops[len(val_tops) // 2], abs=1e-6)
    assert isinstance(info.extra["train_sample_rates"], list) and isinstance(info.extra["train_groups"], list)
    assert not list((run_a / "model").glob("state-fold*.pt"))  # resumable state is removed once finished

    # the same seed on a second run dir, interrupted during epoch 2 and started again: the same numbers
    run_b = run_copy(extracted_run_dir, "b")

    def interrupt(stage, done, total, message):
        if message.startswith("epoch 2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(run_b, settings, progress=interrupt)
    assert (run_b / "model" / "state-fold0.pt").is_file() and not (run_b / rundir.MODEL).exists()
    resumed = train(run_b, settings)
    assert [m["train_loss"] for m in rundir.read_csv(run_b / rundir.METRICS)] == [m["train_loss"] for m in metrics]
    assert resumed.accuracy == result.accuracy
    assert (run_b / rundir.MODEL).read_bytes() == (run_a / rundir.MODEL).read_bytes()  # model.pt: the same bytes


@pytest.mark.slow
def test_kfold_predicts_every_token_from_its_held_out_fold(extracted_run_dir, run_copy):
    run = run_copy(extracted_run_dir)  # trained here: three folds, not the trained run's single split
    result = train(run, TrainSettings(**{**FAST, "epochs": 1, "folds": 3, "max_hz_per_row": 0.0}))
    preds = rundir.read_csv(run / rundir.PREDICTIONS)
    assert sorted(p["token_id"] for p in preds) == sorted(r["token_id"] for r in _rows(run))
    assert {p["split"] for p in preds} == {"test"} and {p["fold"] for p in preds} == {"0", "1", "2"}
    splits = rundir.read_csv(run / "model" / "splits.csv")
    for p in preds:  # the fold that scored a token held its speaker out
        assert {"token_id": p["token_id"], "fold": p["fold"], "split": "test"} in splits
    assert len(result.fold_accuracies) == 3 and result.n_test == 36
    assert [load_model(run / "model" / f"fold-{k}.pt")[1].extra["fold"] for k in range(3)] == [0, 1, 2]
    assert load_model(run / rundir.MODEL)[1].hz_per_row["layer4"] == 62.5 * 32


def test_bad_run_dirs_fail_with_one_line_and_write_nothing(tmp_path):
    with pytest.raises(RunDirError, match="no tokens.csv; run `vowelcam extract` first"):
        train(tmp_path, TrainSettings(**FAST))
    run = extracted_run(tmp_path / "one", phones=("IY",), speakers=5, per_class=2)
    with pytest.raises(RunDirError, match="at least two classes"):
        train(run, TrainSettings(**FAST))
    empty = extracted_run(tmp_path / "empty", speakers=5, per_class=1)
    rundir.write_csv(empty / rundir.TOKENS, [], ["token_id"])
    with pytest.raises(RunDirError, match="no tokens"):
        train(empty, TrainSettings(**FAST))
    for bad in (run, empty):
        assert not (bad / "model").exists() and not (bad / rundir.PREDICTIONS).exists()
    with pytest.raises(ConfigError, match="folds 1"):
        train(run, TrainSettings(**{**FAST, "folds": 1}))


@pytest.mark.slow
def test_weights_from_a_model_with_other_spectrogram_settings_are_refused(tmp_path):
    from tests.helpers.runs import SMALL

    source = extracted_run(tmp_path / "src", speakers=5, per_class=1)
    info = ModelInfo(
        "resnet18", ["AA", "IY", "UW"], "vowels", 0.0, {**vars(SMALL), "n_fft": 256}, {"mean": 0.0, "std": 1.0}, [2] * 5
    )
    path = tmp_path / "other.pt"
    torch.save(models.checkpoint_dict(models.build_model(info), info), path)
    with pytest.raises(ModelError, match="other.pt: model made for other spectrogram settings.*n_fft 256 vs 128"):
        train(source, TrainSettings(**{**FAST, "weights": str(path)}))
    assert not (source / "model").exists()


def test_a_vowelcam_donor_gives_its_head_rows_by_class_name_not_by_position(tmp_path):
    info = ModelInfo("resnet18", ["A", "B", "C"], "vowels", 0.0, {}, {"mean": 0.0, "std": 1.0}, [2] * 5)
    donor = models.build_model(info)
    path = tmp_path / "donor.pt"
    torch.save(models.checkpoint_dict(donor, info), path)
    torch.manual_seed(1)
    model = SpectrogramResNet("resnet18", 3)
    fresh_row = model.fc.weight[1].clone()
    models.load_backbone(model, models.read_state_dict(path), str(path), (["A", "B", "C"], ["C", "X", "A"]))
    assert torch.equal(model.fc.weight[0], donor.fc.weight[2]) and torch.equal(model.fc.bias[2], donor.fc.bias[0])
    assert torch.equal(model.fc.weight[1], fresh_row)  # X: not a donor class, starts fresh
    unnamed = SpectrogramResNet("resnet18", 3)
    before = unnamed.fc.weight.clone()
    models.load_backbone(unnamed, models.read_state_dict(path), str(path))  # same count, no names: head fresh
    assert torch.equal(unnamed.fc.weight, before)
