"""``vowelcam show RUN TOKEN_ID``: one token's spectrogram, formant track and CAMs as a PNG."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import console, handle_errors, setup_logging


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("show")(show_command)


@handle_errors
def show_command(
    run_dir: Path = typer.Argument(..., help="Run directory."),
    token_id: str = typer.Argument(..., help="A token_id of tokens.csv, e.g. 'men/m01ae:phones:2'."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="PNG to write (default RUN/show/<token>.png)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Draw one token: spectrogram (Hz), formant track, CAM of the true and predicted class, numbers in the title."""
    from ..report.token_view import show_token
    from ..runstate.lock import run_lock

    setup_logging(verbose)
    with run_lock(run_dir, "show") if out is None else nullcontext():  # writes into the run only by default
        console.print(f"wrote {escape(str(show_token(run_dir, token_id, out)))}")
