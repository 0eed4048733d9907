"""``vowelcam report RUN_DIR``: the HTML and PDF report of a run, rendered from the run directory alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .common import console, handle_errors, out, rich_progress, say_waiting, setup_logging, verbose_option, wait_option

if TYPE_CHECKING:
    from ..report.render import ReportResult


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("report")(report_command)


@handle_errors
def report_command(
    run_dir: Path = typer.Argument(..., help="Run directory (made by `vowelcam analyze` or the stage commands)."),
    out_dir: Optional[Path] = typer.Option(
        None, "--out", "-o", show_default="RUN_DIR/report", help="Folder for report.html, report.pdf and figures/."
    ),
    wait: bool = wait_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Render report.html and report.pdf: summary, confusions, CAMs against formants, annotated errors, methods."""
    setup_logging(verbose)
    from ..report.render import build_report
    from ..runstate.stages import run_stage

    def action() -> ReportResult:
        with rich_progress(transient=True) as progress:
            return build_report(run_dir, out_dir, progress=progress)

    in_run = out_dir is None or out_dir.resolve() == (run_dir / "report").resolve()
    result = run_stage(run_dir, "report", {}, action, record=in_run, wait=wait, on_wait=say_waiting)
    print_result(result)
    if result.pdf is None:
        console.print(f"[bold yellow]warning:[/] {escape(result.pdf_error)}", soft_wrap=True)
        raise typer.Exit(code=1)


def print_result(result: ReportResult) -> None:
    """Where the report went, how long it took and which parts of the run were not computed."""
    table = Table(title="report", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("HTML", escape(str(result.html)))
    table.add_row("PDF", escape(str(result.pdf)) + f" ({result.pages} pages)" if result.pdf else "[yellow]not written")
    table.add_row("figures", escape(str(result.figures)))
    table.add_row(
        "time",
        f"figures {result.seconds_figures:.1f} s, HTML {result.seconds_html:.1f} s, PDF {result.seconds_pdf:.1f} s",
    )
    for part, why in result.missing.items():
        table.add_row(f"[yellow]{escape(part)}", "not computed: " + escape(why))
    out.print(table)
