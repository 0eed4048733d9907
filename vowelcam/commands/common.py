"""What every command shares: the Rich console, logging, one-line errors, progress bars, settings flags."""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..config import Settings, load_settings
from ..errors import VowelcamError
from ..progress import ProgressCallback

console = Console(stderr=True)
out = Console()  # results (tables, JSON) go to stdout

F = TypeVar("F", bound=Callable[..., Any])


def setup_logging(verbose: bool = False) -> None:
    """Install a Rich log handler (only the CLI does this, never the library)."""
    root = logging.getLogger("vowelcam")
    root.handlers[:] = [RichHandler(console=console, show_path=False, show_time=False)]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def handle_errors(func: F) -> F:
    """Turn a VowelcamError into one red line and exit status 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except VowelcamError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def resolve_settings(config: Path | None, overrides: Mapping[str, Mapping[str, Any]], base: Settings | None = None) -> Settings:
    """Defaults < config file < flags (flags left at None do not override)."""
    return load_settings(config, base=base).with_overrides(overrides)


@contextmanager
def rich_progress(transient: bool = False) -> Iterator[ProgressCallback]:
    """A progress callback that draws one Rich bar per stage name."""
    columns = (
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[msg]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    tasks: dict[str, Any] = {}
    with Progress(*columns, console=console, transient=transient) as bar:

        def callback(stage: str, done: int, total: int, message: str = "") -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None, msg="")
            bar.update(tasks[stage], completed=done, total=total or None, msg=message)

        yield callback
