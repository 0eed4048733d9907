"""Where a model is, checked without torch: a run directory, its ``model/`` folder or a ``model.pt`` file, and the
model remembered from the last ``train`` or ``analyze``.

Importing this module imports no torch (``tests/pipeline/test_model_file.py`` checks), so that the command line
answers a missing or foreign model in well under a second, before it loads the network. The check reads the
checkpoint's zip directory and looks for the format tag in its pickle: enough to tell a vowelcam model from a
folder, a WAV or a torchvision state dict; :func:`vowelcam.learn.models.load_model` still validates the contents.

The remembered model lives in the user's config directory (``platformdirs.user_config_dir("vowelcam")/
last_model.txt``, or ``$VOWELCAM_CONFIG_DIR``).
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import platformdirs

from ..errors import ModelError

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "vowelcam-model"
MODEL_IN_RUN = Path("model") / "model.pt"
LAST_MODEL = "last_model.txt"


def config_dir() -> Path:
    """Where vowelcam remembers things for the user (``$VOWELCAM_CONFIG_DIR`` overrides)."""
    return Path(os.environ.get("VOWELCAM_CONFIG_DIR") or platformdirs.user_config_dir("vowelcam"))


def remember_model(path: str | Path) -> None:
    """Remember ``path`` as the default model of ``vowelcam classify``."""
    from ..rundir import atomic_write_text

    atomic_write_text(config_dir() / LAST_MODEL, str(Path(path).resolve()) + "\n")


def last_model() -> Path | None:
    """The remembered model, or None when there is none (or it has gone)."""
    try:
        path = Path((config_dir() / LAST_MODEL).read_text(encoding="utf-8").strip())
    except OSError:
        return None
    return path if path.is_file() else None


def model_file(path: str | Path) -> Path:
    """The ``model.pt`` that ``path`` names: the file itself, ``PATH/model.pt`` (a run's ``model/`` folder) or
    ``PATH/model/model.pt`` (a run directory). A one-line :class:`ModelError` when there is none or the file is
    not a vowelcam model."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / MODEL_IN_RUN, path / MODEL_IN_RUN.name):
            if candidate.is_file():
                return check_model_file(candidate)
        raise ModelError(f"{path}: a folder without a trained model (no {MODEL_IN_RUN}); train one or give model.pt")
    if not path.exists():
        raise ModelError(f"{path}: no such model file or run directory")
    return check_model_file(path)


def check_model_file(path: Path) -> Path:
    """``path`` when it is a PyTorch checkpoint (zip) with the vowelcam format tag; else a one-line ModelError."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            tagged = bool(pickles) and CHECKPOINT_FORMAT.encode() in archive.read(pickles[0])
    except (zipfile.BadZipFile, OSError, KeyError):
        raise ModelError(f"{path}: not a vowelcam model (not a PyTorch checkpoint)") from None
    if not tagged:
        raise ModelError(f"{path}: not a vowelcam model (a PyTorch file without the '{CHECKPOINT_FORMAT}' tag)")
    return path


def resolve_model_path(model: str | Path | None) -> Path:
    """The model file to use: ``model`` (see :func:`model_file`; ``"base"`` = the shipped base model), else the
    remembered one, else the base model (said in the log); ModelError when there is none of them."""
    from ..base_model import BASE, base_model_path, describe_base_model

    if model is not None and str(model) != BASE:
        return model_file(model)
    remembered = last_model() if model is None else None
    if remembered is not None:
        return model_file(remembered)
    base = base_model_path()
    if base is None:
        raise ModelError(
            "no model given and none remembered, and this installation has no base model: run `vowelcam analyze` "
            "or `vowelcam train` first, or pass --model RUN_DIR or model.pt"
        )
    if model is None:
        log.warning("no model given and none remembered: using %s", describe_base_model())
    return base
