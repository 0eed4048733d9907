"""vowelcam: what does a neural network hear when it classifies vowels?

Pipeline: corpus (audio + TextGrids) -> tokens (Praat measurements) -> spectrograms -> ResNet -> predictions
-> class activation maps read in Hz -> band metrics against formants -> PDF report.

The Python API mirrors the commands (details and settings in :mod:`vowelcam.api`)::

    import vowelcam
    vowelcam.extract("corpus/", "runs/mine", stress="primary")
    result = vowelcam.train("runs/mine", task="vowels4k", epochs=10)
    vowelcam.explain("runs/mine", method="gradcam")
    vowelcam.report("runs/mine")
    tokens = vowelcam.read_tokens("runs/mine")      # a pandas DataFrame (pandas is optional)
    vowelcam.analyze("corpus/", "runs/all", epochs=10)  # all stages in a row
    vowelcam.classify_corpus("other/", "other.csv", model="runs/all", dask="tcp://head:8786")

``import vowelcam`` imports neither torch nor Praat; each function imports what it needs when it runs.

``extract``, ``explain`` and ``report`` are also the names of subpackages/modules (``vowelcam.extract``,
``vowelcam.explain``, ``vowelcam.report``). Python binds a submodule to its package attribute whenever it is
imported, which would hide a plain function of the same name; so these three names are the submodules
themselves made callable: ``vowelcam.extract(...)`` runs :func:`vowelcam.api.extract`, and
``vowelcam.extract.SOMETHING`` is still the module's content. Type checkers see them as modules: import the
typed functions from :mod:`vowelcam.api` instead.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from . import api
from ._version import __version__
from .api import analyze, classify, classify_corpus, read_bands, read_tokens, train

__all__ = [
    "__version__",
    "analyze",
    "api",
    "classify",
    "classify_corpus",
    "explain",
    "extract",
    "read_bands",
    "read_tokens",
    "report",
    "train",
]

_CALLABLE_SUBMODULES = frozenset({"extract", "explain", "report"})


class _StageModule(types.ModuleType):
    """A vowelcam submodule that is also the API function of the same name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)

    @property
    def __signature__(self) -> Any:  # what inspect.signature / IPython show for vowelcam.extract(...)
        import inspect

        return inspect.signature(getattr(api, self.__name__.rpartition(".")[2]))


class _Package(types.ModuleType):
    """The ``vowelcam`` package: makes ``extract``/``explain``/``report`` callable whenever they are imported."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CALLABLE_SUBMODULES and type(value) is types.ModuleType:
            value.__class__ = _StageModule
        super().__setattr__(name, value)

    def __getattr__(self, name: str) -> Any:
        if name in _CALLABLE_SUBMODULES:
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
