"""The fake run directories of the tests, one builder for each stage a run can stand at, made without audio:

- :func:`extracted_run`: tokens.csv + spectrogram store, two bright bands per class (what ``learn`` starts from);
- :func:`cue_run`: the same level, three classes told apart by F2 alone (the controls' sceptic tests);
- :func:`predicted_run`: as ``learn`` leaves a run (an untrained resnet18, fabricated predictions);
- :func:`reported_run`: every table and map the report reads (names with ``<>&'"``, for escaping).

All share the token rows, formant columns, spectrogram store and prediction rows of :mod:`.parts`."""

from .cue import CUE_SETTINGS, cue_run
from .extracted import SMALL, extracted_run
from .predicted import RUN_LABELS, predicted_run
from .reported import ODD, TITLE, reported_run

__all__ = [
    "CUE_SETTINGS",
    "ODD",
    "RUN_LABELS",
    "SMALL",
    "TITLE",
    "cue_run",
    "extracted_run",
    "predicted_run",
    "reported_run",
]
