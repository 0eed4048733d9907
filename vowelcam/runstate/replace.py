"""``analyze --model`` on a run directory that already holds a model.

A model given with ``--model`` is copied into ``model/model.pt``. On a run that holds a *trained* model (its
``model/metrics.csv`` or ``model/summary.json`` are there) a different model would leave the training's metrics,
splits and summary beside a model they do not describe: that is refused unless ``force``, which loads the given
model, checks it against the run's spectrogram settings (nothing is removed for a file that would fail later),
then removes the model and everything derived from it (``model/``, ``predictions.csv``, the CAM outputs,
``report/``). A run scored by another given model is replaced the same way without asking (it holds nothing a
user made by hand).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import rundir
from ..errors import ConfigError
from .files import sha256_file
from .stages import CAM_OUTPUTS, forget_stages

log = logging.getLogger(__name__)

TRAINING_RECORDS = ("model/metrics.csv", "model/summary.json")
DERIVED = (rundir.MODEL_DIR, rundir.PREDICTIONS, *CAM_OUTPUTS, rundir.REPORT_DIR)


class ModelReplaceError(ConfigError):
    """``--model`` would replace a trained run's model without ``--force``."""


def prepare_for_model(
    root: str | Path, model: str | Path, force: bool, spectrogram: Mapping[str, Any] | None = None
) -> bool:
    """Make ``root`` ready to be scored by ``model``: nothing to do when it holds no model or this one (False);
    otherwise remove the old model and everything derived from it (True). Raises :class:`ModelReplaceError` when
    the old model was trained here and ``force`` is not set, and ModelError, before anything is removed, when
    ``model`` is no vowelcam model or was made for other spectrogram settings than ``spectrogram``'s."""
    root = Path(root)
    current = root / rundir.MODEL
    if not current.is_file() or sha256_file(current) == sha256_file(model):
        return False
    trained = [name for name in TRAINING_RECORDS if (root / name).is_file()]
    if trained and not force:
        raise ModelReplaceError(
            f"{current}: this run holds a model trained here ({', '.join(trained)}); --model {model} would replace "
            "it and everything derived from it: add --force to do so, or give another --out"
        )
    if root.resolve() / rundir.MODEL_DIR in Path(model).resolve().parents:
        raise ModelReplaceError(f"--model {model}: lies in the model/ folder it would replace; copy it elsewhere first")
    _check_fits(model, spectrogram)
    remove_derived(root)
    log.info("%s: removed the previous model and everything derived from it (--model %s)", root, model)
    return True


def _check_fits(model: str | Path, spectrogram: Mapping[str, Any] | None) -> None:
    """Load ``model`` (ModelError when it is not one) and compare its spectrogram settings with the run's."""
    from ..learn.models import check_compatible, load_model

    _, info = load_model(model)
    if spectrogram is not None:
        check_compatible(info, spectrogram, str(model))


def remove_derived(root: str | Path) -> None:
    """Delete the model and every output derived from it, and their stage records."""
    root = Path(root)
    forget_stages(root, "train")
    for name in DERIVED:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
