"""The report's sections as plain data (numbers with intervals, table rows); figures are made in figures.py
and the HTML in render.py. Nothing here formats for display beyond choosing what to show."""

from __future__ import annotations

import json
import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Optional

from ..corpus.labels import ipa_label
from ..rundir import as_float
from .data import ReportData
from .reference_mixture import CITATIONS, Reference
from .stats import (
    FEW_CLUSTERS,
    Estimate,
    accuracy,
    clusters_of,
    evaluation_rows,
    problem_counts,
    proportion,
    test_accuracy,
)

PROBLEM_ROWS_SHOWN = 25
ALL_VOWELS = "ALL"  # agreement.csv's row over every vowel
SOFTWARE = [
    "torch",
    "torchvision",
    "praat-parselmouth",
    "weasyprint",
    "matplotlib",
    "numpy",
    "scipy",
    "jinja2",
    "vowelcam",
]


@dataclass(frozen=True)
class Row:
    """One row of the agreement table."""

    label: str
    vowel: str
    subset: str
    n: int
    accuracy: Estimate
    measured: dict[str, Estimate]
    reference: Optional[Reference]
    enrich: dict[str, Estimate]
    enrich_ref: dict[str, Estimate]  # at the reference formants of the token's group (NaN when not computed)
    peak_on_formant: float
    hf_above_f3: float
    hf_above_4k: float
    evidence: dict[str, Evidence] = field(default_factory=dict)  # per formant f1..f3: the CAM beside its controls
    unit: str = ""  # what the intervals resample (speaker / recording)
    n_clusters: int = 0


CONTROL_NAMES = ("energy", "envelope", "null")


@dataclass(frozen=True)
class Evidence:
    """One formant's enrichment reading beside its controls (see vowelcam.explain.agreement)."""

    formant: str  # F1 | F2 | F3
    cam: Estimate
    controls: dict[str, Estimate]  # energy / envelope / null: the control's own mean
    contrasts: dict[str, Estimate]  # CAM minus control, paired per token
    peak_cam: Estimate  # share of tokens whose top CAM peak lies in this formant's band
    peak_null: Estimate  # the same for the null (another vowel's formant, same speaker): the chance rate
    verdict: str  # "support" | "no support" | "" (not computable)


def summary(data: ReportData) -> dict[str, Any]:
    """Corpus, speakers, tokens per class, model, split and accuracy with its 95 % interval."""
    tokens = data.tokens
    groups = Counter(t.get("group") or "unknown" for t in tokens)
    speakers_by_group = Counter()
    for _speaker, group in {(t["speaker"], t.get("group") or "unknown") for t in tokens}:
        speakers_by_group[group] += 1
    per_class = Counter((t["phone"], t.get("kind", "")) for t in tokens)
    out: dict[str, Any] = {
        "n_tokens": len(tokens),
        "n_files": len({t["file"] for t in tokens}),
        "n_speakers": len({t["speaker"] for t in tokens}),
        "speakers_by_group": sorted(speakers_by_group.items()),
        "tokens_by_group": sorted(groups.items()),
        "classes": [
            {"label": ipa_label(p), "phone": p, "kind": k, "n": n}
            for (p, k), n in sorted(per_class.items(), key=lambda x: (x[0][1], x[0][0]))
        ],
        "evaluation": None,
    }
    if data.predictions:
        out["evaluation"] = evaluation(data)
    return out


def evaluation(data: ReportData) -> dict[str, Any]:
    """Accuracy on the held-out rows, the split sizes and the chance levels to read it against."""
    rows, which = evaluation_rows(data.predictions or [])
    split_tokens = Counter(p.get("split", "") for p in data.predictions or [])
    speakers = {}
    for p in data.predictions or []:
        token = data.by_id.get(p["token_id"])
        if token is not None:
            speakers.setdefault(p.get("split", ""), set()).add(token["speaker"])
    classes = Counter(r["true"] for r in rows)
    recalls = [accuracy([r for r in rows if r["true"] == c]).value for c in classes]
    tested = sorted(set(clusters_of(rows, data.by_id)[0]))  # the held-out speakers (recordings), named on page 1
    return {
        "tested": tested,
        "few_tested": 0 < len(tested) < FEW_CLUSTERS,
        "which": which,
        "accuracy": test_accuracy(rows, data.by_id, data.settings.train.seed)
        if which == "test"
        else accuracy(rows, data.by_id),
        "balanced_accuracy": sum(recalls) / len(recalls) if recalls else float("nan"),
        "chance": 1 / len(classes) if classes else float("nan"),
        "majority": max(classes.values()) / len(rows) if rows else float("nan"),
        "splits": [
            {"split": s, "tokens": n, "speakers": len(speakers.get(s, ()))} for s, n in sorted(split_tokens.items())
        ],
        "folds": len({p.get("fold", "") for p in data.predictions or []}),
    }


def model_info(data: ReportData) -> Optional[dict[str, Any]]:
    """The model's metadata worth printing, plus training length and best validation accuracy."""
    if data.model is None:
        return None
    meta = data.model
    info = {k: meta.get(k) for k in ("arch", "task", "max_freq", "cam_layer", "dilation", "version")}
    info["labels"] = [ipa_label(str(label)) for label in meta.get("labels", [])]
    info["hz_per_row"] = meta.get("hz_per_row") if isinstance(meta.get("hz_per_row"), dict) else {}
    info["norm"] = meta.get("norm")
    info["started_from"] = (meta.get("extra") or {}).get("started_from") or ""
    if data.metrics:
        val = [as_float(m.get("val_acc")) for m in data.metrics]
        loss = [as_float(m.get("val_loss")) for m in data.metrics]  # training keeps the epoch of lowest validation loss
        best = min(range(len(loss)), key=lambda i: loss[i] if loss[i] == loss[i] else float("inf"))
        info["epochs"] = len(data.metrics)
        info["best_epoch"] = data.metrics[best].get("epoch")
        info["best_val_acc"] = val[best]
        info["train_seconds"] = sum(as_float(m.get("seconds")) for m in data.metrics if m.get("seconds"))
    return info


def agreement_rows(
    data: ReportData, measured: dict[str, dict[str, Estimate]], references: dict[str, Reference], subset: str = "all"
) -> list[Row]:
    """Rows of agreement.csv for one subset, joined with measured and reference formants."""
    rows = []
    for r in data.agreement or []:
        if r.get("subset", "all") != subset:
            continue
        vowel = r["vowel"]
        n, k = int(as_float(r["n"]) if r["n"] else 0), int(as_float(r["n_correct"]) if r["n_correct"] else 0)
        label = "all vowels" if vowel == ALL_VOWELS else ipa_label(vowel)
        unit = r.get("ci_unit") or ""
        if unit:  # the file's speaker-level interval
            acc = Estimate(
                as_float(r["accuracy"]), as_float(r.get("accuracy_lo")), as_float(r.get("accuracy_hi")), n, unit
            )
        else:  # written by an older vowelcam: Wilson, tokens as if independent
            wilson = proportion(k, n)
            acc = Estimate(as_float(r["accuracy"]), wilson.lo, wilson.hi, n)
        rows.append(
            Row(
                label=label,
                vowel=vowel,
                subset=subset,
                n=n,
                accuracy=acc,
                measured=measured.get(vowel, {}),
                reference=references.get(vowel),
                enrich={
                    f"f{i}": Estimate(
                        as_float(r.get(f"enrich_f{i}")),
                        as_float(r.get(f"enrich_f{i}_lo")),
                        as_float(r.get(f"enrich_f{i}_hi")),
                        n,
                    )
                    for i in (1, 2, 3)
                },
                enrich_ref={
                    f"f{i}": Estimate(
                        as_float(r.get(f"enrich_f{i}_ref")),
                        as_float(r.get(f"enrich_f{i}_ref_lo")),
                        as_float(r.get(f"enrich_f{i}_ref_hi")),
                        n,
                    )
                    for i in (1, 2, 3)
                },
                peak_on_formant=as_float(r.get("peak_on_formant_share")),
                hf_above_f3=as_float(r.get("hf_share_above_f3")),
                hf_above_4k=as_float(r.get("hf_share_above_4k")),
                evidence=_evidence(r, n, unit),
                unit=unit,
                n_clusters=int(as_float(r.get("n_clusters")) or 0),
            )
        )
    return rows


def _estimate(r: dict[str, str], key: str, n: int, unit: str) -> Estimate:
    return Estimate(as_float(r.get(key)), as_float(r.get(f"{key}_lo")), as_float(r.get(f"{key}_hi")), n, unit)


def _evidence(r: dict[str, str], n: int, unit: str) -> dict[str, Evidence]:
    """Per formant, the enrichment beside its controls; empty when agreement.csv has no control columns."""
    if "enrich_f1_minus_energy" not in r:
        return {}
    out = {}
    for k in (1, 2, 3):
        m, peak = f"enrich_f{k}", f"peak_on_f{k}_share"
        out[f"f{k}"] = Evidence(
            formant=f"F{k}",
            cam=_estimate(r, m, n, unit),
            controls={c: _estimate(r, f"{m}_{c}", n, unit) for c in CONTROL_NAMES},
            contrasts={
                c: Estimate(
                    as_float(r.get(f"{m}_minus_{c}")),
                    as_float(r.get(f"{m}_minus_{c}_lo")),
                    as_float(r.get(f"{m}_minus_{c}_hi")),
                    int(as_float(r.get(f"{m}_minus_{c}_n")) or 0),
                    unit,
                )
                for c in CONTROL_NAMES
            },
            peak_cam=_estimate(r, peak, n, unit),
            peak_null=_estimate(r, f"{peak}_null", n, unit),
            verdict=r.get(f"verdict_f{k}", "") or "",
        )
    return out


def verdict_summary(rows: Sequence[Row]) -> Optional[dict[str, Any]]:
    """Which (vowel, formant) readings are support (the CAM beats the energy baseline and the null, both intervals
    above 0), which are not, and which could not be judged; None when agreement.csv has no controls."""
    judged = [(r, e) for r in rows for e in r.evidence.values()]
    if not judged:
        return None
    pick = lambda v: [f"{r.label} {e.formant}" for r, e in judged if e.verdict == v and r.vowel != ALL_VOWELS]  # noqa: E731
    total = next((r for r in rows if r.vowel == ALL_VOWELS), None)
    return {
        "support": pick("support"),
        "no_support": pick("no support"),
        "not_judged": pick(""),
        "all_vowels": {e.formant: e.verdict for e in total.evidence.values()} if total else {},
        "unit": next((r.unit for r in rows if r.unit), ""),
    }


def faithfulness(data: ReportData) -> dict[str, Any]:
    """Faithfulness rows grouped by test, plus the band-deletion comparison spelled out when both arms exist."""
    rows = data.faithfulness or []
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["test"], []).append(
            {
                "condition": r["condition"],
                "metric": r["metric"],
                "n": r["n"],
                "digits": 0 if r["metric"].endswith("_hz") else 3,
                "estimate": Estimate(
                    as_float(r["value"]), as_float(r["ci_lo"]), as_float(r["ci_hi"]), int(as_float(r["n"]) or 0)
                ),
            }
        )
    return {"groups": groups, "band_deletion": _band_deletion_verdict(rows)}


def _band_deletion_verdict(rows: Sequence[dict[str, str]]) -> Optional[dict[str, Any]]:
    """Top-CAM band against random band: the drop in true-class probability of each, and their paired difference
    (``top_minus_random``) when present; the maps are supported when the difference's interval lies above 0."""

    def estimate(condition: str) -> Optional[Estimate]:
        row = next(
            (
                r
                for r in rows
                if r["test"] == "band_deletion" and r["condition"] == condition and r["metric"] == "prob_drop"
            ),
            None,
        )
        if row is None:
            return None
        return Estimate(
            as_float(row["value"]), as_float(row["ci_lo"]), as_float(row["ci_hi"]), int(as_float(row["n"]) or 0)
        )

    top, rand, diff = estimate("top_cam_band"), estimate("random_band"), estimate("top_minus_random")
    if top is None or rand is None:
        return None
    separated = diff.lo > 0 if diff is not None and diff.lo == diff.lo else top.lo > rand.hi
    return {"top": top, "random": rand, "difference": diff, "separated": separated}


def methods(data: ReportData) -> dict[str, Any]:
    """Every setting of the run, the CAM geometry and the software versions."""
    settings = data.config or data.settings.to_dict()
    sections = [
        (name, [(k, toml_value(v)) for k, v in sorted(values.items())])
        for name, values in settings.items()
        if isinstance(values, dict) and name != "vowelcam"
    ]
    cams = None
    if data.cams is not None:
        meta = data.cams.meta
        freqs = data.cams.freqs
        cams = {
            "method": meta.get("method", "?"),
            "layer": meta.get("layer", "?"),
            "hz_per_row": data.cams.hz_per_row,
            "normalisation": meta.get("normalisation", "?"),
            "n_maps": len(data.cams.index),
            "rows": len(freqs),
            "grid_step": float(freqs[1] - freqs[0]) if len(freqs) > 1 else float("nan"),
            "band": (float(freqs[0]), float(freqs[-1])) if len(freqs) else None,
            "details": [(k, v) for k, v in sorted(meta.items()) if k not in CAM_META_SHOWN],  # template formats
        }
    return {
        "sections": sections,
        "cams": cams,
        "software": software_versions(),
        "made_with": (data.config.get("vowelcam") or {}).get("version", "unknown"),
        "reference": data.settings.cam.reference,
        "bootstrap": data.settings.cam.bootstrap,
        "citation": CITATIONS.get(data.settings.cam.reference, ""),
    }


CAM_META_SHOWN = {"method", "layer", "hz_per_row", "normalisation", "freqs", "times"}


def toml_value(value: Any) -> str:
    """A setting as written in config.toml: strings quoted, booleans lower case, lists in brackets."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def software_versions() -> list[tuple[str, str]]:
    """Python, Praat and the packages that shape the numbers and the document."""
    out = [("python", platform.python_version())]
    for name in SOFTWARE:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    out.append(("Praat (in parselmouth)", _praat_version()))
    return out


def _praat_version() -> str:
    try:
        import parselmouth  # a version constant only, no Praat call
    except ImportError:
        return "not installed"
    return str(getattr(parselmouth, "PRAAT_VERSION", "unknown"))


def problems(data: ReportData) -> Optional[dict[str, Any]]:
    """Counts of skipped inputs by reason and the first rows."""
    if data.problems is None:
        return None
    return {
        "total": len(data.problems),
        "by_reason": problem_counts(data.problems),
        "rows": data.problems[:PROBLEM_ROWS_SHOWN],
        "shown": min(PROBLEM_ROWS_SHOWN, len(data.problems)),
    }


def analysed_tokens(data: ReportData) -> list[dict[str, Any]]:
    """The tokens the CAM analysis covered (those in cams/index.csv), else the evaluated ones, else all vowels."""
    if data.cams is not None:
        ids = [e["token_id"] for e in data.cams.index]
    elif data.predictions:
        ids = [p["token_id"] for p in evaluation_rows(data.predictions)[0]]
    else:
        return [t for t in data.tokens if t.get("kind", "vowel") == "vowel"]
    return [data.by_id[i] for i in ids if i in data.by_id]
