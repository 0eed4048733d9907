"""Page 1's one-line answer per formant: the causal test leads, the maps stand beside it, disagreement is said."""

from vowelcam.report.hears import answer


def test_the_causal_verdict_leads_and_agreement_with_the_maps_is_said():
    assert answer("causal", "support") == "used: the decision follows it; the maps agree"
    assert answer("causal", "no support") == "used: the decision follows it; the maps do not show it"


def test_map_support_that_moving_the_formant_does_not_bear_out_is_called_so():
    said = answer("no effect beyond sham", "support")
    assert said == "not shown used; the maps' support is not borne out by moving it"
    assert answer("no effect beyond sham", "no support") == "not shown used"


def test_without_a_causal_verdict_the_answer_says_it_rests_on_the_maps():
    assert answer("", "support") == "maps only: support (no causal test)"
    assert answer("too few speakers", "support") == "not tested causally (too few speakers); the maps support it"
    assert answer("", "") == "maps only: not computed (no causal test)"


def test_a_network_started_from_the_base_model_is_said_to_have_learnt_partly_there(tmp_path):
    from vowelcam.config import Settings
    from vowelcam.report.data import ReportData
    from vowelcam.report.hears import _caveats
    from vowelcam.rundir import RunDir

    def caveats(weights: str, started_from: str) -> str:
        model = {"extra": {"weights": weights, "started_from": started_from}}
        data = ReportData(run=RunDir(tmp_path), settings=Settings(), config={}, tokens=[], model=model)
        return " ".join(_caveats([], data))

    said = caveats("base", "vowelcam's base model (Hillenbrand 1995 men and women + synthetic children), lr 1e-4")
    assert "learnt partly there" in said and "--init none" in said
    assert "learnt partly there" not in caveats("", "random weights, lr 0.001")
