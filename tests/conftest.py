"""Shared fixtures. Tests that need the real data in ../shared skip only when it is absent.

The chain of runs (session-scoped, built once, shared: read them, or write into a copy made with ``run_copy``):
``corpus`` (synthetic recordings + TextGrids, for tests that run a real extraction) and ``extracted_run_dir``
(what extraction leaves, made without audio) → ``trained_run_dir`` (a resnet18 trained on it for one epoch) →
``explained_run_dir`` (the cam stage run on every token of it). ``predicted_run_dir`` is a learn-stage run made
without training (an untrained model, fabricated predictions), for the explain tests that need known predictions."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The tests import the installed vowelcam, as a user's code does: the source folder lacks templates/ and
# reference_formants/, which the install maps into the package, and pytest puts the repository first on sys.path
# (tests/ is a package). Leaving it there made every resource lookup fail on a non-editable install (CI).
_REPOSITORY = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPOSITORY]

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")).resolve()
CORPUS_VOWELS = ["IY1", "AE1", "AA1", "UW1"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (skip the test when the folder is absent, e.g. outside CI)."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"{data} not present")
    return data


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The project's root folder."""
    return REPO


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests: far faster than two on a shared two-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _one_thread(build: Callable[[], None]) -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        build()
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """Six speakers, each saying the four test vowels three times (and one 'S') in each of two utterances."""
    from tests.helpers.corpus import write_pair

    root = tmp_path_factory.mktemp("corpus")
    for s in range(6):
        for rep in range(2):
            labels = CORPUS_VOWELS[rep:] + CORPUS_VOWELS[:rep] + ["S"] + CORPUS_VOWELS[::-1]
            write_pair(root / f"spk{s}", f"utt{rep}", labels, seed=100 * s + rep)
    return root


@pytest.fixture(scope="session")
def extracted_run_dir(tmp_path_factory) -> Path:
    """An extracted run: 6 speakers x 2 tokens of IY, AA, UW (36 tokens), 8 kHz spectrograms of 65 x 16."""
    from tests.helpers.runs import extracted_run

    return extracted_run(tmp_path_factory.mktemp("chain") / "extracted", speakers=6, per_class=2)


@pytest.fixture(scope="session")
def trained_run_dir(extracted_run_dir: Path) -> Path:
    """``extracted_run_dir`` trained: resnet18, one epoch, batch 8, seed 1 (on the CPU, one thread)."""
    from vowelcam.config import TrainSettings
    from vowelcam.learn.train import train

    run = Path(shutil.copytree(extracted_run_dir, extracted_run_dir.parent / "trained"))
    _one_thread(lambda: train(run, TrainSettings(arch="resnet18", epochs=1, batch_size=8, seed=1)))
    return run


@pytest.fixture(scope="session")
def explained_run_dir(trained_run_dir: Path) -> Path:
    """``trained_run_dir`` explained: the default CAM method on every token, no faithfulness tests, batches of 5."""
    from vowelcam.config import CamSettings
    from vowelcam.explain.stage import explain_run

    run = Path(shutil.copytree(trained_run_dir, trained_run_dir.parent / "explained"))
    _one_thread(lambda: explain_run(run, CamSettings(tokens="all", faithfulness=False, batch_size=5)))
    return run


@pytest.fixture(scope="session")
def predicted_run_dir(tmp_path_factory) -> Path:
    """A learn-stage run made without training: 12 tokens, an untrained resnet18, fabricated predictions."""
    from tests.helpers.runs import predicted_run

    return predicted_run(tmp_path_factory.mktemp("predicted") / "run")


@pytest.fixture
def run_copy(tmp_path: Path) -> Callable[[Path, str], Path]:
    """``copy(run, name="run")``: a copy of a shared run in this test's folder, to write into."""

    def copy(run: Path, name: str = "run") -> Path:
        return Path(shutil.copytree(run, tmp_path / name))

    return copy
