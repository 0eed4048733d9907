"""The report: a run directory rendered as ``report/report.html`` and ``report/report.pdf``.

Entry point::

    from vowelcam.report import build_report
    result = build_report("runs/h95")          # -> ReportResult(html, pdf, figures, pdf_error, timings, pages, missing)

Modules, one job each: ``data`` (load and validate the run directory; optional parts may be missing),
``stats`` (the numbers with their 95 % intervals), ``reference_mixture`` (published formants mixed for the run's
speaker groups), ``sections`` (the report's sections as plain data), ``plots`` / ``cards`` / ``figures``
(matplotlib, headless), ``render`` (Jinja2 with autoescape → HTML → WeasyPrint PDF), ``speakers`` (the
per-speaker view), ``map_quality``, ``token_view`` (one token's picture: the report cards and ``vowelcam show``).
Labels are written as "i (IY)" by :func:`vowelcam.corpus.labels.ipa_label`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "ReportResult", "load_report_data"]


def __getattr__(name: str) -> Any:  # lazy: importing a helper module must not pull in matplotlib or WeasyPrint
    if name in ("build_report", "ReportResult"):
        from . import render

        return getattr(render, name)
    if name == "load_report_data":
        from .data import load_report_data

        return load_report_data
    raise AttributeError(name)
