"""The command line: a thin Typer layer over the library. Each command lives in ``vowelcam.commands``.

Start-up stays fast (``vowelcam --help`` and ``--version`` well under a second) because a command module
imports only Typer, Rich and the settings at module level; torch, Praat and the stages are imported inside the
command function when it runs. ``tests/test_cli.py`` checks that ``--help`` imports no torch.

Usage errors (a bad choice, a missing argument, a flag that does not exist) are one line on stderr, exit
status 2, raised by Typer before the command body runs, so nothing is written.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from ._version import __version__


def _click_class(name: str) -> type:
    """Click's exception class ``name`` (Typer re-exports only BadParameter; newer Typers vendor Click)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_UsageError = _click_class("UsageError")
_ClickException = _click_class("ClickException")


class OneLineErrors(TyperGroup):
    """A Typer group whose usage errors are one line (``vowelcam train: error: ... (-h for help)``)."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; on a usage error print one line to stderr and exit with status 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError" or exc.ctx is None:
                exc.show()
            else:
                message = " ".join(exc.format_message().replace("Value error, ", "").split())
                typer.echo(f"{exc.ctx.command_path}: error: {message} (-h for help)", err=True)
            sys.exit(exc.exit_code)
        except _ClickException as exc:
            typer.echo(f"vowelcam: error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except (KeyboardInterrupt, EOFError):
            typer.echo("vowelcam: interrupted", err=True)
            sys.exit(130)
        except typer.Abort:
            typer.echo("vowelcam: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class NamedArguments(TyperCommand):
    """A command whose arguments read as what they are (``RUN_DIR``, ``CORPUS``, ``RECORDING``) in the usage line
    and the help, not as Typer's ``{run_dir}``: an argument without a metavar gets its name in capitals."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument) and param.metavar is None and param.name:
                param.metavar = param.name.upper()

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``[OPTIONS] RUN_DIR`` (optional arguments in brackets)."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = str(param.metavar) + ("..." if param.nargs != 1 else "")
                pieces.append(name if param.required else f"[{name}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


app = typer.Typer(
    name="vowelcam",
    cls=OneLineErrors,
    help="What does a neural network hear when it classifies vowels? Extract tokens, train ResNets, read CAMs in Hz.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is plain: regexes and [defaults] are shown as written
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)

# Each module defines register(app) and imports nothing heavy at module level. Order = order in --help.
COMMAND_MODULES = ["analyze", "synth", "calibrate", "extract", "train", "classify", "cam", "report", "export", "show"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vowelcam {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """vowelcam: results go to stdout, progress and logs to stderr."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.commands.{_name}").register(app)
for _info in app.registered_commands:
    if _info.cls in (None, TyperCommand):
        _info.cls = NamedArguments
