"""``vowelcam cam RUN_DIR``: class activation maps in Hz, band metrics against formants, faithfulness tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import CamLayer, CamMethod, CamTokens, check_reference
from .common import (
    config_option,
    dask_option,
    device_option,
    handle_errors,
    maybe_cluster,
    out,
    resolve_settings,
    rich_progress,
    say_waiting,
    setting,
    setup_logging,
    verbose_option,
    wait_option,
)

if TYPE_CHECKING:
    from ..explain.stage import CamSummary


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
        "cam.band_halfwidth_hz",
        "--band-halfwidth",
        min=0,
        help="Formant band +- Hz (0 = half the measured bandwidth, at least 50 Hz; never narrower"
        " than the layer's point spread).",
    ),
    reference: Optional[str] = setting(
        "cam.reference", "--reference", callback=check_reference, help="Reference formants: h95 | pb52 | PATH.csv."
    ),
    faithfulness: Optional[bool] = setting(
        "cam.faithfulness",
        "--faithfulness/--no-faithfulness",
        help="Run band deletion, randomisation and vocal-tract-length warp tests.",
    ),
    deletion_widths: Optional[str] = setting(
        "cam.deletion_widths_hz", "--deletion-widths", help="Band widths of the deletion curve, Hz (comma list)."
    ),
    randomisation_seeds: Optional[int] = setting(
        "cam.randomisation_seeds",
        "--randomisation-seeds",
        min=1,
        help="Seeds of the cascading randomisation (each re-runs the cascade).",
    ),
    label_permutation: Optional[bool] = setting(
        "cam.label_permutation",
        "--label-permutation/--no-label-permutation",
        help="Also compare with a copy whose top block learnt permuted labels (a short training).",
    ),
    causal: Optional[bool] = setting(
        "cam.causal",
        "--causal/--no-causal",
        shown="auto: when the corpus audio is reachable",
        help="Causal formant test: resynthesise tokens with a formant moved (--causal insists, --no-causal skips).",
    ),
    causal_corpus: Optional[Path] = setting(
        "cam.causal_corpus",
        "--causal-corpus",
        shown="none",
        exists=True,
        file_okay=False,
        help="Corpus folder the run was extracted from (audio for the causal test; default: the one extract recorded).",
    ),
    causal_manipulations: Optional[str] = setting(
        "cam.causal_manipulations",
        "--causal-manipulations",
        help=(
            "Fk+-d moves formant k by d Bark; vtlX scales every formant by X; notchKL cuts a 1-Bark notch between "
            "Fk and Fl (F4 moves and notches are the shams of the causal verdicts)."
        ),
    ),
    causal_max_tokens: Optional[int] = setting(
        "cam.causal_max_tokens", "--causal-max-tokens", min=1, help="Tokens for --causal (a random subset above this)."
    ),
    instruments: Optional[str] = setting(
        "cam.instruments",
        "--instruments",
        shown="auto: every calibrated instrument",
        help="Comma list: METHOD@LAYER (gradcam@layer3), occlusion, integrated-gradients; verdicts per instrument.",
    ),
    replicate_seeds: Optional[str] = setting(
        "cam.replicate_seeds",
        "--replicate-seeds",
        shown="auto: two more seeds when that takes at most cam.replicate_max_seconds",
        help="Comma list of training seeds (\"\" = none): train the network again with each (RUN/replicates/seed-N) "
        "and count in recurrence.csv which verdicts recur in most runs.",
    ),
    batch_size: Optional[int] = setting(
        "cam.batch_size", "--batch-size", min=0, shown="32 on a CPU, 256 on CUDA", help="Tokens per batch."
    ),
    device: str = device_option(),
    dask: Optional[str] = dask_option("Compute the maps", "the run directory"),
    config: Optional[Path] = config_option(),
    wait: bool = wait_option(),
    verbose: bool = verbose_option(),
) -> None:
    """CAMs for the true and predicted class of every test token, read in Hz against formants."""
    setup_logging(verbose)
    settings = resolve_settings(
        config,
        {
            "cam.method": method,
            "cam.layer": layer,
            "cam.tokens": tokens,
            "cam.band_halfwidth_hz": halfwidth,
            "cam.reference": reference,
            "cam.faithfulness": faithfulness,
            "cam.batch_size": batch_size,
            "cam.instruments": instruments,
            "cam.replicate_seeds": replicate_seeds,
            "cam.deletion_widths_hz": deletion_widths,
            "cam.randomisation_seeds": randomisation_seeds,
            "cam.label_permutation": label_permutation,
            "cam.causal": causal,
            "cam.causal_corpus": causal_corpus,
            "cam.causal_manipulations": causal_manipulations,
            "cam.causal_max_tokens": causal_max_tokens,
        },
    )
    from ..explain.stage import explain_run
    from ..learn.distributed import from_env
    from ..runstate.stages import run_stage

    if not from_env().is_main:  # under torchrun: rank 0 shows progress and the summary
        explain_run(run_dir, settings.cam, device=device)
        return

    with maybe_cluster(dask, "computing maps") as runner:  # an unreachable scheduler fails before the lock

        def action() -> CamSummary:
            with rich_progress(transient=True) as progress:
                return explain_run(run_dir, settings.cam, device=device, progress=progress, runner=runner)

        cam = {"cam": settings.to_dict()["cam"]}
        summary = run_stage(run_dir, "cam", cam, action, wait=wait, on_wait=say_waiting)
    print_summary(summary)


def _fmt(value: float, digits: int = 2) -> str:
    return "" if value != value else f"{value:.{digits}f}"


def _fmt_ci(row: dict, key: str) -> str:
    value, lo, hi = (row.get(k, float("nan")) for k in (key, f"{key}_lo", f"{key}_hi"))
    return "" if value != value else f"{value:+.2f} [{_fmt(lo)}, {_fmt(hi)}]"


def print_summary(summary: CamSummary) -> None:
    """Per-vowel enrichment table and the faithfulness headline numbers."""
    title = (
        f"{summary.method} at {summary.layer}: {summary.hz_per_row:g} Hz per CAM row, {summary.n_tokens} "
        f"tokens, accuracy {summary.accuracy:.1%}"
    )
    unit = next((r.get("ci_unit") for r in summary.agreement if r.get("ci_unit")), "speaker")
    table = Table(
        title=title,
        caption=f"held-out tokens; CAM - energy: enrichment difference, 95 % CI resampling "
        f"{unit}s; verdict: support = CAM above the energy baseline and the null",
    )
    for col in (
        "vowel",
        "n",
        "acc",
        "enrich F1",
        "enrich F2",
        "enrich F3",
        "F1 - energy",
        "F2 - energy",
        "F3 - energy",
        "verdict F1/F2/F3",
        "peak on formant",
        ">F3",
    ):
        table.add_column(col, justify="left" if col in ("vowel", "verdict F1/F2/F3") else "right")
    for row in summary.agreement:
        contrasts = [_fmt_ci(row, f"enrich_f{k}_minus_energy") for k in (1, 2, 3)]
        verdict = "/".join(row.get(f"verdict_f{k}") or "-" for k in (1, 2, 3))
        table.add_row(
            row["vowel"],
            str(row["n"]),
            _fmt(row["accuracy"]),
            _fmt(row["enrich_f1"]),
            _fmt(row["enrich_f2"]),
            _fmt(row["enrich_f3"]),
            *contrasts,
            verdict,
            _fmt(row["peak_on_formant_share"]),
            _fmt(row["hf_share_above_f3"]),
        )
    out.print(table)
    if summary.n_no_formants or summary.n_no_reference:
        out.print(
            f"tokens without measured formants: {summary.n_no_formants}; "
            f"without reference formants: {summary.n_no_reference}"
        )
    if summary.faithfulness:
        faith = Table(title=f"faithfulness ({summary.hz_per_row:g} Hz per CAM row)")
        for col in ("test", "condition", "metric", "value", "95% CI", "n", "unit"):
            faith.add_column(col)
        for r in summary.faithfulness:  # the deletion curve and seed spreads are in faithfulness.csv only
            if r["test"] == "deletion_curve" or r["metric"] == "spearman_seed_sd":
                continue
            ci = f"{_fmt(r['ci_lo'], 3)} .. {_fmt(r['ci_hi'], 3)}" if r["ci_lo"] is not None else ""
            faith.add_row(
                r["test"],
                r["condition"],
                r["metric"],
                _fmt(r["value"], 3),
                ci,
                str(r["n"]),
                f"{r.get('unit') or ''} ({r.get('n_clusters') or '-'})",
            )
        out.print(faith)
    out.print("wrote " + escape(", ".join(str(p) for p in summary.outputs)), soft_wrap=True)
