"""The Python API: one function per command, with the same settings, for notebooks and scripts.

Every function takes the paths a command takes and its settings as keyword arguments named like the fields of
:mod:`vowelcam.config` (``epochs=5``, ``stress="primary"``), or one section as a dict (``train={"epochs": 5}``),
on top of ``config`` (a TOML file) and ``settings`` (a :class:`~vowelcam.config.Settings`): defaults < settings
< config file < keyword arguments, as on the command line. Nothing is printed; progress goes to an optional
``progress(stage, done, total, message)`` callback and messages to the ``vowelcam`` logger.

The same functions are ``vowelcam.extract``, ``vowelcam.train``, ... (see :mod:`vowelcam`); import them from here
for type checkers. This module imports torch only when a function that needs it runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nothing else at import: `import vowelcam` stays as cheap as Python itself
    import pandas

    from .classify_recording import TokenPrediction
    from .config import Settings
    from .explain.stage import CamSummary
    from .extract import ExtractSummary
    from .inference import CorpusPredictions
    from .learn.train import TrainResult
    from .pipeline import AnalyzeSummary
    from .progress import ProgressCallback
    from .report.render import ReportResult

__all__ = [
    "analyze",
    "classify",
    "classify_corpus",
    "explain",
    "extract",
    "read_bands",
    "read_tokens",
    "report",
    "settings_for",
    "train",
]

ALL_SECTIONS = ("corpus", "labels", "measure", "spectrogram", "extract", "train", "cam", "report")
EXTRACT_SECTIONS = ("corpus", "labels", "measure", "spectrogram", "extract")


def settings_for(
    sections: Iterable[str], config: str | Path | None = None, settings: Settings | None = None, **options: Any
) -> Settings:
    """Resolve settings: ``settings`` (or the defaults) < ``config`` file < ``options``.

    An option is a section name with a dict (``train={"epochs": 5}``) or a field name of one of ``sections``
    (``epochs=5``); a field name found in several of them must be given in its section's dict.
    """
    import dataclasses

    from .config import load_settings
    from .errors import ConfigError

    sections = tuple(sections)
    resolved = load_settings(config, base=settings)
    nested: dict[str, dict[str, Any]] = {}
    for key, value in options.items():
        if key in ALL_SECTIONS and isinstance(value, Mapping):
            nested.setdefault(key, {}).update(value)
            continue
        owners = [s for s in sections if key in {f.name for f in dataclasses.fields(getattr(resolved, s))}]
        if len(owners) != 1:
            why = (
                f"is a setting of {' and '.join(owners)}: give it as {owners[0]}={{{key!r}: ...}}"
                if owners
                else f"is not a setting of {', '.join(sections)}"
            )
            raise ConfigError(f"keyword {key!r} {why}")
        nested.setdefault(owners[0], {})[key] = str(value) if isinstance(value, Path) else value
    return resolved.with_overrides(nested)


def extract(
    corpus: str | Path,
    out: str | Path,
    textgrids: str | Path | None = None,
    *,
    config: str | Path | None = None,
    settings: Settings | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    dask: str | None = None,
    **options: Any,
) -> ExtractSummary:
    """``vowelcam extract``: measure every vowel of ``corpus`` and store its spectrogram in the run directory
    ``out`` (tokens.csv, problems.csv, spectrograms/, config.toml). Options: fields of the corpus, labels,
    measure, spectrogram and extract sections, e.g. ``stress="primary"``, ``include_unvoiced=False``, ``jobs=2``.
    ``dask``: a Dask scheduler (``tcp://host:port`` or a scheduler file) to measure on, as ``--dask``.
    """
    from .extract import extract as run_extract
    from .parallel import dask_or_local
    from .runstate.lock import run_lock

    resolved = settings_for(EXTRACT_SECTIONS, config, settings, **options)
    with run_lock(out, "extract"), dask_or_local(dask) as runner:
        return run_extract(corpus, out, textgrids, resolved, progress=progress, force=force, runner=runner)


def train(
    run_dir: str | Path,
    *,
    config: str | Path | None = None,
    settings: Settings | None = None,
    device: str = "auto",
    progress: ProgressCallback | None = None,
    **options: Any,
) -> TrainResult:
    """``vowelcam train``: fit a ResNet on the run's spectrograms and score it on held-out speakers (model/,
    predictions.csv). Options: fields of the train section, e.g. ``task="vowels4k"``, ``epochs=10``,
    ``vowels="corner"``, ``min_class_tokens=5``. The result holds the test accuracy with its Wilson interval,
    chance, the classes left out and the run's warnings."""
    from .learn.train import train as run_train
    from .runstate.stages import run_stage, train_config

    resolved = settings_for(("train",), config, settings, **options)
    stage = train_config(resolved.to_dict()["train"])
    return run_stage(
        run_dir, "train", stage, lambda: run_train(run_dir, resolved.train, device=device, progress=progress)
    )


def explain(
    run_dir: str | Path,
    *,
    config: str | Path | None = None,
    settings: Settings | None = None,
    device: str = "auto",
    progress: ProgressCallback | None = None,
    dask: str | None = None,
    **options: Any,
) -> CamSummary:
    """``vowelcam cam``: class activation maps of a trained run, read in Hz against formants (cams/, bands.csv,
    agreement.csv, faithfulness.csv). Options: fields of the cam section, e.g. ``method="hirescam"``,
    ``tokens="all"``, ``faithfulness=False``. ``dask``: a Dask scheduler whose workers compute the maps, as
    ``--dask``; they must see the run directory at the same path."""
    from .explain.stage import explain_run
    from .parallel import dask_or_local
    from .runstate.stages import run_stage

    resolved = settings_for(("cam",), config, settings, **options)
    stage = {"cam": resolved.to_dict()["cam"]}
    with dask_or_local(dask) as runner:
        return run_stage(
            run_dir,
            "cam",
            stage,
            lambda: explain_run(run_dir, resolved.cam, device=device, progress=progress, runner=runner),
        )


def report(
    run_dir: str | Path, out: str | Path | None = None, *, progress: ProgressCallback | None = None
) -> ReportResult:
    """``vowelcam report``: report.html and report.pdf of a run (in ``out``, default ``RUN_DIR/report``). The
    result names the PDF (None when WeasyPrint could not write it, with the reason in ``pdf_error``)."""
    from .report.render import build_report
    from .runstate.stages import run_stage

    in_run = out is None or Path(out).resolve() == (Path(run_dir) / "report").resolve()
    return run_stage(run_dir, "report", {}, lambda: build_report(run_dir, out, progress=progress), record=in_run)


def analyze(
    corpus: str | Path,
    out: str | Path,
    textgrids: str | Path | None = None,
    *,
    model: str | Path | None = None,
    config: str | Path | None = None,
    settings: Settings | None = None,
    device: str = "auto",
    force: bool = False,
    wait: bool = False,
    progress: ProgressCallback | None = None,
    dask: str | None = None,
    **options: Any,
) -> AnalyzeSummary:
    """``vowelcam analyze``: extract -> train (or ``model``) -> CAMs -> report in the run directory ``out``,
    skipping stages that are up to date. Options: a field of any section (``epochs=5``) or a section as a dict
    (``cam={"method": "hirescam"}``); names shared by sections (``seed``, ``batch_size``) need the dict.
    ``dask``: a Dask scheduler to extract and compute the maps on, as ``--dask``. ``wait``: wait for another
    writer of ``out`` instead of raising :class:`~vowelcam.runstate.lock.RunLockedError`; ``force`` with ``model``
    on a trained run replaces its model and everything derived from it."""
    from .parallel import dask_or_local
    from .pipeline import analyze as run_analyze

    resolved = settings_for(ALL_SECTIONS, config, settings, **options)
    with dask_or_local(dask) as runner:
        return run_analyze(
            corpus,
            out,
            textgrids,
            resolved,
            model=model,
            device=device,
            force=force,
            progress=progress,
            runner=runner,
            wait=wait,
        )


def classify(
    audio: str | Path, textgrid: str | Path | None = None, model: str | Path | None = None, **kwargs: Any
) -> list[TokenPrediction]:
    """``vowelcam classify``: the top classes of every vowel of ``textgrid`` (or of the whole file, or of
    ``start``/``end``) with a trained model (default: the last one trained); see
    :func:`vowelcam.classify_recording.classify`."""
    from .classify_recording import classify as run_classify

    return run_classify(audio, textgrid=textgrid, model=model, **kwargs)


def classify_corpus(
    corpus: str | Path,
    out: str | Path,
    textgrids: str | Path | None = None,
    model: str | Path | None = None,
    *,
    top: int = 3,
    config: str | Path | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    dask: str | None = None,
    **options: Any,
) -> CorpusPredictions:
    """``vowelcam classify CORPUS --out FILE``: every token ``extract`` would take from ``corpus`` classified by
    ``model`` (default: the last one trained), one row per token in the CSV ``out``, problems beside it
    (``<stem>-problems.csv``). Options: fields of the corpus, labels and extract sections (``vowel_set="corner"``,
    ``jobs=4``). ``dask``: a Dask scheduler to classify on, as ``--dask``; its workers must see the corpus and the
    model file at the same paths."""
    from .inference import classify_corpus as run_classify_corpus
    from .parallel import dask_or_local

    resolved = settings_for(("corpus", "labels", "extract"), config, settings, **options)
    with dask_or_local(dask) as runner:
        return run_classify_corpus(corpus, out, textgrids, model, resolved, top=top, runner=runner, progress=progress)


def read_tokens(run: str | Path) -> pandas.DataFrame:
    """``tokens.csv`` of a run directory (or the CSV itself) as a pandas DataFrame; empty fields are NaN.
    Columns: :data:`vowelcam.tokens.TOKEN_COLUMNS`."""
    return _read_table(run, "tokens.csv")


def read_bands(run: str | Path, predicted: bool = False) -> pandas.DataFrame:
    """``bands.csv`` (CAMs of the true class; ``predicted=True``: ``bands_pred.csv``) of a run directory, or
    the CSV itself, as a pandas DataFrame; empty fields (not computable) are NaN. Columns: see
    :mod:`vowelcam.explain`."""
    return _read_table(run, "bands_pred.csv" if predicted else "bands.csv")


def _read_table(run: str | Path, name: str) -> pandas.DataFrame:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            f"vowelcam.read_* returns a pandas DataFrame and pandas is not installed: pip install "
            f"pandas (or 'vowelcam[pandas]'); without it, vowelcam.rundir.read_csv gives {name} "
            "as a list of dicts"
        ) from None
    path = Path(run)
    path = path / name if path.is_dir() else path
    if not path.is_file():
        from .errors import RunDirError

        raise RunDirError(f"{path}: missing" + ("" if name == "tokens.csv" else "; run `vowelcam cam` first"))
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"speaker": str, "token_id": str})
