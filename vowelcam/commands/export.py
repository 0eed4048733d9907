"""``vowelcam export-textgrids RUN``: the run's predictions, measurement points and CAM bands as TextGrid tiers."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import console, handle_errors, setup_logging


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("export-textgrids")(export_command)


@handle_errors
def export_command(
    run_dir: Path = typer.Argument(..., help="Run directory."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder to write (default RUN/textgrids)."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Audio folder (default: the one extract recorded)."),
    textgrids: Optional[Path] = typer.Option(
        None, "--textgrids", "-t", help="TextGrid folder, if apart from the audio."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Copy every input TextGrid with tiers vowelcam-class, vowelcam-points and vowelcam-cam added."""
    from ..export.textgrids import export_textgrids
    from ..runstate.lock import run_lock

    setup_logging(verbose)
    with run_lock(run_dir, "export-textgrids") if out is None else nullcontext():  # writes into the run by default
        summary = export_textgrids(run_dir, out, corpus, textgrids)
    for problem in summary.problems:
        console.print(f"[yellow]skipped:[/] {escape(str(problem))}", soft_wrap=True)
    console.print(f"wrote {len(summary.written)} TextGrids into {escape(str(out or run_dir / 'textgrids'))}")
    for note in summary.notes:
        console.print(f"[bold yellow]note:[/] {escape(note)}", soft_wrap=True, highlight=False)
    if not summary.written:
        raise typer.Exit(code=1)
