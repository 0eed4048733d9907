"""What every command shares: the consoles, logging, one-line errors, progress bars and settings flags.

The pattern of a command module (``vowelcam/commands/<name>.py``):

- module level imports only Typer, Rich, this module and :mod:`.choices` (never torch or the stages: start-up);
- ``register(app)`` adds the command; the command function is wrapped in :func:`handle_errors`;
- a flag that overrides a setting is declared with :func:`setting` (``"section.key"``, default None so a
  ``--config`` file can set it, the built-in default shown in ``--help``), a closed set of values with an Enum
  of :mod:`.choices`, an open one with a ``check_*`` callback there;
- the body calls :func:`resolve_settings` with ``{"section.key": value}``, imports the library function it
  needs, runs it inside :func:`rich_progress`, prints results with ``out`` (stdout) and notes with ``console``
  (stderr).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..checks.faults import os_fault_message
from ..config import Settings, load_settings
from ..errors import ConfigError, VowelcamError
from ..progress import ProgressCallback
from .choices import check_device, value

console = Console(stderr=True)  # progress, logs and notes
out = Console()  # results (tables, JSON, where the outputs went)

_DEFAULTS = {f.name: f.default_factory() for f in dataclasses.fields(Settings)}  # type: ignore[misc]

F = TypeVar("F", bound=Callable[..., Any])


def setup_logging(verbose: bool = False) -> None:
    """Install a Rich log handler (only the CLI does this, never the library)."""
    root = logging.getLogger("vowelcam")
    root.handlers[:] = [RichHandler(console=console, show_path=False, show_time=False)]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def handle_errors(func: F) -> F:
    """Turn a VowelcamError into red lines (one per problem) and an OS fault (a read-only run directory, a full
    disk) into one line with what to do; exit status 2, no traceback (``-v`` logs it)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _terminate_as_exit():
                return func(*args, **kwargs)
        except VowelcamError as exc:
            print_error(str(exc))
            raise typer.Exit(code=2) from None
        except OSError as exc:
            logging.getLogger("vowelcam").debug("operating-system error", exc_info=True)
            print_error(os_fault_message(exc))
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def print_error(message: str) -> None:
    """Each line of ``message`` as one red ``error:`` line on stderr."""
    for line in message.splitlines() or [""]:
        console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (``kill``, a scheduler's stop) ends the command like Ctrl-C does: temporary files are removed and
    the run's lock released on the way out (the default action would kill the process on the spot)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_option() -> Any:
    """``--wait``: wait for another writer of the run directory instead of stopping."""
    return typer.Option(
        False, "--wait", help="When another vowelcam command is writing into the run directory, wait for it to end."
    )


def say_waiting(holder: dict) -> None:
    """Note on stderr that a command waits for the run directory's lock (``on_wait`` of the lock)."""
    console.print(
        f"waiting for vowelcam {escape(str(holder.get('command', '?')))} (pid {holder.get('pid', '?')} on "
        f"{escape(str(holder.get('host', '?')))}) to finish with the run directory",
        highlight=False,
    )


def resolve_settings(config: Path | None, overrides: Mapping[str, Any], base: Settings | None = None) -> Settings:
    """Defaults < config file < flags. ``overrides`` maps ``"section.key"`` to a flag's value (None = not given;
    Enum members and paths become plain values)."""
    nested: dict[str, dict[str, Any]] = {}
    for key, given in overrides.items():
        section, name = key.split(".")
        given = value(given)
        nested.setdefault(section, {})[name] = str(given) if isinstance(given, Path) else given
    return load_settings(config, base=base).with_overrides(nested)


def default_of(key: str) -> Any:
    """The built-in default of setting ``"section.key"``."""
    section, name = key.split(".")
    return getattr(_DEFAULTS[section], name)


def setting(key: str, *names: str, help: str, shown: Optional[str] = None, **kwargs: Any) -> Any:
    """A flag that overrides setting ``key`` (``"section.key"``): default None (so the config file decides when
    the flag is absent), with the built-in default shown in ``--help`` (or ``shown``)."""
    if shown is None:
        default = default_of(key)
        if isinstance(default, bool) and names and "/" in names[0]:
            on, off = names[0].split("/")
            shown = on if default else off
        else:
            shown = str(default) if default != "" else "detect"
    return typer.Option(None, *names, help=help, show_default=shown, **kwargs)


def verbose_option() -> Any:
    """``-v/--verbose``: debug logging."""
    return typer.Option(False, "--verbose", "-v", help="Debug messages in the log (stderr).")


def config_option() -> Any:
    """``--config``: a TOML settings file."""
    return typer.Option(
        None,
        "--config",
        help="TOML settings file (a run's config.toml works); flags override it.",
        exists=True,
        dir_okay=False,
    )


def dask_option(doing: str = "Extract", seen: str = "the corpus") -> Any:
    """``--dask ADDRESS``: ``doing`` on a Dask cluster (``$VOWELCAM_DASK`` when the flag is absent); the workers
    must see ``seen`` at the same path."""
    return typer.Option(
        None,
        "--dask",
        envvar="VOWELCAM_DASK",
        show_envvar=True,
        metavar="ADDRESS",
        help=f"{doing} on a Dask cluster: its scheduler (tcp://host:port) or scheduler file; the workers must see"
        f" {seen} at the same path. Needs pip install 'vowelcam[cluster]'.",
    )


@contextmanager
def maybe_cluster(address: str | None, doing: str = "extracting") -> Iterator[Any]:
    """The Dask runner for ``--dask`` (its client closed on leaving), or None without it: the library then uses
    its local processes. Nothing Dask is imported without an address."""
    from ..parallel import dask_or_local

    with dask_or_local(address) as runner:
        if runner is not None:
            console.print(f"{doing} on {escape(runner.name)}", highlight=False)
        yield runner


def device_option() -> Any:
    """``--device``: where torch runs."""
    return typer.Option(
        "auto", "--device", callback=check_device, help="auto (CUDA when available) | cpu | cuda | cuda:N."
    )


@contextmanager
def rich_progress(transient: bool = False) -> Iterator[ProgressCallback]:
    """A progress callback that draws one Rich bar per stage name."""
    columns = (
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[msg]}", markup=False),  # messages may hold [brackets]
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


def output_overrides(track_step: float | None, points: str | None, carry_tiers: list[str] | None) -> dict[str, dict]:
    """Settings overrides from the ``--track-step``, ``--points 20,35,50`` and ``--carry-tier NAME`` flags
    (None/empty = not given). Raises ConfigError for a malformed point list."""
    parsed = None
    if points:
        try:
            parsed = tuple(sorted({int(p) for p in points.replace(" ", "").split(",") if p}))
        except ValueError:
            raise ConfigError(f"--points: expected whole percentages like 20,35,50,65,80, got {points!r}") from None
        if any(not 0 <= p <= 100 for p in parsed):
            raise ConfigError(f"--points: percentages must lie in 0..100, got {points!r}")
    if track_step is not None and not 0 <= track_step <= 0.5:
        raise ConfigError(f"--track-step: a fraction of the vowel in (0, 0.5], or 0 for no tracks; got {track_step}")
    return {
        "measure": {"track_step": track_step, "points": parsed},
        "corpus": {"carry_tiers": tuple(carry_tiers) if carry_tiers else None},
    }
