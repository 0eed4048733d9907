"""``vowelcam cam RUN_DIR``: class activation maps in Hz, band metrics against formants, faithfulness tests."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import CamLayer, CamMethod, CamTokens, check_reference
from .common import (config_option, device_option, handle_errors, out, resolve_settings, rich_progress, setting,
                     setup_logging, verbose_option)

if TYPE_CHECKING:
    from ..explain.run import CamSummary


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("cam")(cam_command)


@handle_errors
def cam_command(
    run_dir: Path = typer.Argument(..., help="Run directory with a trained model and predictions.csv."),
    method: Optional[CamMethod] = setting("cam.method", "--method", "-m", help="CAM method."),
    layer: Optional[CamLayer] = setting("cam.layer", "--layer", shown="the model's CAM layer", help="CAM layer."),
    tokens: Optional[CamTokens] = setting("cam.tokens", "--tokens", help="Maps for the test tokens or all tokens."),
    halfwidth: Optional[float] = setting(
        "cam.band_halfwidth_hz", "--band-halfwidth", min=0,
        help="Formant band +- Hz (0 = half the measured bandwidth, at least 50 Hz)."),
    reference: Optional[str] = setting("cam.reference", "--reference", callback=check_reference,
                                       help="Reference formants: h95 | pb52 | PATH.csv."),
    faithfulness: Optional[bool] = setting(
        "cam.faithfulness", "--faithfulness/--no-faithfulness", help="Run band deletion, randomisation and shift tests."),
    batch_size: Optional[int] = setting("cam.batch_size", "--batch-size", min=0, shown="32 on a CPU, 256 on CUDA",
                                        help="Tokens per batch."),
    device: str = device_option(),
    config: Optional[Path] = config_option(),
    verbose: bool = verbose_option(),
) -> None:
    """CAMs for the true and predicted class of every test token, read in Hz against formants."""
    setup_logging(verbose)
    settings = resolve_settings(config, {
        "cam.method": method, "cam.layer": layer, "cam.tokens": tokens, "cam.band_halfwidth_hz": halfwidth,
        "cam.reference": reference, "cam.faithfulness": faithfulness, "cam.batch_size": batch_size})
    from ..explain.run import explain_run
    from ..learn.distributed import from_env

    if not from_env().is_main:  # under torchrun: rank 0 shows progress and the summary
        explain_run(run_dir, settings.cam, device=device)
        return
    with rich_progress(transient=True) as progress:
        summary = explain_run(run_dir, settings.cam, device=device, progress=progress)
    print_summary(summary)


def _fmt(value: float, digits: int = 2) -> str:
    return "" if value != value else f"{value:.{digits}f}"


def print_summary(summary: CamSummary) -> None:
    """Per-vowel enrichment table and the faithfulness headline numbers."""
    title = (f"{summary.method} at {summary.layer}: {summary.hz_per_row:g} Hz per CAM row, {summary.n_tokens} "
             f"tokens, accuracy {summary.accuracy:.1%}")
    table = Table(title=title)
    for col in ("vowel", "n", "acc", "enrich F1", "enrich F2", "enrich F3", "peak on formant", ">F3", ">4k"):
        table.add_column(col, justify="left" if col == "vowel" else "right")
    for row in summary.agreement:
        table.add_row(row["vowel"], str(row["n"]), _fmt(row["accuracy"]), _fmt(row["enrich_f1"]),
                      _fmt(row["enrich_f2"]), _fmt(row["enrich_f3"]), _fmt(row["peak_on_formant_share"]),
                      _fmt(row["hf_share_above_f3"]), _fmt(row["hf_share_above_4k"]))
    out.print(table)
    if summary.n_no_formants or summary.n_no_reference:
        out.print(f"tokens without measured formants: {summary.n_no_formants}; "
                  f"without reference formants: {summary.n_no_reference}")
    if summary.faithfulness:
        faith = Table(title=f"faithfulness ({summary.hz_per_row:g} Hz per CAM row)")
        for col in ("test", "condition", "metric", "value", "95% CI", "n"):
            faith.add_column(col)
        for r in summary.faithfulness:
            ci = f"{_fmt(r['ci_lo'], 3)} .. {_fmt(r['ci_hi'], 3)}" if r["ci_lo"] is not None else ""
            faith.add_row(r["test"], r["condition"], r["metric"], _fmt(r["value"], 3), ci, str(r["n"]))
        out.print(faith)
    out.print("wrote " + escape(", ".join(str(p) for p in summary.outputs)), soft_wrap=True)
