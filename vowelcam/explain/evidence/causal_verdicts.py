"""Causal verdicts: does moving a formant toward the competitor's carry the decision a fair way, beyond a sham?

Read from ``causal.csv`` (:mod:`.causal`). A network that uses formant Fk's contrast between a token's class and
its competitor (the runner-up of the unmoved rendering) answers a move of Fk *toward* the competitor's Fk with a
lower log-odds of the true class and a move *away* with a higher one. Per correctly classified token:

- the **oriented effect** of Fk: (d_logodds(away) - d_logodds(toward)) / 2 per Bark moved, ``away``/``toward``
  being the ``Fk+d``/``Fk-d`` renderings oriented by the sign of (class mean Fk - competitor mean Fk) over the run.
  Any change that lowers the decision whichever way it goes (distortion, the resynthesis itself) cancels in it;
- its **share**: the oriented effect over what a network deciding by Fk alone would show, ``2 m / D`` (the token's
  log-odds ``m`` turned into the competitor's ``-m`` over the ``D`` Bark between the two class means), clipped to
  [-2, 2]. The share puts formants with large and small contrasts, and networks of any confidence, on one scale;
- the **sham**: F4 moved the same way (``F4+d``/``F4-d`` oriented by Fk's sign), its effect scaled to the
  distortion of the Fk moves (``distortion_db``: F1, the strongest formant, changes more of the spectrogram per
  Bark than F4) and taken as a share in the same way: what a move of that size and direction does where the
  contrast does not lie (a network reading a global tilt gets the same from it).

A cell (a vowel, or ``ALL``, and Fk) is **causal** when the share exceeds the sham's by at least
:data:`MIN_SHARE` (the formant carries at least a tenth of the decision its contrast could carry): speakers are
the unit (the mean per speaker of share - sham - MIN_SHARE), a one-sided sign-flip test, Holm across the table, at
least :data:`~vowelcam.explain.readings.speaker_tests.MIN_SPEAKERS` speakers, and only for vowels the model tells
apart above chance (:mod:`vowelcam.explain.readings.learned`, on the unmoved renderings). Otherwise ``no effect
beyond sham``, ``no contrast`` (Fk does not differ between the class and its competitor by
:data:`~vowelcam.explain.readings.contrast_region.MIN_FORMANT_CONTRAST`: no move is toward it), ``too few
speakers``, ``not learned``, ``no sham`` (keep ``F4+1,F4-1`` in ``cam.causal_manipulations``) or ``not moved``.
The 1-Bark notches (``notchKL``) are reported (``notch_per_db``, mean |d_logodds| per dB) but do not gate: a notch
between two close formants (F2 and F3 of /i/) cuts into them.

Calibration (``bench/bench_causal_calibration.py``): on single-cue corpora the cue's formant is causal in 9 of 9
runs and nothing is on duration- and F0-only corpora. Read as if their classes differed in F1-F3 like AH and ER,
a duration-only network shows shares over all vowels of |0.12| or less; an F0-only one depends on F1's position
(|share| 0.4-0.8: it reads F0 from the harmonics that F1 boosts), which this test reports as F1 carrying the
decision where the sign matches. In natural
speech such a dependence cannot be told from use of F1's contrast without a manipulation that holds the harmonics.

``toward_nearest``: of the Fk moves that changed the prediction, the share whose new prediction is the class
nearest (in Bark, F1-F3, the run's means for the token's speaker group) to the formants measured on the moved
rendering, among the classes other than the unmoved prediction (chance: 1 / (classes - 1)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...acoustics.resynthesis import hz_to_bark
from ...checks.finite import mean_of_finite
from ...intervals import resampling_clusters
from ...rundir import as_float
from ..readings.contrast_region import MIN_FORMANT_CONTRAST, competitor_formants
from ..readings.learned import is_learned, learned_table
from ..readings.speaker_tests import ALPHA, MIN_SPEAKERS, holm, sign_flip_pvalue, speaker_means

CAUSAL_VERDICTS = "causal_verdicts.csv"
CAUSAL, NO_EFFECT, NO_CONTRAST = "causal", "no effect beyond sham", "no contrast"
TOO_FEW, NOT_LEARNED, NO_SHAM, NOT_MOVED = "too few speakers", "not learned", "no sham", "not moved"
SHAM_FORMANT = 4
FORMANTS = (1, 2, 3)
MIN_DISTORTION_DB = 1e-3  # renderings that changed the input less than this define no effect per dB
MIN_SHARE = 0.1  # the share of its contrast's effect a formant must carry beyond the sham's
MAX_SHARE = 2.0  # shares are clipped to +-this (a token with a tiny margin would dominate its speaker's mean)
COLUMNS = (
    "vowel formant n_tokens n_speakers unit informedness p_learned share sham_share minus_sham p p_holm verdict "
    "notch_per_db d_logodds distortion_db n_changed toward_nearest chance_nearest"
).split()


def causal_verdicts(
    rows: Sequence[Mapping[str, Any]],
    truth: Mapping[str, str],
    tokens: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``causal_verdicts.csv`` rows from ``causal.csv`` rows; ``truth`` maps token_id to its class, ``tokens``
    (tokens.csv rows) give the class means (orientation, contrast, ``toward_nearest``)."""
    per_token = _per_token(rows, truth)
    if not per_token:
        return []
    learned = learned_table(list(per_token.values()), seed)
    vowels = [t for t in tokens if str(t.get("kind") or "vowel") == "vowel"]
    run_means = competitor_formants(vowels)[1]
    bark_means = _class_means(vowels, labels)
    table = []
    for v in [*sorted({t["vowel"] for t in per_token.values()}), "ALL"]:
        members = [t for t in per_token.values() if v == "ALL" or t["vowel"] == v]
        for k in FORMANTS:
            table.append(_cell(v, k, members, learned.get(v), run_means, bark_means, seed))
    tested = {str(i): r["p"] for i, r in enumerate(table) if r["verdict"] == ""}
    for key, p_holm in holm(tested).items():
        table[int(key)]["p_holm"] = p_holm
        table[int(key)]["verdict"] = CAUSAL if p_holm < ALPHA else NO_EFFECT
    return table


def _per_token(rows: Sequence[Mapping[str, Any]], truth: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Per token: class, unmoved prediction and runner-up, speaker, file, group and its renderings by kind."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        token = str(row["token_id"])
        if row.get("problem") or token not in truth:
            continue
        entry = out.setdefault(token, {"token_id": token, "vowel": truth[token], "moves": {}})
        entry.update(speaker=str(row.get("speaker") or ""), file=str(row.get("file") or ""))
        entry["group"] = str(row.get("group") or "")
        if row["manipulation"] == "none":
            entry.update(predicted=str(row.get("predicted") or ""), runner_up=str(row.get("runner_up") or ""))
            entry["margin"] = as_float(row.get("logodds_true"))
            continue
        entry["moves"].setdefault(_kind(row), []).append(row)
    return {t: e for t, e in out.items() if "predicted" in e}


def _kind(row: Mapping[str, Any]) -> str:
    """``f1``..``f5`` for a formant move, ``notch`` for a notch, ``warp`` for a vocal-tract-length change."""
    if str(row["manipulation"]).startswith("notch"):
        return "notch"
    value = as_float(row.get("formant"))
    return f"f{int(value)}" if math.isfinite(value) and value > 0 else "warp"


def orientation(own: float, competitor: float) -> float:
    """+1 when the class's mean formant lies above the competitor's, -1 below; 0 when they differ by less than
    :data:`MIN_FORMANT_CONTRAST` (or either is unknown): no move is toward the competitor then."""
    if not (np.isfinite(own) and np.isfinite(competitor)) or own + competitor <= 0:
        return 0.0
    contrast = abs(own - competitor) / ((own + competitor) / 2)
    return float(np.sign(own - competitor)) if contrast >= MIN_FORMANT_CONTRAST else 0.0


def oriented_effect(renderings: Sequence[Mapping[str, Any]], sign: float) -> tuple[float, float]:
    """(log-odds change per Bark of a move away from the competitor minus one toward it, halved; the moves' mean
    distortion in dB). NaN unless the formant was moved both ways."""
    sides = {}
    for direction in (1.0, -1.0):
        part = [r for r in renderings if np.sign(as_float(r.get("shift_bark"))) == direction]
        if not part:
            return math.nan, math.nan
        bark = _finite_mean([abs(as_float(r.get("shift_bark"))) for r in part])
        sides[direction] = _finite_mean([as_float(r.get("d_logodds_true")) for r in part]) / bark
    size = _finite_mean([as_float(r.get("distortion_db")) for r in renderings])
    return float((sides[sign] - sides[-sign]) / 2), size


def shares(entry: Mapping[str, Any], k: int, run_means: Mapping[str, np.ndarray]) -> tuple[float, float, float]:
    """(orientation, Fk's share of its contrast's effect, the F4 sham's share at Fk's distortion) of one token;
    NaN shares for a misclassified token or missing renderings, orientation 0 without a contrast."""
    own, comp = (run_means.get(c, np.full(3, np.nan))[k - 1] for c in (entry["vowel"], entry["runner_up"]))
    sign = orientation(float(own), float(comp))
    margin = entry.get("margin", math.nan)
    if sign == 0.0:
        return 0.0, math.nan, math.nan
    distance = abs(float(hz_to_bark(own)) - float(hz_to_bark(comp)))
    if not (np.isfinite(margin) and margin > 0):
        return sign, math.nan, math.nan
    full = 2.0 * margin / distance
    effect, size = oriented_effect(entry["moves"].get(f"f{k}", []), sign)
    sham, sham_size = oriented_effect(entry["moves"].get(f"f{SHAM_FORMANT}", []), sign)
    matched = sham * size / sham_size if np.isfinite(sham_size) and sham_size >= MIN_DISTORTION_DB else math.nan
    return sign, _clip(effect / full), _clip(matched / full)


def _clip(value: float) -> float:
    return float(np.clip(value, -MAX_SHARE, MAX_SHARE)) if np.isfinite(value) else math.nan


def _cell(
    vowel: str,
    k: int,
    members: Sequence[Mapping[str, Any]],
    learned: tuple[float, float] | None,
    run_means: Mapping[str, np.ndarray],
    bark_means: Mapping[tuple[str, str], np.ndarray],
    seed: int,
) -> dict[str, Any]:
    moved = [m for m in members if m["moves"].get(f"f{k}")]
    slopes = np.array([shares(m, k, run_means) for m in moved]).reshape(-1, 3)
    keep = np.isfinite(slopes[:, 1]) & np.isfinite(slopes[:, 2])
    chosen = [m for m, ok in zip(moved, keep) if ok]
    clusters, unit = resampling_clusters([m["speaker"] for m in chosen], [m["file"] for m in chosen])
    row: dict[str, Any] = {c: math.nan for c in COLUMNS}
    row.update(vowel=vowel, formant=f"F{k}", n_tokens=len(chosen), n_speakers=len(set(clusters)), unit=unit)
    row.update(informedness=learned[0] if learned else math.nan, p_learned=learned[1] if learned else math.nan)
    row.update(_move_summary(moved, k, bark_means), verdict="")
    diff = slopes[keep, 1] - slopes[keep, 2]
    row.update(
        share=_finite_mean(slopes[keep, 1]), sham_share=_finite_mean(slopes[keep, 2]), minus_sham=_finite_mean(diff)
    )
    row["p"] = sign_flip_pvalue(speaker_means(diff - MIN_SHARE, clusters), seed) if chosen else math.nan
    if not moved:
        row["verdict"] = NOT_MOVED
    elif not chosen:
        contrasted = [m for m, s in zip(moved, slopes) if s[0] != 0.0]
        without_sham = not any(m["moves"].get(f"f{SHAM_FORMANT}") for m in contrasted)
        row["verdict"] = NO_CONTRAST if not contrasted else NO_SHAM if without_sham else TOO_FEW
    elif row["n_speakers"] < MIN_SPEAKERS:
        row["verdict"] = TOO_FEW
    elif not is_learned(learned):
        row["verdict"] = NOT_LEARNED
    return row


def _move_summary(
    moved: Sequence[Mapping[str, Any]], k: int, means: Mapping[tuple[str, str], np.ndarray]
) -> dict[str, Any]:
    """The Fk moves' mean signed log-odds change and distortion, the notches' |log-odds change| per dB, and how
    often a changed prediction went to the nearest other class."""
    rows = [(m, r) for m in moved for r in m["moves"][f"f{k}"]]
    changed = [(m, r) for m, r in rows if as_float(r.get("changed")) == 1]
    scored = [h for h in (_nearest(m, r, means) for m, r in changed) if h is not None]
    notches = [r for m in moved for r in m["moves"].get("notch", [])]
    n_classes = len({label for _, label in means})
    return {
        "d_logodds": _finite_mean(np.array([as_float(r.get("d_logodds_true")) for _, r in rows])),
        "distortion_db": _finite_mean(np.array([as_float(r.get("distortion_db")) for _, r in rows])),
        "notch_per_db": _finite_mean(np.array([_per_db(r) for r in notches])),
        "n_changed": len(changed),
        "toward_nearest": float(np.mean(scored)) if scored else math.nan,
        "chance_nearest": 1.0 / (n_classes - 1) if n_classes > 1 else math.nan,
    }


def _per_db(row: Mapping[str, Any]) -> float:
    change, size = abs(as_float(row.get("d_logodds_true"))), as_float(row.get("distortion_db"))
    return change / size if np.isfinite(change) and np.isfinite(size) and size >= MIN_DISTORTION_DB else math.nan


def _nearest(entry: Mapping[str, Any], row: Mapping[str, Any], means: Mapping[tuple[str, str], np.ndarray]):
    """Whether the moved rendering's new prediction is the nearest class other than the unmoved prediction (None
    when the rendering's formants or the class means are missing)."""
    after = hz_to_bark(np.array([as_float(row.get(f"f{j}_hz")) for j in FORMANTS]))
    group = str(row.get("group") or "")
    candidates = {}
    for (g, label), centre in means.items():
        if label != entry["predicted"] and (g == group or (g == "" and (group, label) not in means)):
            candidates[label] = centre
    if not candidates or not np.all(np.isfinite(after)):
        return None
    nearest = min(candidates, key=lambda label: float(np.nansum((candidates[label] - after) ** 2)))
    return str(row.get("predicted") or "") == nearest


def _class_means(tokens: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[tuple[str, str], np.ndarray]:
    """Mean F1-F3 (Bark, at 50 %) of each class, per speaker group (``(group, label)``) and over all (``("",
    label)``), from tokens.csv rows whose phone is a class of the model."""
    sums: dict[tuple[str, str], list[np.ndarray]] = {}
    known = set(labels)
    for t in tokens:
        label = str(t.get("phone") or "")
        if label not in known:
            continue
        bark = hz_to_bark(np.array([as_float(t.get(f"f{j}_50")) for j in FORMANTS]))
        if np.all(np.isfinite(bark)):
            for key in ((str(t.get("group") or ""), label), ("", label)):
                sums.setdefault(key, []).append(bark)
    return {key: np.mean(values, axis=0) for key, values in sums.items()}


def _finite_mean(values: Any) -> float:
    """The mean of the finite values, NaN without one (no NumPy warning)."""
    return float(mean_of_finite(values))
