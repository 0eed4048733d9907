"""The command line: a thin Typer layer over the library. Each command lives in ``vowelcam.commands``."""
from __future__ import annotations

import importlib

import typer

from . import __version__

app = typer.Typer(
    name="vowelcam",
    help="What does a neural network hear when it classifies vowels? Extract tokens, train ResNets, read CAMs in Hz.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines register(app). Order = order in --help.
COMMAND_MODULES = ["analyze", "synth", "extract", "train", "classify", "cam", "report", "export", "show"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vowelcam {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """vowelcam command line."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.commands.{_name}").register(app)
