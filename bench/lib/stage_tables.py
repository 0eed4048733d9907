"""Rich tables for ``bench_stages.py``: stages, ratios against targets, anchor accuracy."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .stage_children import BATCH, THREADS

TARGETS = {"extract_per_core": 100.0, "vs_fasttrack": 15.0, "cam_vs_forward": 3.0, "full_lj_16_cores_min": 10.0}


def show(res: dict, console: Console) -> None:
    """Stage table, ratio/target table and anchor accuracy table."""
    console.print(stage_table(res))
    console.print(ratio_table(res))
    if "anchors" in res:
        console.print(anchor_table(res["anchors"]))


def stage_table(res: dict) -> Table:
    table = Table(title=f"vowelcam stages (tokens/s; peak RSS of the stage's process tree; {THREADS} torch threads)")
    for col in ("stage", "tokens", "seconds", "tokens/s", "peak MB", "note"):
        table.add_column(col, justify="left" if col in {"stage", "note"} else "right")

    def row(name: str, r: dict, tps: float | None = None, note: str = "", tokens: int | None = None) -> None:
        tps = r.get("tokens_per_s") if tps is None else tps
        tokens = tokens or r.get("tokens")
        seconds = tokens / tps if tokens and tps else r.get("seconds", 0)
        table.add_row(
            name,
            str(tokens or ""),
            f"{seconds:.2f}",
            f"{tps:.2f}" if tps else "–",
            f"{r.get('peak_rss_mb', 0):.0f}",
            note,
        )

    ext = res.get("extract", {})
    for key, what in (("jobs1", "jobs=1, median run"), ("jobs1_best", "jobs=1, best run"), ("jobs2", "jobs=2")):
        if key in ext:
            row(
                f"extract hillenbrand {what}",
                ext[key],
                note=f"formants+F0+spectrograms+writing; {ext[key]['cpu_tokens_per_s']:.1f} tokens per CPU-s",
            )
    if "plain_loop" in ext:
        row(
            "plain Praat loop (median run)",
            ext["plain_loop"],
            note=f"1 Burg call per vowel, file read, no F0/spectrogram;"
            f" {ext['plain_loop']['cpu_tokens_per_s']:.1f} per CPU-s",
        )
    if "anchors" in res:
        for name, m in res["anchors"]["methods"].items():
            table.add_row(
                f"anchor: {name}",
                str(m["tokens"]),
                f"{m['tokens'] / m['tokens_per_s_wall']:.2f}",
                f"{m['tokens_per_s_wall']:.2f}",
                f"{res['anchors']['peak_rss_mb']:.0f}",
                f"CPU {m['tokens_per_s_cpu']:.1f} tok/s; same tokens, interleaved",
            )
    if "spectrogram" in res:
        row(
            "spectrograms alone",
            res["spectrogram"],
            note=f"token_spectrogram {res['spectrogram']['shape']}, audio in memory",
        )
    for key, m in res.get("matmul", {}).items():
        table.add_row(
            f"matmul ({key})",
            "",
            f"{m['seconds']:.3f}",
            "–",
            f"{m['peak_rss_mb']:.0f}",
            f"{m['gflops']:.1f} GFLOP/s float32, n={m['n']} (peak = the larger)",
        )
    for key, r in res.get("models", {}).items():
        for kind in ("train", "infer"):
            if r.get(f"{kind}_tokens_per_s"):
                frac = r.get(f"{kind}_fraction_of_matmul_peak")
                note = (
                    f"{r[f'{kind}_flops_per_token'] / 1e9:.2f} GFLOP/token; {r.get(f'{kind}_gflops', 0):.1f} GFLOP/s"
                    + (f" = {100 * frac:.1f} % of matmul peak" if frac else "")
                )
                row(
                    f"{key} {'training step' if kind == 'train' else 'inference'}",
                    r,
                    r[f"{kind}_tokens_per_s"],
                    note,
                    BATCH,
                )
    if "cams" in res:
        for c in res["cams"]["rows"]:
            table.add_row(
                f"CAM: {c['what']}",
                str(BATCH),
                f"{c['seconds']:.3f}",
                f"{BATCH / c['seconds']:.2f}",
                f"{res['cams']['peak_rss_mb']:.0f}",
                f"{c['ratio_to_forward']:.2f}x forward (resnet18 125 Hz)",
            )
    if "report" in res:
        r = res["report"]
        row("report (synthetic run)", r, note=f"wall; CPU {r['cpu_s']:.1f} s, {r['pages']} pages")
    for key, r in res.get("scale", {}).items():
        row(
            f"LJ-32 scale {key.replace('_jobs', ' jobs=')}",
            r,
            note=f"{r['ms_per_token']:.2f} ms/token wall, {r['cpu_ms_per_token']:.2f} CPU ms/token",
        )
    return table


def ratio_table(res: dict) -> Table:
    d = res["derived"]
    table = Table(title="ratios (same run) and targets")
    for col in ("ratio", "value", "target", "met"):
        table.add_column(col, justify="left" if col == "ratio" else "right")

    def add(name: str, key: str, target: float | None = None, higher_better: bool = True) -> None:
        if key not in d:
            return
        value = d[key]
        met = "" if target is None else ("[green]yes" if (value >= target) == higher_better else "[red]no")
        sign = "≥" if higher_better else "≤"
        table.add_row(name, f"{value:g}", f"{sign} {target:g}" if target is not None else "", met)

    add("extraction per core, tokens/s (median run)", "extract_per_core_tokens_per_s", TARGETS["extract_per_core"])
    add("extraction per core, tokens/s (best run)", "extract_per_core_best_tokens_per_s", TARGETS["extract_per_core"])
    add("extraction ÷ plain Praat loop, same 1116 vowels (median)", "extract_vs_plain_loop")
    add("  same, CPU time", "extract_vs_plain_loop_cpu")
    add("extraction tokens per CPU-second (jobs=1)", "extract_per_cpu_second_tokens", TARGETS["extract_per_core"])
    add("extraction per core ÷ fasttrackpy", "extract_per_core_vs_fasttrack", TARGETS["vs_fasttrack"])
    add("extraction ÷ fasttrackpy, CPU time", "extract_cpu_vs_fasttrack_cpu", TARGETS["vs_fasttrack"])
    add("extraction per core ÷ plain Burg loop", "extract_per_core_vs_plain_burg")
    add("measure_token ÷ fasttrackpy (same tokens)", "measure_token_vs_fasttrack_same_tokens")
    add("plain Burg loop ÷ measure_token", "plain_burg_vs_measure_token")
    add("extraction jobs=2 ÷ jobs=1", "extract_jobs2_speedup")
    add("spectrogram time share of extraction", "spectrogram_share_of_extract_time")
    for what, ratio in d.get("cam_ratios_to_forward", {}).items():
        if what != "plain forward (no_grad)":
            table.add_row(
                f"CAM {what} ÷ forward",
                f"{ratio:g}",
                f"≤ {TARGETS['cam_vs_forward']:g}",
                "[green]yes" if ratio <= TARGETS["cam_vs_forward"] else "[red]no",
            )
    add("vowelcam gradcam ÷ grad-cam package (time)", "vowelcam_gradcam_vs_package_gradcam_time")
    for key in sorted(k for k in d if k.startswith(("time_per_token_", "peak_rss_"))):
        add(key.replace("_", " "), key)
    add("LJ jobs=2 parallel efficiency", "lj_jobs2_parallel_efficiency")
    add("matmul peak GFLOP/s (float32, 2 threads)", "matmul_peak_gflops")
    add("full LJSpeech on 16 cores, minutes", "full_lj_16_cores_minutes", TARGETS["full_lj_16_cores_min"], False)
    add(
        "  same, CPU-time bound (perfect scaling)",
        "full_lj_16_cores_minutes_cpu_bound",
        TARGETS["full_lj_16_cores_min"],
        False,
    )
    return table


def anchor_table(anchors: dict) -> Table:
    table = Table(
        title=f"anchor accuracy on the same {anchors['tokens']} Hillenbrand tokens (median rel. error %, gross > 15 %)"
    )
    for col in ("method", "group", "n", "F1 med", "F2 med", "F3 med", "F1 gross", "F2 gross", "F3 gross"):
        table.add_column(col, justify="left" if col in {"method", "group"} else "right")
    for name, m in anchors["methods"].items():
        for group, s in m["groups"].items():
            table.add_row(
                name,
                group,
                str(s["tokens"]),
                *(f"{s.get(f'F{k}_median_rel_err_pct', float('nan')):.2f}" for k in (1, 2, 3)),
                *(f"{s.get(f'F{k}_gross_pct', float('nan')):.1f}" for k in (1, 2, 3)),
            )
    return table
