"""``vowelcam calibrate OUT_DIR``: train on single-cue corpora and record what each instrument says about them."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .common import device_option, handle_errors, out, rich_progress, setup_logging, verbose_option


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("calibrate")(calibrate_command)


@handle_errors
def calibrate_command(
    out_dir: Path = typer.Argument(..., help="Folder for the corpora, their runs and calibration.csv."),
    cues: str = typer.Option("f1,f2,f3,duration,f0", "--cues", help="Comma list of cues (f1 f2 f3 duration f0)."),
    seeds: str = typer.Option("101,202,303", "--seeds", help="Comma list of corpus (and training) seeds."),
    instruments: Optional[str] = typer.Option(
        None, "--instruments", show_default="all", help="Comma list: METHOD@LAYER, occlusion, integrated-gradients."
    ),
    speakers_per_group: int = typer.Option(20, "--speakers-per-group", min=4, help="Speakers (men, women each)."),
    epochs: int = typer.Option(
        30, "--epochs", min=0, help="Training epochs per corpus (upper bound; 0 = from its size)."
    ),
    device: str = device_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Ground truth for the instruments: single-cue corpora, trained and read; calibration.csv per instrument."""
    setup_logging(verbose)
    from ..errors import ConfigError
    from ..explain.calibration_run import CalibrationSettings, calibrate, parse_list
    from ..explain.maps.instruments import instrument_list
    from ..synth.cues import check_cue

    try:
        chosen = tuple(check_cue(c) for c in parse_list(cues))
        seed_list = tuple(int(s) for s in parse_list(seeds))
    except ValueError as exc:
        raise ConfigError(f"--seeds: {exc}") from None
    settings = CalibrationSettings(
        cues=chosen,
        seeds=seed_list,
        speakers_per_group=speakers_per_group,
        epochs=epochs,
        **({"instruments": tuple(instrument_list(instruments))} if instruments else {}),
    )
    with rich_progress() as progress:
        rows = calibrate(out_dir, settings, device=device, progress=progress)
    _print(rows, out_dir)


def _print(rows: list[dict], out_dir: Path) -> None:
    from ..explain.readings.calibration import summarise

    table = Table(title=f"calibration in {escape(str(out_dir))}")
    for col in ("instrument", "runs", "hits", "misses", "false calls", "status"):
        table.add_column(col)
    for record in summarise(rows).values():
        table.add_row(
            record.instrument,
            str(record.runs),
            str(record.hits),
            str(record.misses),
            str(record.false_calls),
            record.status,
        )
    out.print(table)
