"""``vowelcam cam RUN_DIR``: class activation maps in Hz, band metrics against formants, faithfulness tests."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..explain.cam import CAM_METHODS
from ..explain.run import CamSummary, explain_run
from ..learn.distributed import from_env
from .common import handle_errors, out, resolve_settings, rich_progress, setup_logging


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.command("cam")(cam_command)


@handle_errors
def cam_command(
    run_dir: Path = typer.Argument(..., help="Run directory with a trained model and predictions.csv."),
    method: Optional[str] = typer.Option(None, "--method", "-m", help=f"CAM method: {' | '.join(CAM_METHODS)}."),
    layer: Optional[str] = typer.Option(None, "--layer", help="CAM layer (layer1..layer4; default: the model's)."),
    tokens: Optional[str] = typer.Option(None, "--tokens", help="test | all"),
    halfwidth: Optional[float] = typer.Option(
        None, "--band-halfwidth", help="Formant band +- Hz (0 = half the measured bandwidth, at least 50 Hz)."),
    reference: Optional[str] = typer.Option(None, "--reference", help="Reference formants: h95 | pb52 | PATH.csv"),
    faithfulness: Optional[bool] = typer.Option(
        None, "--faithfulness/--no-faithfulness", help="Run band deletion, randomisation and shift tests."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Tokens per batch (default 32 on a CPU, 256 on CUDA)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available) | cpu | cuda | cuda:N"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file (flags override it)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """CAMs for the true and predicted class of every test token, read in Hz against formants."""
    setup_logging(verbose)
    settings = resolve_settings(config, {"cam": {
        "method": method, "layer": layer, "tokens": tokens, "band_halfwidth_hz": halfwidth, "reference": reference,
        "faithfulness": faithfulness, "batch_size": batch_size}})
    if not from_env().is_main:  # under torchrun: rank 0 shows progress and the summary
        explain_run(run_dir, settings.cam, device=device)
        return
    with rich_progress(transient=True) as progress:
        summary = explain_run(run_dir, settings.cam, device=device, progress=progress)
    print_summary(summary)


def _fmt(value: float, digits: int = 2) -> str:
    return "" if value != value else f"{value:.{digits}f}"


def _fmt_ci(row: dict, key: str) -> str:
    value, lo, hi = (row.get(k, float("nan")) for k in (key, f"{key}_lo", f"{key}_hi"))
    return "" if value != value else f"{value:+.2f} [{_fmt(lo)}, {_fmt(hi)}]"


def print_summary(summary: CamSummary) -> None:
    """Per-vowel enrichment table and the faithfulness headline numbers."""
    title = (f"{summary.method} at {summary.layer}: {summary.hz_per_row:g} Hz per CAM row, {summary.n_tokens} "
             f"tokens, accuracy {summary.accuracy:.1%}")
    unit = next((r.get("ci_unit") for r in summary.agreement if r.get("ci_unit")), "speaker")
    table = Table(title=title, caption=f"held-out tokens; CAM - energy: enrichment difference, 95 % CI resampling "
                                       f"{unit}s; verdict: support = CAM above the energy baseline and the null")
    for col in ("vowel", "n", "acc", "enrich F1", "enrich F2", "enrich F3", "F1 - energy", "F2 - energy",
                "F3 - energy", "verdict F1/F2/F3", "peak on formant", ">F3"):
        table.add_column(col, justify="left" if col in ("vowel", "verdict F1/F2/F3") else "right")
    for row in summary.agreement:
        contrasts = [_fmt_ci(row, f"enrich_f{k}_minus_energy") for k in (1, 2, 3)]
        verdict = "/".join(row.get(f"verdict_f{k}") or "-" for k in (1, 2, 3))
        table.add_row(row["vowel"], str(row["n"]), _fmt(row["accuracy"]), _fmt(row["enrich_f1"]),
                      _fmt(row["enrich_f2"]), _fmt(row["enrich_f3"]), *contrasts, verdict,
                      _fmt(row["peak_on_formant_share"]), _fmt(row["hf_share_above_f3"]))
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
    out.print("wrote " + ", ".join(str(p) for p in summary.outputs))
