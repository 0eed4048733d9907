"""The causal verdicts, tried as a sceptic would, on causal.csv rows whose model is known: a model that reads F2 is
called causal at F2 and nowhere else; one that reads a global tilt (any formant moved down lowers its decision,
F4 included), one hurt by any change, and one that has learned nothing get no causal call; without the sham no
cell is tested."""

from __future__ import annotations

import numpy as np
import pytest

from vowelcam.explain.evidence.causal_verdicts import (
    CAUSAL,
    NO_EFFECT,
    NO_SHAM,
    NOT_LEARNED,
    causal_verdicts,
    orientation,
    oriented_effect,
)

FORMANTS = {"AH": (600.0, 1100.0, 2500.0, 3500.0), "ER": (520.0, 1500.0, 1900.0, 3500.0)}
MOVES = [(k, d) for k in (1, 2, 3, 4) for d in (1.0, -1.0)]


def _rows(effect, n_speakers=10, per_class=3, seed=0, decide=lambda vowel, rng: vowel):
    """causal.csv rows, truth and tokens.csv rows: ``effect(vowel, k, shift, distortion, rng)`` is the change of
    the true class's log-odds when formant k of a token of ``vowel`` moves by ``shift`` Bark."""
    rng = np.random.default_rng(seed)
    rows, truth, tokens = [], {}, []
    for s in range(n_speakers):
        for vowel, other in (("AH", "ER"), ("ER", "AH")):
            for i in range(per_class):
                token = f"s{s}:{vowel}:{i}"
                truth[token] = vowel
                f = FORMANTS[vowel]
                tokens.append({"token_id": token, "phone": vowel, "kind": "vowel", "group": "men", "speaker": f"s{s}"})
                tokens[-1].update({f"f{k}_50": f[k - 1] * rng.uniform(0.97, 1.03) for k in (1, 2, 3)})
                base = {"token_id": token, "speaker": f"s{s}", "file": f"s{s}_{i}.wav", "group": "men", "problem": ""}
                rows.append({**base, "manipulation": "none", "formant": 0, "shift_bark": 0.0, "d_logodds_true": 0.0})
                rows[-1]["logodds_true"] = 5.0  # the unmoved decision's margin
                rows[-1].update(distortion_db=0.0, predicted=decide(vowel, rng), runner_up=other, changed=0)
                for k, d in MOVES:
                    size = {1: 6.0, 2: 5.0, 3: 4.0, 4: 2.5}[k] * rng.uniform(0.8, 1.2)
                    change = effect(vowel, k, d, size, rng)
                    rows.append({**base, "manipulation": f"F{k}{d:+g}bark", "formant": k, "shift_bark": d})
                    rows[-1].update(d_logodds_true=change, distortion_db=size, changed=0, predicted=vowel)
    return rows, truth, tokens


def _verdicts(rows, truth, tokens):
    table = causal_verdicts(rows, truth, tokens, ["AH", "ER"])
    return {(r["vowel"], r["formant"]): r["verdict"] for r in table}


def _f2_reader(vowel, k, shift, size, rng):
    """Moving F2 toward the other class's F2 lowers the decision, away raises it; the rest is noise."""
    noise = rng.normal(0, 0.1)
    if k != 2:
        return noise
    toward = np.sign(FORMANTS["ER" if vowel == "AH" else "AH"][1] - FORMANTS[vowel][1]) == np.sign(shift)
    return (-2.0 if toward else 1.0) + noise


def test_a_model_that_reads_f2_is_causal_at_f2_and_nowhere_else():
    verdicts = _verdicts(*_rows(_f2_reader))
    assert verdicts[("ALL", "F2")] == CAUSAL and verdicts[("AH", "F2")] == CAUSAL
    assert {v for (_, f), v in verdicts.items() if f != "F2"} == {NO_EFFECT}


def test_a_model_that_reads_a_global_tilt_is_caught_by_the_f4_sham():
    """Any formant moved down lowers AH's decision and raises ER's, per dB alike, F4 included: it looks like a
    formant contrast at every formant whose class means differ downward, but the F4 sham moved the same way does
    the same."""

    def tilt(vowel, k, shift, size, rng):
        return (0.3 if vowel == "AH" else -0.3) * np.sign(shift) * size + rng.normal(0, 0.1)

    rows, truth, tokens = _rows(tilt)
    table = {(r["vowel"], r["formant"]): r for r in causal_verdicts(rows, truth, tokens, ["AH", "ER"])}
    assert table[("AH", "F1")]["share"] > 0.1  # AH's F1 lies above ER's: moved up is away, and raises it
    assert abs(table[("AH", "F1")]["minus_sham"]) < 0.02  # ... exactly as much per dB as F4 moved up
    assert CAUSAL not in {r["verdict"] for r in table.values()}


def test_a_model_hurt_by_any_change_is_not_causal():
    verdicts = _verdicts(*_rows(lambda vowel, k, shift, size, rng: -0.4 * size + rng.normal(0, 0.1)))
    assert CAUSAL not in verdicts.values()


def test_a_model_that_has_not_learned_the_vowels_is_not_read():
    verdicts = _verdicts(*_rows(_f2_reader, decide=lambda vowel, rng: "AH"))
    assert {v for (_, f), v in verdicts.items() if f == "F2"} == {NOT_LEARNED}


def test_without_the_f4_sham_no_cell_is_tested():
    rows, truth, tokens = _rows(_f2_reader)
    verdicts = _verdicts([r for r in rows if r["formant"] != 4], truth, tokens)
    assert set(verdicts.values()) == {NO_SHAM}


def test_a_small_but_consistent_dependence_is_not_enough():
    """Moving F2 toward the competitor's lowers the decision in every token, but by 2 % of what a network deciding
    by F2 alone would show: below the minimum share, not causal (a duration-only network's shares were <= 0.08)."""

    def weak(vowel, k, shift, size, rng):
        return 0.05 * _f2_reader(vowel, k, shift, size, rng) if k == 2 else rng.normal(0, 0.01)

    assert CAUSAL not in _verdicts(*_rows(weak)).values()


def test_orientation_and_oriented_effect():
    assert orientation(1100.0, 1500.0) == -1.0 and orientation(1500.0, 1100.0) == 1.0
    assert orientation(1000.0, 1020.0) == 0.0  # 2 %: below the difference limen, no direction
    renderings = [
        {"shift_bark": 1.0, "d_logodds_true": 1.0, "distortion_db": 5.0},
        {"shift_bark": -1.0, "d_logodds_true": -2.0, "distortion_db": 3.0},
    ]
    assert oriented_effect(renderings, 1.0) == pytest.approx((1.5, 4.0))  # (1 - -2) / 2 per Bark; mean size
    assert oriented_effect(renderings, -1.0)[0] == pytest.approx(-1.5)
    assert np.isnan(oriented_effect(renderings[:1], 1.0)[0])
