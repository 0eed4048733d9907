"""``vowelcam extract CORPUS --out RUN_DIR``: tokens, Praat measurements and spectrograms."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..extract import ExtractSummary, extract
from ..measure.hooks import output_overrides
from .common import console, handle_errors, resolve_settings, rich_progress, setup_logging


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("extract")(extract_command)


@handle_errors
def extract_command(
    corpus: Path = typer.Argument(..., help="Folder with audio (WAV/FLAC, nested folders allowed)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write."),
    textgrids: Optional[Path] = typer.Option(None, "--textgrids", "-t", help="Folder of TextGrids, if not beside the audio."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file (flags override it)."),
    vowels: Optional[str] = typer.Option(None, "--vowels", help="corner | monophthongs | hillenbrand12 | all | IY,AE,..."),
    stress: Optional[str] = typer.Option(None, "--stress", help="any | stressed | primary | unstressed"),
    min_duration: Optional[float] = typer.Option(None, "--min-duration", help="Minimum token duration in ms."),
    unvoiced: Optional[bool] = typer.Option(None, "--unvoiced/--no-unvoiced", help="Also extract P T K CH F TH S SH HH."),
    convention: Optional[str] = typer.Option(None, "--labels", help="auto | arpabet | timit | ipa | buckeye | PATH.csv (a CSV may define new classes)"),
    phones_tier: Optional[str] = typer.Option(None, "--phones-tier", help="Name of the phone tier (default: detect)."),
    words_tier: Optional[str] = typer.Option(None, "--words-tier", help="Name of the word tier (default: detect)."),
    speaker_pattern: Optional[str] = typer.Option(
        None, "--speaker-pattern", help="Regex with (?P<speaker>..) [and (?P<group>..)] on the relative path, or a preset: hillenbrand, timit."),
    speaker_from: Optional[str] = typer.Option(None, "--speaker-from", help="auto | tiers | pattern | folder | file"),
    speaker_groups: Optional[Path] = typer.Option(None, "--speaker-groups", help="CSV speaker,group[,ceiling] (men/women/children; ceiling in Hz); other columns go to tokens.csv."),
    max_freq: Optional[float] = typer.Option(None, "--max-freq", help="Store spectrograms up to this Hz (0 = full band)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes."),
    track_step: Optional[float] = typer.Option(None, "--track-step", help="tracks.csv: F1-F3 every this fraction of the vowel (0.05; 0 = none)."),
    points: Optional[str] = typer.Option(None, "--points", help="Extra %% points with wide F1-F3 columns, e.g. 20,35,50,65,80."),
    carry_tier: Optional[list[str]] = typer.Option(None, "--carry-tier", help="Tier whose label becomes a column tier_NAME (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Redo every chunk even if up to date."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Find audio/TextGrid pairs, measure every vowel with Praat and store its spectrogram."""
    setup_logging(verbose)
    settings = resolve_settings(config, {
        "labels": {"vowel_set": vowels, "stress": stress, "min_duration_ms": min_duration,
                   "include_unvoiced": unvoiced, "convention": convention},
        "corpus": {"phones_tier": phones_tier, "words_tier": words_tier, "speaker_pattern": speaker_pattern,
                   "speaker_from": speaker_from, "speaker_groups": str(speaker_groups) if speaker_groups else None},
        "spectrogram": {"max_freq": max_freq},
        "extract": {"jobs": jobs},
    })
    settings = settings.with_overrides(output_overrides(track_step, points, carry_tier))
    with rich_progress() as progress:
        summary = extract(corpus, out, textgrids, settings, progress=progress, force=force)
    print_summary(summary)


def print_summary(summary: ExtractSummary) -> None:
    """The end-of-run Rich table: files, speakers, tokens per class, problems by reason."""
    table = Table(title=f"extracted into {summary.run_dir}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("audio files", str(summary.n_audio))
    table.add_row("label files", str(summary.n_labels))
    table.add_row("pairs", str(summary.n_pairs))
    table.add_row("chunks redone / up to date", f"{summary.n_chunks_done} / {summary.n_chunks_skipped}")
    table.add_row("speakers", str(summary.speakers))
    table.add_row("[bold]tokens", f"[bold]{summary.n_tokens}")
    for cls, n in sorted(summary.tokens_by_class.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(f"  {cls}", str(n))
    if summary.problems_by_reason:
        table.add_row("[yellow]problems", f"[yellow]{sum(summary.problems_by_reason.values())}")
        for reason, n in summary.problems_by_reason.most_common():
            table.add_row(f"  [yellow]{reason}", str(n))
    console.print(table)
