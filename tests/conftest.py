"""Shared fixtures. Tests that need the real data in ../shared skip only when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")).resolve()


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
