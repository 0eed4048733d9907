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
        None, "--faithfulness/--no-faithfulness", help="Run band deletion, randomisation and vocal-tract-length warp tests."),
    deletion_widths: Optional[str] = typer.Option(
        None, "--deletion-widths", help="Band widths of the deletion curve, Hz (comma list, e.g. 125,250,500,1000)."),
    randomisation_seeds: Optional[int] = typer.Option(
        None, "--randomisation-seeds", help="Seeds of the cascading randomisation (each re-runs the cascade)."),
    label_permutation: Optional[bool] = typer.Option(
        None, "--label-permutation/--no-label-permutation",
        help="Also compare with a copy whose top block learnt permuted labels (a short training)."),
    causal: Optional[bool] = typer.Option(
        None, "--causal/--no-causal", help="Causal formant test: resynthesise tokens with a formant moved."),
    causal_corpus: Optional[Path] = typer.Option(
        None, "--causal-corpus", help="Corpus folder the run was extracted from (audio for --causal)."),
    causal_manipulations: Optional[str] = typer.Option(
        None, "--causal-manipulations", help="e.g. F1+1,F1-1,F2+1,F2-1,vtl0.9,vtl1.1 (Bark moves; length scales)."),
    causal_max_tokens: Optional[int] = typer.Option(None, "--causal-max-tokens", help="Tokens for --causal."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Tokens per batch (default 32 on a CPU, 256 on CUDA)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available) | cpu | cuda | cuda:N"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file (flags override it)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """CAMs for the true and predicted class of every test token, read in Hz against formants."""
    setup_logging(verbose)
    settings = resolve_settings(config, {"cam": {
        "method": method, "layer": layer, "tokens": tokens, "band_halfwidth_hz": halfwidth, "reference": reference,
        "faithfulness": faithfulness, "batch_size": batch_size, "deletion_widths_hz": deletion_widths,
        "randomisation_seeds": randomisation_seeds, "label_permutation": label_permutation, "causal": causal,
        "causal_corpus": str(causal_corpus) if causal_corpus else None,
        "causal_manipulations": causal_manipulations, "causal_max_tokens": causal_max_tokens}})
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
        for col in ("test", "condition", "metric", "value", "95% CI", "n", "unit"):
            faith.add_column(col)
        for r in summary.faithfulness:  # the deletion curve and seed spreads are in faithfulness.csv only
            if r["test"] == "deletion_curve" or r["metric"] == "spearman_seed_sd":
                continue
            ci = f"{_fmt(r['ci_lo'], 3)} .. {_fmt(r['ci_hi'], 3)}" if r["ci_lo"] is not None else ""
            faith.add_row(r["test"], r["condition"], r["metric"], _fmt(r["value"], 3), ci, str(r["n"]),
                          f"{r.get('unit') or ''} ({r.get('n_clusters') or '-'})")
        out.print(faith)
    out.print("wrote " + ", ".join(str(p) for p in summary.outputs))
