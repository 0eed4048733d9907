"""Where the benchmarks find the repository, the shared data (``$VOWELCAM_SHARED``, default ``../shared``) and
their result folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("VOWELCAM_SHARED", REPO.parent / "shared")).resolve()
DATA = SHARED / "data"
RESULTS = REPO / "bench" / "results"
