"""Where the benchmarks find the repository, the shared data (``$VOWELCAM_SHARED``, default ``../shared``),
their result folder and the commit they measured."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")).resolve()
DATA = SHARED / "data"
RESULTS = REPO / "bench" / "results"


def code_commit() -> str:
    """The repository's short commit, with ``+`` when the tree has uncommitted changes ("" outside a checkout), so
    results kept from earlier code can be told apart."""
    try:
        git = ["git", "-C", str(REPO)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")
