"""``vowelcam synth OUT_DIR``: a synthetic vowel corpus with known formants (WAV + TextGrid + truth.csv)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import check_groups, check_reference
from .common import handle_errors, out, rich_progress, setup_logging, verbose_option

if TYPE_CHECKING:
    from ..synth.corpus import SynthSummary


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("synth")(synth_command)


@handle_errors
def synth_command(
    out_dir: Path = typer.Argument(..., help="Folder to write corpus/, truth.csv and speakers.csv into."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives identical files."),
    speakers_per_group: int = typer.Option(3, "--speakers-per-group", min=1, help="Speakers in each group."),
    tokens_per_vowel: int = typer.Option(
        2, "--tokens-per-vowel", min=1, help="Tokens of each vowel per speaker (1st = hVd word)."
    ),
    words_per_utterance: int = typer.Option(
        3, "--words-per-utterance", min=1, help="CVC words per multi-word utterance."
    ),
    vowels: Optional[str] = typer.Option(
        None, "--vowels", show_default="the 12 of Hillenbrand et al. 1995", help="Comma list of ARPAbet vowels."
    ),
    groups: Optional[str] = typer.Option(
        None,
        "--groups",
        callback=check_groups,
        show_default="men,women,children",
        help="Comma list of men, women, children.",
    ),
    reference: str = typer.Option(
        "h95", "--reference", callback=check_reference, help="Formant means/SDs to draw from: h95 | pb52 | PATH.csv."
    ),
    cue: str = typer.Option(
        "",
        "--cue",
        help="Classes differ in this cue only (f1 | f2 | f3 | duration | f0): ground truth for 'vowelcam calibrate'.",
    ),
    verbose: bool = verbose_option(),
) -> None:
    """Synthesise vowels with Praat's KlattGrid from published formant means and spreads."""
    setup_logging(verbose)
    from ..synth.corpus import generate_corpus
    from ..synth.speakers import SynthSettings

    settings = SynthSettings(
        seed=seed,
        speakers_per_group=speakers_per_group,
        tokens_per_vowel=tokens_per_vowel,
        words_per_utterance=words_per_utterance,
        reference=reference,
        cue=cue,
        **({"vowels": _split(vowels, upper=True)} if vowels else {}),
        **({"groups": _split(groups, upper=False)} if groups else {}),
    )
    with rich_progress() as progress:
        summary = generate_corpus(out_dir, settings, progress=progress)
    print_summary(summary)


def _split(text: str, upper: bool) -> tuple[str, ...]:
    from ..errors import ConfigError

    items = tuple(item.strip().upper() if upper else item.strip().lower() for item in text.split(",") if item.strip())
    if not items:
        raise ConfigError(f"empty list {text!r}")
    return items


def print_summary(summary: SynthSummary) -> None:
    """A Rich table of what was written."""
    from ..synth.corpus import CORPUS_DIR, SPEAKERS, TRUTH

    table = Table(title=f"synthesised into {escape(str(summary.out_dir))}")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("speakers", str(summary.speakers))
    table.add_row("files (WAV + TextGrid)", str(summary.files))
    table.add_row("vowel tokens", str(summary.tokens))
    table.add_row("audio", f"{summary.seconds_of_audio:.1f} s")
    table.add_row("time taken", f"{summary.elapsed_s:.1f} s")
    table.add_row("corpus / truth / speakers", f"{CORPUS_DIR}/ {TRUTH} {SPEAKERS}")
    out.print(table)
