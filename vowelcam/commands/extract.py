"""``vowelcam extract CORPUS --out RUN_DIR``: tokens, Praat measurements and spectrograms."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import SpeakerFrom, Stress, check_convention, check_vowels
from .common import (
    config_option,
    console,
    dask_option,
    handle_errors,
    maybe_cluster,
    out,
    output_overrides,
    resolve_settings,
    rich_progress,
    say_waiting,
    setting,
    setup_logging,
    verbose_option,
    wait_option,
)

if TYPE_CHECKING:
    from ..extract import ExtractSummary


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("extract")(extract_command)


def corpus_argument() -> Path:
    """The CORPUS argument: an existing folder (checked before anything is written)."""
    return typer.Argument(
        ..., exists=True, file_okay=False, help="Folder with audio (WAV/FLAC, nested folders allowed)."
    )


def textgrids_option(*names: str) -> Optional[Path]:
    """``--textgrids`` (or ``names``): an existing folder."""
    return typer.Option(
        None,
        *(names or ("--textgrids", "-t")),
        exists=True,
        file_okay=False,
        help="Folder of TextGrids, if not beside the audio.",
    )


def vowels_option() -> Optional[str]:
    """``--vowels``: the vowel set."""
    return setting(
        "labels.vowel_set",
        "--vowels",
        callback=check_vowels,
        help="corner | monophthongs | hillenbrand12 | all | a list such as IY,AE,UW.",
    )


def stress_option() -> Optional[Stress]:
    """``--stress``: vowels by lexical stress."""
    return setting(
        "labels.stress", "--stress", help="Which vowels by lexical stress (stressed = primary or secondary)."
    )


def min_duration_option() -> Optional[float]:
    """``--min-duration`` in ms."""
    return setting("labels.min_duration_ms", "--min-duration", min=0, help="Minimum token duration in ms.")


def unvoiced_option() -> Optional[bool]:
    """``--unvoiced/--no-unvoiced``: also the unvoiced consonants."""
    return setting("labels.include_unvoiced", "--unvoiced/--no-unvoiced", help="Also extract P T K CH F TH S SH HH.")


def convention_option() -> Optional[str]:
    """``--labels``: the label convention."""
    return setting(
        "labels.convention",
        "--labels",
        callback=check_convention,
        help="Label convention: auto | arpabet | timit | ipa | buckeye | PATH.csv"
        " (label,phone[,stress][,kind]; a CSV may define new classes).",
    )


def phones_tier_option() -> Optional[str]:
    """``--phones-tier``."""
    return setting("corpus.phones_tier", "--phones-tier", help="Name of the phone tier.")


def words_tier_option() -> Optional[str]:
    """``--words-tier``."""
    return setting("corpus.words_tier", "--words-tier", help="Name of the word tier.")


def speaker_pattern_option() -> Optional[str]:
    """``--speaker-pattern``: a regex or a preset."""
    return setting(
        "corpus.speaker_pattern",
        "--speaker-pattern",
        shown="none",
        help="Regex with (?P<speaker>...) [and (?P<group>...)] on the relative path, or a preset: hillenbrand, timit.",
    )


def speaker_from_option() -> Optional[SpeakerFrom]:
    """``--speaker-from``."""
    return setting("corpus.speaker_from", "--speaker-from", help="Where a token's speaker comes from.")


def speaker_groups_option() -> Optional[Path]:
    """``--speaker-groups``: a CSV speaker map."""
    return setting(
        "corpus.speaker_groups",
        "--speaker-groups",
        shown="none",
        exists=True,
        dir_okay=False,
        help="CSV speaker,group[,ceiling] (men/women/children; ceiling in Hz); other columns go to tokens.csv.",
    )


def token_choice_overrides(
    vowels: str | None,
    stress: Stress | None,
    min_duration: float | None,
    unvoiced: bool | None,
    convention: str | None,
    phones_tier: str | None,
    words_tier: str | None,
    speaker_pattern: str | None,
    speaker_from: SpeakerFrom | None,
    speaker_groups: Path | None,
) -> dict[str, object]:
    """The settings the token-choosing options above set (None: not given), by dotted key."""
    return {
        "labels.vowel_set": vowels,
        "labels.stress": stress,
        "labels.min_duration_ms": min_duration,
        "labels.include_unvoiced": unvoiced,
        "labels.convention": convention,
        "corpus.phones_tier": phones_tier,
        "corpus.words_tier": words_tier,
        "corpus.speaker_pattern": speaker_pattern,
        "corpus.speaker_from": speaker_from,
        "corpus.speaker_groups": speaker_groups,
    }


def track_step_option() -> Optional[float]:
    """``--track-step``: tracks.csv's step as a fraction of the vowel."""
    return setting(
        "measure.track_step",
        "--track-step",
        min=0,
        max=0.5,
        help="tracks.csv: F1-F3 every this fraction of the vowel (0 = no tracks).",
    )


def points_option() -> Optional[str]:
    """``--points``: extra measurement points (% of the vowel) with wide columns."""
    return setting(
        "measure.points",
        "--points",
        shown="20,50,80",
        help="Extra % points with wide F1-F3 columns, e.g. 20,35,50,65,80.",
    )


def carry_tier_option() -> Optional[list[str]]:
    """``--carry-tier NAME`` (repeatable): a TextGrid tier carried into tokens.csv as ``tier_NAME``."""
    return typer.Option(None, "--carry-tier", help="Tier whose label becomes a column tier_NAME (repeatable).")


@handle_errors
def extract_command(
    corpus: Path = corpus_argument(),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run directory to write."),
    textgrids: Optional[Path] = textgrids_option(),
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
    max_freq: Optional[float] = setting(
        "spectrogram.max_freq", "--max-freq", min=0, help="Store spectrograms up to this Hz (0 = full band)."
    ),
    jobs: Optional[int] = setting("extract.jobs", "--jobs", "-j", min=1, help="Worker processes."),
    dask: Optional[str] = dask_option(),
    track_step: Optional[float] = track_step_option(),
    points: Optional[str] = points_option(),
    carry_tier: Optional[list[str]] = carry_tier_option(),
    force: bool = typer.Option(False, "--force", help="Redo every chunk even if up to date."),
    wait: bool = wait_option(),
    config: Optional[Path] = config_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Find audio/TextGrid pairs, measure every vowel with Praat and store its spectrogram."""
    setup_logging(verbose)
    settings = resolve_settings(
        config,
        {
            **token_choice_overrides(
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
            ),
            "spectrogram.max_freq": max_freq,
            "extract.jobs": jobs,
        },
    )
    from ..extract import extract
    from ..runstate.lock import run_lock

    settings = settings.with_overrides(output_overrides(track_step, points, carry_tier))
    with (
        run_lock(out_dir, "extract", wait=wait, on_wait=say_waiting),
        maybe_cluster(dask) as runner,
        rich_progress() as progress,
    ):
        summary = extract(corpus, out_dir, textgrids, settings, progress=progress, force=force, runner=runner)
    print_summary(summary)


def print_summary(summary: ExtractSummary) -> None:
    """The end-of-run table on stdout: files, speakers, tokens per class, problems by reason."""
    table = Table(title=f"extracted into {escape(str(summary.run_dir))}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("audio files", str(summary.n_audio))
    table.add_row("label files", str(summary.n_labels))
    table.add_row("pairs", str(summary.n_pairs))
    table.add_row("chunks redone / up to date", f"{summary.n_chunks_done} / {summary.n_chunks_skipped}")
    table.add_row("speakers", str(summary.speakers))
    table.add_row("[bold]tokens", f"[bold]{summary.n_tokens}")
    for cls, n in sorted(summary.tokens_by_class.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(f"  {escape(cls)}", str(n))
    if summary.problems_by_reason:
        table.add_row("[yellow]problems", f"[yellow]{sum(summary.problems_by_reason.values())}")
        for reason, n in summary.problems_by_reason.most_common():
            table.add_row(f"  [yellow]{escape(reason)}", str(n))
    out.print(table)
    print_notes(summary)


def print_notes(summary: ExtractSummary) -> None:
    """On stderr: one example of each problem (a wrong tier names the real ones), then the run's assumptions."""
    examples = getattr(summary, "problem_examples", {})
    for reason, _ in summary.problems_by_reason.most_common(5):
        if reason in examples:
            line = f"[yellow]{escape(reason)}:[/] e.g. {escape(examples[reason])}"
            console.print(line, soft_wrap=True, highlight=False)
    if summary.problems_by_reason:
        console.print(f"every problem: {escape(str(summary.run_dir / 'problems.csv'))}", highlight=False)
    for note in getattr(summary, "notes", []):
        console.print(f"[bold yellow]note:[/] {escape(note)}", soft_wrap=True, highlight=False)
