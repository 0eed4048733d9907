"""Stored arrays carry a checksum written with them and checked on first load; NaN/inf never pass silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.helpers.runs import extracted_run, predicted_run
from vowelcam import rundir
from vowelcam.acoustics.store import SpectrogramStore, shard_name
from vowelcam.checks import checksums
from vowelcam.cli import app
from vowelcam.errors import ModelError, RunDirError
from vowelcam.explain.maps.store import CamWriter, read_cams
from vowelcam.learn.metrics import prediction_rows


def damage_middle(path: Path, n: int = 64, seed: int = 0) -> None:
    """Random bytes in the middle of a file, its size unchanged (what a bad sector or a bad copy does)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + n] = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    size = path.stat().st_size
    path.write_bytes(bytes(data))
    assert path.stat().st_size == size


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    return extracted_run(tmp_path / "run")


def test_every_array_of_the_store_has_its_checksum(extracted):
    store = extracted / rundir.SPECTROGRAMS
    for name in ("freqs.npy", "times.npy", shard_name(0)):
        digest, named = (store / f"{name}.sha256").read_text().split()
        assert named == name and digest == checksums.digest_file(store / name)


def test_a_shard_with_random_bytes_in_the_middle_is_caught(extracted):
    shard = extracted / rundir.SPECTROGRAMS / shard_name(0)
    damage_middle(shard)
    with pytest.raises(RunDirError, match=r"shard-00000\.npy: damaged .*vowelcam extract --force"):
        SpectrogramStore(shard.parent).get(0, 0)


def test_a_shard_is_hashed_once_per_process(extracted, monkeypatch):
    calls = []
    real = checksums.digest_file
    monkeypatch.setattr(checksums, "digest_file", lambda p: calls.append(Path(p).name) or real(p))
    for _ in range(3):
        store = SpectrogramStore(extracted / rundir.SPECTROGRAMS)
        store.get(0, 0), store.get(0, 1)
    assert calls.count(shard_name(0)) == 1


def test_a_store_without_checksums_loads_unverified(extracted):
    store_dir = extracted / rundir.SPECTROGRAMS
    for sidecar in store_dir.glob("*.sha256"):
        sidecar.unlink()
    assert SpectrogramStore(store_dir).get(0, 0).shape[0] > 0
    assert checksums.verify(store_dir / shard_name(0), "re-extract") is False


def test_nan_in_a_shard_names_the_shard_and_its_tokens(extracted):
    store_dir = extracted / rundir.SPECTROGRAMS
    shard = np.load(store_dir / shard_name(0))
    shard[[2, 5], 0, 0] = np.nan
    np.save(store_dir / shard_name(0), shard)  # as an older vowelcam would have: no checksum to catch it
    (store_dir / f"{shard_name(0)}.sha256").unlink()
    with pytest.raises(RunDirError, match=r"shard-00000\.npy: NaN or infinite .* spec_shard 0 and spec_row 2, 5;"):
        SpectrogramStore(store_dir).get(0, 0)


def test_cam_on_a_damaged_shard_is_one_line_and_writes_no_maps(tmp_path):
    run = predicted_run(tmp_path / "run")
    damage_middle(run / rundir.SPECTROGRAMS / shard_name(0), seed=1)
    result = CliRunner().invoke(app, ["cam", str(run), "--no-faithfulness", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "shard-00000.npy: damaged" in lines[0], result.output
    assert not (run / rundir.CAMS / "true.npy").exists()


def _write_cams(folder: Path, maps: np.ndarray) -> None:
    with CamWriter(folder, *maps.shape) as writer:
        writer.write(0, maps, maps)
        writer.finish({"freqs": list(range(maps.shape[1]))})
    index = [{"token_id": f"t{i}", "row": i} for i in range(len(maps))]
    rundir.write_csv(folder / "index.csv", index, ["token_id", "row"])


def test_a_damaged_map_store_is_caught(tmp_path):
    folder = tmp_path / rundir.CAMS
    _write_cams(folder, np.random.default_rng(0).random((40, 16, 24), dtype=np.float32))
    assert {p.name for p in folder.glob("*.sha256")} >= {"true.npy.sha256", "pred_norm.npy.sha256"}
    read_cams(tmp_path)  # intact: loads
    damage_middle(folder / "pred.npy")
    with pytest.raises(RunDirError, match=r"pred\.npy: damaged .*vowelcam cam"):
        read_cams(tmp_path)


def test_nan_maps_of_an_older_store_name_their_rows(tmp_path):
    folder = tmp_path / rundir.CAMS
    maps = np.ones((6, 4, 5), dtype=np.float32)
    _write_cams(folder, maps)
    maps[3, 1, 1] = np.nan
    np.save(folder / "true.npy", maps)
    for sidecar in folder.glob("*.sha256"):
        sidecar.unlink()
    with pytest.raises(RunDirError, match=r"true\.npy: NaN or infinite values in the maps of index.csv rows 3;"):
        read_cams(tmp_path)


def test_cam_writer_leaves_no_temporary_file_when_the_disk_is_full(tmp_path, monkeypatch):
    import errno
    import os

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(RunDirError, match=r"disk full \(.* needed, .* free\)"):
        CamWriter(tmp_path / "cams", 10, 8, 8).__enter__()
    assert list((tmp_path / "cams").iterdir()) == []


def test_nan_model_outputs_are_an_error_naming_the_tokens():
    probs = np.array([[0.5, 0.5], [np.nan, np.nan], [1.0, 0.0]])
    with pytest.raises(ModelError, match=r"NaN or infinite for tokens b \(fold 0\)"):
        prediction_rows(["a", "b", "c"], np.array([0, 1, 0]), probs, ["AA", "IY"], ["test"] * 3, 0)


def test_a_model_written_onto_a_full_disk_is_an_os_error_and_its_bytes_do_not_depend_on_the_temp_name(
    tmp_path, monkeypatch
):
    """torch.save to a path raises a C++ RuntimeError on a full disk and names its archive after the (random)
    temporary file; written through a file object it raises OSError(ENOSPC) and equal weights give equal bytes."""
    import builtins
    import errno

    import torch

    from vowelcam.learn.models import load_model
    from vowelcam.learn.train import _save_model

    run = predicted_run(tmp_path / "run")
    checkpoint = torch.load(run / rundir.MODEL, weights_only=True)
    model, info = load_model(run / rundir.MODEL, torch.device("cpu"))
    _save_model(tmp_path / "a.pt", model, info)
    _save_model(tmp_path / "b.pt", model, info)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert set(checkpoint) <= set(torch.load(tmp_path / "a.pt", weights_only=True))

    real_open = builtins.open
    monkeypatch.setattr(
        builtins,
        "open",
        lambda f, mode="r", *a, **k: real_open("/dev/full", "wb") if "w" in mode else real_open(f, mode, *a, **k),
    )
    with pytest.raises(OSError) as caught:
        _save_model(tmp_path / "c.pt", model, info)
    assert caught.value.errno == errno.ENOSPC
    assert not (tmp_path / "c.pt").exists()


def test_nan_maps_from_the_model_are_an_error_naming_token_shard_and_row():
    from vowelcam.explain.errors import CamError
    from vowelcam.explain.map_pass import _check_finite_maps

    maps, contrast = np.zeros((3, 2, 4, 5), np.float32), np.zeros((3, 4, 5), np.float32)
    toks = [{"token_id": f"t{i}", "spec_shard": 1, "spec_row": 7 + i} for i in range(3)]
    _check_finite_maps(maps, contrast, toks, "gradcam")  # finite: nothing to say
    maps[2, 1, 0, 0] = np.inf
    with pytest.raises(CamError, match=r"gradcam maps are NaN or infinite for tokens t2 \(shard 1, row 9\)"):
        _check_finite_maps(maps, contrast, toks, "gradcam")
