"""``vowelcam classify FILE.wav [--textgrid FILE.TextGrid] [--model PATH]``: top classes per token; and
``vowelcam classify CORPUS --out FILE.csv [--textgrids DIR] [--jobs N | --dask ADDRESS]``: every vowel token of a
corpus, chosen as ``extract`` chooses them (:func:`vowelcam.inference.classify_corpus`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import SpeakerFrom, Stress
from .common import (
    config_option,
    console,
    dask_option,
    handle_errors,
    maybe_cluster,
    out,
    resolve_settings,
    rich_progress,
    setting,
    setup_logging,
    verbose_option,
)
from .extract import (
    convention_option,
    min_duration_option,
    phones_tier_option,
    speaker_from_option,
    speaker_groups_option,
    speaker_pattern_option,
    stress_option,
    textgrids_option,
    token_choice_overrides,
    unvoiced_option,
    vowels_option,
    words_tier_option,
)

if TYPE_CHECKING:
    from ..classify_recording import TokenPrediction


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("classify")(classify_command)


@handle_errors
def classify_command(
    audio: Path = typer.Argument(
        ..., exists=True, metavar="RECORDING|CORPUS", help="A WAV/FLAC recording, or a corpus folder (needs --out)."
    ),
    textgrid: Optional[Path] = typer.Option(
        None, "--textgrid", "-t", exists=True, dir_okay=False, help="Classify every vowel of this TextGrid."
    ),
    model: Optional[Path] = typer.Option(
        None,
        "--model",
        "-m",
        metavar="RUN_DIR|MODEL.pt",
        show_default="the model of the last `train` or `analyze`",
        help="A run directory or its model/model.pt.",
    ),
    start: Optional[float] = typer.Option(
        None, "--start", min=0, show_default="start of the file", help="Start of the stretch in s."
    ),
    end: Optional[float] = typer.Option(
        None, "--end", min=0, show_default="end of the file", help="End of the stretch in s."
    ),
    tier: str = typer.Option("", "--tier", show_default="detect", help="Phone tier name."),
    top: int = typer.Option(3, "--top", min=1, help="How many classes to list per token."),
    as_json: bool = typer.Option(False, "--json", help="JSON on stdout."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV on stdout."),
    write_textgrid: Optional[Path] = typer.Option(
        None, "--write-textgrid", help="Copy of the TextGrid with a prediction tier."
    ),
    corpus_out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Corpus: the predictions CSV to write (problems beside it, *-problems.csv)."
    ),
    textgrids: Optional[Path] = textgrids_option("--textgrids"),
    vowels: Optional[str] = vowels_option(),
    stress: Optional[Stress] = stress_option(),
    min_duration: Optional[float] = min_duration_option(),
    unvoiced: Optional[bool] = unvoiced_option(),
    convention: Optional[str] = convention_option(),
    phones_tier: Optional[str] = phones_tier_option(),
    words_tier: Optional[str] = words_tier_option(),
    speaker_pattern: Optional[str] = speaker_pattern_option(),
    speaker_from: Optional[SpeakerFrom] = speaker_from_option(),
    speaker_groups: Optional[Path] = speaker_groups_option(),
    jobs: Optional[int] = setting("extract.jobs", "--jobs", "-j", min=1, help="Corpus: worker processes."),
    dask: Optional[str] = dask_option("Corpus: classify", "the corpus and the model"),
    config: Optional[Path] = config_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Classify one recording: each vowel nucleus it finds (no TextGrid), --start/--end, or every vowel
    of --textgrid. Or a corpus folder: every vowel token extract would take, one CSV row each (--out)."""
    setup_logging(verbose)
    from ..errors import ConfigError
    from ..learn.model_file import resolve_model_path

    model = resolve_model_path(model)  # a missing or foreign model fails here, before torch loads
    if audio.is_dir():
        one_file = {"--textgrid": textgrid, "--start": start, "--end": end, "--tier": tier or None}
        one_file.update({"--json": as_json or None, "--csv": as_csv or None, "--write-textgrid": write_textgrid})
        given = [flag for flag, value in one_file.items() if value is not None]
        if given:
            raise ConfigError(f"{audio}: {', '.join(given)} are for one recording; this is a corpus folder")
        choice = token_choice_overrides(
            vowels,
            stress,
            min_duration,
            unvoiced,
            convention,
            phones_tier,
            words_tier,
            speaker_pattern,
            speaker_from,
            speaker_groups,
        )
        settings = resolve_settings(config, {**choice, "extract.jobs": jobs})
        _classify_corpus(audio, corpus_out, textgrids, model, settings, top, dask)
        return
    if corpus_out is not None or textgrids is not None:
        raise ConfigError(f"{audio}: --out and --textgrids are for a corpus folder; this is one recording")
    if as_json and as_csv:
        raise ConfigError("choose --json or --csv, not both")
    if write_textgrid is not None and textgrid is not None and write_textgrid.resolve() == textgrid.resolve():
        raise ConfigError(f"{write_textgrid}: would overwrite the input TextGrid; choose another file")
    from ..acoustics.audio import audio_info
    from ..classify_recording import annotate_textgrid, classify

    results = classify(audio, textgrid=textgrid, model=model, start=start, end=end, tier=tier, top=top)
    if write_textgrid is not None:
        annotate_textgrid(results, write_textgrid, textgrid, duration=audio_info(audio).duration)
        console.print(f"wrote {escape(str(write_textgrid))}", highlight=False)
    if as_json:
        out.print_json(json.dumps([_as_dict(r) for r in results]))
    elif as_csv:
        typer.echo(_as_csv(results, top), nl=False)
    else:
        out.print(f"[bold]{escape(str(audio))}", soft_wrap=True, highlight=False)  # whole, never broken mid-name
        out.print(_table(results))


def _classify_corpus(
    corpus: Path, to: Optional[Path], textgrids: Optional[Path], model: Path, settings: Any, top: int, dask: Any
) -> None:
    """The corpus form: predictions and problems CSVs, then one line saying what was written."""
    from ..errors import ConfigError
    from ..inference import classify_corpus

    if to is None:
        raise ConfigError(f"{corpus}: a corpus folder needs --out FILE.csv for its predictions")
    with maybe_cluster(dask, "classifying") as runner, rich_progress() as progress:
        done = classify_corpus(corpus, to, textgrids, model, settings, top, runner=runner, progress=progress)
    console.print(
        f"{done.n_tokens} tokens of {done.n_recordings} recordings: {escape(str(done.predictions))}; "
        f"{done.n_problems} problems: {escape(str(done.problems))}",
        highlight=False,
    )


def _as_dict(r: TokenPrediction) -> dict:
    return {
        "start": r.start,
        "end": r.end,
        "label": r.label,
        "tier": r.tier,
        "interval": r.interval,
        "predicted": r.predicted,
        "probability": r.probability,
        **({"peak": r.peak} if r.peak == r.peak else {}),
        "top": [{"class": c, "probability": p} for c, p in r.top],
    }


def _as_csv(results: list[TokenPrediction], top: int) -> str:
    buf = io.StringIO()
    cols = ["start", "end", "label", "tier", "interval"] + [
        f"{k}{i}" for i in range(1, top + 1) for k in ("class", "prob")
    ]
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for r in results:
        ranked = [x for c, p in r.top for x in (c, f"{p:.4f}")]
        writer.writerow([f"{r.start:.4f}", f"{r.end:.4f}", r.label, r.tier, r.interval, *ranked])
    return buf.getvalue()


def _table(results: list[TokenPrediction]) -> Table:
    table = Table()
    for col in ("start", "end", "label", "1st", "2nd", "3rd"):
        table.add_column(col, justify="right" if col in ("start", "end") else "left")
    for r in results:
        ranked = [f"{c} {p:.2f}" for c, p in r.top[:3]] + [""] * (3 - min(3, len(r.top)))
        table.add_row(
            f"{r.start:.3f}", f"{r.end:.3f}", escape(r.label), f"[bold]{escape(ranked[0])}", *map(escape, ranked[1:])
        )
    return table
