"""The calibration table's logic: what counts as a hit, a miss and a false call, and the gate it sets on verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from vowelcam.explain.readings.calibration import (
    BLIND,
    CALIBRATED,
    FAILED,
    FALSE_CALL,
    HIT,
    MISS,
    WITHHELD,
    default_instrument,
    gate_verdicts,
    outcome,
    summarise,
)


def test_outcome_of_a_run():
    assert outcome("f2", ["ALL F2", "AH F2"]) == HIT
    assert outcome("f2", ["AH F2"]) == MISS  # the cue only in one vowel's cell: not found overall
    assert outcome("f2", []) == MISS
    assert outcome("f2", ["ALL F2", "ER F3"]) == FALSE_CALL
    assert outcome("duration", ["ALL F1"]) == FALSE_CALL
    assert outcome("f0", []) == MISS


def _rows(instrument, outcomes):
    cues = ["f1", "f2", "f3", "duration", "f0"]
    return [{"instrument": instrument, "cue": cues[i % 5], "outcome": o} for i, o in enumerate(outcomes)]


def test_an_instrument_with_one_false_call_is_not_calibrated_and_its_support_is_withheld():
    records = summarise(_rows("good", [HIT, HIT, MISS, MISS, MISS]) + _rows("bad", [HIT, HIT, HIT, FALSE_CALL, MISS]))
    assert records["good"].status == CALIBRATED and records["good"].hits == 2
    assert records["bad"].status == FAILED
    assert default_instrument(records, "bad") == "good"
    verdicts = [{"vowel": "ALL", "formant": "F2", "verdict": "support"}]
    assert gate_verdicts("bad", verdicts, records)[0]["verdict"] == WITHHELD
    assert gate_verdicts("good", verdicts, records)[0]["verdict"] == "support"
    assert gate_verdicts("never-calibrated", verdicts, records)[0]["verdict"] == WITHHELD


def test_an_instrument_that_never_found_its_cue_has_its_support_withheld():
    records = summarise(_rows("blind", [MISS, MISS, MISS, MISS, MISS]))
    assert records["blind"].status == BLIND
    verdicts = [{"vowel": "ALL", "formant": "F2", "verdict": "support"}]
    assert gate_verdicts("blind", verdicts, records)[0]["verdict"] == WITHHELD


def test_no_calibrated_instrument_falls_back():
    records = summarise(_rows("bad", [FALSE_CALL]))
    assert default_instrument(records, "gradcam@layer4") == "gradcam@layer4"


def test_an_instrument_names_a_registered_method():
    import pytest

    from vowelcam.explain.errors import CamError
    from vowelcam.explain.maps.instruments import instrument_list

    assert instrument_list("GradCAM@layer3, occlusion") == ["gradcam@layer3", "occlusion"]
    with pytest.raises(CamError, match="unknown CAM method 'foo'"):
        instrument_list("foo@layer3")


def test_the_sceptic_record_counts_no_cue_runs_called_causal_from_the_shipped_table():
    from vowelcam.explain.readings.calibration import CAUSAL_TABLE, calibration_rows, sceptic_record
    from vowelcam.report.hears import causal_caveat

    rows = [
        {"cue": "f2", "pretend_causal": ""},  # formant runs have no sceptic's pass
        {"cue": "duration", "pretend_causal": "AH F3"},
        {"cue": "duration", "pretend_causal": ""},
        {"cue": "f0", "pretend_causal": "AH F1; ALL F1"},
    ]
    assert sceptic_record(rows) == (2, 3)
    assert "in 2 of 3 runs" in causal_caveat((2, 3))
    assert "no record" in causal_caveat((0, 0)) and " of 0 " not in causal_caveat((0, 0))
    shipped = calibration_rows(name=CAUSAL_TABLE)
    bench = Path(__file__).resolve().parents[2] / "bench" / "results"
    expected = sum(
        json.loads((bench / f).read_text())["summary"]["pretend_false_calls"]
        for f in ("causal_calibration.json", "causal_calibration_fresh.json")
    )
    assert sceptic_record(shipped)[0] == expected and sceptic_record(shipped)[1] >= expected > 0


def test_a_network_fine_tuned_from_the_base_model_is_read_against_its_own_sceptic_record():
    from vowelcam.explain.readings.calibration import CAUSAL_BASE_TABLE, calibration_rows, sceptic_record
    from vowelcam.report.hears import causal_caveat

    said = causal_caveat((2, 2), from_base=True)
    assert "fine-tuned from the base model" in said and "in 2 of 2 runs" in said
    assert "fine-tuned" not in causal_caveat((7, 10))
    bench = Path(__file__).resolve().parents[2] / "bench" / "results" / "causal_calibration_base_start.json"
    summary = json.loads(bench.read_text())["summary"]
    shipped = sceptic_record(calibration_rows(name=CAUSAL_BASE_TABLE))
    assert shipped == (summary["pretend_false_calls"], summary["pretend_runs"])
