"""``vowelcam report RUN_DIR``: run directory → figures → ``report.html`` (Jinja2, autoescaped) → ``report.pdf``
(WeasyPrint). Both documents are kept; every write is atomic. When WeasyPrint cannot load (no Pango), the HTML is
still written and the result says what to install."""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import jinja2

from .. import rundir
from .._version import __version__
from ..errors import ConfigError
from ..progress import ProgressCallback, report
from ..rundir import atomic_path, atomic_write_text
from .data import ReportData, load_report_data
from .figures import make_figures
from .hears import hears_section
from .map_quality import map_quality_section
from .reference_mixture import references_for
from .sections import (
    agreement_rows,
    analysed_tokens,
    faithfulness,
    methods,
    model_info,
    problems,
    summary,
    verdict_summary,
)
from .speakers import speaker_section
from .stats import Estimate, formant_means

log = logging.getLogger(__name__)

HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
CSS_NAME = "report.css"
FONTS = "fonts"
PANGO_HINT = (
    "install Pango: `apt-get install libpango-1.0-0 libpangoft2-1.0-0` (Debian/Ubuntu) or `brew install pango` "
    "(macOS); see https://doc.courtbouillon.org/weasyprint/stable/first_steps.html"
)


@dataclass(frozen=True)
class ReportResult:
    """Where the report went and how long each part took (seconds)."""

    html: Path
    pdf: Optional[Path]  # None when WeasyPrint could not run
    figures: Path
    pdf_error: str  # empty when the PDF was written
    seconds_figures: float
    seconds_html: float
    seconds_pdf: float
    pages: int
    missing: dict[str, str]


def build_report(
    run_dir: str | Path, out: str | Path | None = None, progress: Optional[ProgressCallback] = None
) -> ReportResult:
    """Render the report of ``run_dir`` into ``out`` (default ``RUN_DIR/report/``).

    Raises RunDirError for a run directory that is not one (or of another format version); parts of the run that
    were not computed are stated as such in the report.
    """
    data = load_report_data(run_dir)
    report_dir = Path(out) if out is not None else data.run.path(rundir.REPORT_DIR)
    report_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    context = _context(data, report_dir, progress)
    t1 = time.perf_counter()
    report(progress, "report", 0, 2, "HTML")
    html_path = write_html(context, report_dir)
    t2 = time.perf_counter()
    report(progress, "report", 1, 2, "PDF")
    pdf_path, pdf_error, pages = write_pdf(html_path)
    t3 = time.perf_counter()
    report(progress, "report", 2, 2, "done")
    return ReportResult(
        html_path, pdf_path, report_dir / "figures", pdf_error, t1 - t0, t2 - t1, t3 - t2, pages, dict(data.missing)
    )


def _context(data: ReportData, report_dir: Path, progress: Optional[ProgressCallback]) -> dict[str, Any]:
    analysed = analysed_tokens(data)
    measured = formant_means(analysed)
    try:
        references = references_for(analysed, data.settings.cam.reference)
    except ConfigError as exc:
        log.warning("%s", exc)
        data.missing["reference formants"] = str(exc)
        references = {}
    figures = make_figures(data, report_dir, measured, references, analysed, progress)
    agreement = agreement_rows(data, measured, references, "all")
    return {
        "title": data.settings.report.title,
        "version": __version__,
        "run_dir": str(data.run.root.resolve()),
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "summary": summary(data),
        "model": model_info(data),
        "figures": figures,
        "agreement": agreement,
        "verdicts": verdict_summary(agreement),
        "hears": hears_section(data),
        "evidence": [r for r in agreement if r.evidence],
        "agreement_ref": [r for r in agreement if _finite(r.enrich_ref["f1"].value)],
        "agreement_split": _interleave(
            agreement,
            agreement_rows(data, measured, references, "correct")
            + agreement_rows(data, measured, references, "misclassified"),
        ),
        "faithfulness": faithfulness(data) if data.faithfulness is not None else None,
        "methods": methods(data),
        "problems": problems(data),
        "missing": data.missing,
        "has": {
            "predictions": data.predictions is not None,
            "cams": data.cams is not None,
            "agreement": data.agreement is not None,
            "references": bool(references),
        },
        "gallery_size": data.settings.report.gallery_size,
        "n_analysed": len(analysed),
        "speakers": speaker_section(data, report_dir),
        "map_quality": map_quality_section(data),
    }


def _interleave(order: list[Any], rows: list[Any]) -> list[Any]:
    """``rows`` in the vowel order of ``order`` (the all-tokens table), correct before misclassified."""
    rank = {r.vowel: i for i, r in enumerate(order)}
    return sorted(rows, key=lambda r: (rank.get(r.vowel, len(rank)), r.subset != "correct"))


def environment() -> jinja2.Environment:
    """The Jinja2 environment over the packaged templates: autoescape on, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt_num, ci=fmt_ci, pct=fmt_pct, pct_ci=fmt_pct_ci, hz=fmt_hz, signed_ci=fmt_signed_ci)
    env.filters.update(label=label, readable=readable, subtable=subtable, setting_label=setting_label)
    return env


def write_html(context: dict[str, Any], report_dir: Path) -> Path:
    """Render ``report.html`` and place its stylesheet and fonts beside it (atomic writes)."""
    html = environment().get_template("report.html").render(**context)
    _copy_assets(report_dir)
    path = report_dir / HTML_NAME
    atomic_write_text(path, html)
    return path


def write_pdf(html_path: Path) -> tuple[Optional[Path], str, int]:
    """``report.pdf`` beside ``html_path``; returns (path or None, error message, page count)."""
    try:
        import weasyprint
    except (OSError, ImportError) as exc:  # OSError: a system library (Pango, GObject) is missing
        message = f"PDF not written: WeasyPrint cannot load ({exc}); {PANGO_HINT}. The HTML report is at {html_path}"
        log.warning("%s", message)
        return None, message, 0
    target = html_path.with_name(PDF_NAME)
    document = weasyprint.HTML(filename=str(html_path), base_url=str(html_path.parent)).render()
    with atomic_path(target, suffix=".pdf") as tmp:
        document.write_pdf(tmp)
    return target, "", len(document.pages)


def _templates() -> Path:
    return Path(str(resources.files("vowelcam.templates")))


def _copy_assets(report_dir: Path) -> None:
    source = _templates()
    with atomic_path(report_dir / CSS_NAME, suffix=".css") as tmp:
        shutil.copyfile(source / CSS_NAME, tmp)
    fonts = report_dir / FONTS
    fonts.mkdir(exist_ok=True)
    for font in sorted((source / FONTS).iterdir()):
        target = fonts / font.name
        if not target.exists() or target.stat().st_size != font.stat().st_size:
            with atomic_path(target, suffix=font.suffix) as tmp:
                shutil.copyfile(font, tmp)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt_num(x: Any, digits: int = 0) -> str:
    """A number with fixed decimals; an en dash for a missing value."""
    return f"{x:.{digits}f}" if _finite(x) else "–"


def fmt_hz(x: Any) -> str:
    """Hz rounded to whole numbers."""
    return fmt_num(x, 0)


def _estimate_text(est: Optional[Estimate], one: Callable[[float], str], unit: str = "") -> str:
    """``value{unit} [lo, hi]`` with each number written by ``one``; the value alone without an interval."""
    if est is None or not _finite(est.value):
        return "–"
    if _finite(est.lo) and _finite(est.hi):
        return f"{one(est.value)}{unit} [{one(est.lo)}, {one(est.hi)}]"
    return f"{one(est.value)}{unit}"


def fmt_ci(est: Optional[Estimate], digits: int = 2) -> str:
    """``"1.84 [1.52, 2.17]"``; the value alone when it has no interval."""
    return _estimate_text(est, lambda v: f"{v:.{digits}f}")


NBSP = "\u00a0"  # keeps a number and its unit on one line


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A share as a percentage."""
    return f"{100 * x:.{digits}f}{NBSP}%" if _finite(x) else "–"


def fmt_pct_ci(est: Optional[Estimate], digits: int = 1) -> str:
    """``"78.3 % [74.1, 82.0]"``."""
    return _estimate_text(est, lambda v: f"{100 * v:.{digits}f}", f"{NBSP}%")


def fmt_signed_ci(est: Optional[Estimate], digits: int = 2) -> str:
    """A contrast with its sign: ``"+0.70 [+0.64, +0.74]"``."""
    return _estimate_text(est, lambda v: f"{v:+.{digits}f}")


UNITS = {"hz": "Hz", "ms": "ms", "db": "dB"}
WORDS = {"rho": "ρ", "prob": "p", "cam": "CAM", "sd": "SD", "lo": "low", "hi": "high", "n": "n"}
LIST_SHOWN = 8
SETTING_UNITS = {  # settings whose name carries no unit
    **dict.fromkeys(["ceiling_men", "ceiling_women", "ceiling_children", "ceiling_unknown"], "Hz"),
    **dict.fromkeys(["pitch_floor", "pitch_ceiling", "f1_max", "b2_max", "b3_max", "sample_rate"], "Hz"),
    **dict.fromkeys(["max_freq", "max_hz_per_row", "pre_emphasis_from"], "Hz"),
    **dict.fromkeys(["time_step", "window_length"], "s"),
}
PHRASES = {"prob_drop": "drop in p(true class)", "prob_true": "p(true class)", "accuracy_drop": "drop in accuracy"}


def label(key: Any) -> str:
    """A snake_case key as words with its unit last: ``point_spread_hz_sd`` -> "point spread SD (Hz)",
    ``top_cam_band@125Hz`` -> "top CAM band, 125 Hz"."""
    if str(key) in PHRASES:
        return PHRASES[str(key)]
    base, _, at = str(key).partition("@")
    words = [w for w in base.split("_") if w]
    unit = next((UNITS[w] for w in reversed(words) if w in UNITS), "")
    text = " ".join(WORDS.get(w, w) for w in words if w not in UNITS)
    text += f" ({unit})" if unit else ""
    return text + (", " + at.replace("Hz", " Hz") if at else "")


def setting_label(key: str) -> str:
    """A config.toml key as words with its unit: ``ceiling_men`` -> "ceiling men (Hz)"."""
    unit = SETTING_UNITS.get(key)
    return f"{label(key)} ({unit})" if unit else label(key)


def readable(value: Any, key: Any = "") -> str:
    """A value for a reader: Hz, ms and dB to whole units (one decimal below 100), other numbers to 3 significant
    digits, booleans as yes/no, dicts as "label: value" pairs, long lists shortened."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if any(w in UNITS for w in str(key).split("@")[0].split("_")):
            return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, dict):
        return "; ".join(f"{label(k)}: {readable(v, k)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        shown = [readable(v, key) for v in value[:LIST_SHOWN]]
        return ", ".join(shown) + (f", … ({len(value)} values)" if len(value) > LIST_SHOWN else "")
    return str(value)


def subtable(value: Any) -> Optional[dict[str, Any]]:
    """A dict of dicts (one entry per layer or per method) as a table: ``columns``, ``rows`` (the entry's name
    first), short fields as columns (``x`` with ``x_lo``/``x_hi`` as one "x [lo, hi]" column), long texts as
    ``notes`` under the table; None for any other value."""
    if not isinstance(value, dict) or not value or not all(isinstance(v, dict) for v in value.values()):
        return None
    columns: list[str] = []
    notes: dict[str, list[str]] = {}
    for name, inner in value.items():
        for k, v in inner.items():
            if isinstance(v, str) and len(v) > 40:
                notes.setdefault(v, []).append(str(name))
            elif v != name and not k.endswith(("_lo", "_hi")) and k not in columns:
                columns.append(k)
    rows = [[str(name), *(_cell(inner, c) for c in columns)] for name, inner in value.items()]
    heads = [label(c) + (" [95 % CI]" if f"{c}_lo" in value[next(iter(value))] else "") for c in columns]
    return {"columns": heads, "rows": rows, "notes": [f"{', '.join(n)}: {text}" for text, n in notes.items()]}


def _cell(inner: dict[str, Any], key: str) -> str:
    if key not in inner:
        return ""
    text = readable(inner[key], key)
    if f"{key}_lo" in inner and f"{key}_hi" in inner:
        text += f" [{readable(inner[f'{key}_lo'], key)}, {readable(inner[f'{key}_hi'], key)}]"
    return text
