"""The plain sentences: one headline per verdict and look, the hour before each cramp,
and a sentence when the two views disagree (what `bedside analyze` and the page say)."""

from __future__ import annotations

from monitor.analysis.reports import (
    crossover_sentence,
    disagreement_sentence,
    verdict_sentence,
)

LOOKS = [90, 180, 365, 730, 1095]


def fit(odds, lo, hi, p=0.01, **extra):
    return {"or_per_degree_colder": odds, "ci_low": lo, "ci_high": hi, "p": p, **extra}


def report(verdict, look=None, at=None, valid=None, cc=None, detail=None):
    look_nights = LOOKS[look - 1] if look else None
    nxt = (LOOKS[look] if look < len(LOOKS) else None) if look else LOOKS[0]
    return {
        "nights": {"valid": valid or look_nights, "cramp": 20, "cold": 30},
        "sequential": {
            "looks": LOOKS,
            "alpha_per_look": 0.0158,
            "look": look,
            "look_nights": look_nights,
            "next_look_nights": nxt,
            "at_look": at,
        },
        "case_crossover": cc,
        "verdict": verdict,
        "look_detail": detail,
    }


def test_too_early():
    text = verdict_sentence(report("insufficient-data", valid=61))
    assert text == "Too early: 61 of the 90 nights the first check needs."


def test_inconclusive_at_a_look():
    at = fit(1.08, 0.79, 1.47, p=0.6, nights=180, strata=6)
    assert verdict_sentence(report("inconclusive", 2, at, valid=200)) == (
        "After 180 nights, colder nights than usual for the month did not go with more cramps"
        " (odds ×1.1 per °C colder, likely between ×0.79 and ×1.5). Next check at 365 nights."
    )


def test_supports_and_contradicts():
    at = fit(1.42, 1.08, 1.87, nights=365, strata=12)
    assert verdict_sentence(report("supports", 3, at)) == (
        "After 365 nights, colder nights than usual for the month went with more cramps:"
        " about ×1.4 per °C colder (likely between ×1.1 and ×1.9). Next check at 730 nights."
    )
    warm = fit(1 / 1.42, 1 / 1.87, 1 / 1.08, nights=1095, strata=36)
    assert verdict_sentence(report("contradicts", 5, warm)) == (
        "After 1095 nights, warmer nights than usual for the month went with more cramps:"
        " about ×1.4 per °C warmer (likely between ×1.1 and ×1.9)."
        " That was the last planned check."
    )


def test_a_look_without_an_answer_says_why():
    few = {"status": "too-few-cramp-nights", "cramp_nights_in_informative_strata": 2}
    text = verdict_sentence(report("insufficient-data", 1, None, valid=95, detail=few))
    assert text.startswith("After 90 nights, the within-month comparison needs at least 3")
    assert "(it has 2)" in text and text.endswith("Next check at 180 nights.")
    failed = {"status": "fit-failed", "cramp_nights_in_informative_strata": 9}
    text = verdict_sentence(report("insufficient-data", 1, None, valid=95, detail=failed))
    assert "could not be fitted reliably" in text


def test_case_crossover_sentences():
    assert crossover_sentence(report("inconclusive", cc=fit(1.3, 1.1, 1.7, cramps=40))) == (
        "The room was colder in the hour before a cramp than at the same hour on other days"
        " of that month: about ×1.3 per °C colder (likely between ×1.1 and ×1.7; 40 cramps)."
    )
    warm = crossover_sentence(report("inconclusive", cc=fit(0.5, 0.3, 0.8, cramps=12)))
    assert warm.startswith("The room was warmer in the hour before a cramp")
    assert "about ×2 per °C warmer (likely between ×1.2 and ×3.3; 12 cramps)" in warm
    unclear = crossover_sentence(report("inconclusive", cc=fit(1.28, 0.98, 1.67, cramps=32)))
    assert unclear.startswith("The hour before a cramp was not clearly colder or warmer")
    assert "odds ×1.3 per °C colder, likely between ×0.98 and ×1.7; 32 cramps" in unclear
    assert "at least 5 cramps" in crossover_sentence(report("insufficient-data"))


def test_disagreement_only_when_the_views_point_different_ways():
    supports = fit(1.5, 1.1, 2.0, nights=365, strata=12)
    cc_warm = fit(0.6, 0.4, 0.9, cramps=30)
    text = disagreement_sentence(report("supports", 3, supports, cc=cc_warm))
    assert text.startswith("The two views disagree: the nights compared within their month")
    assert "lean colder, the hour before each cramp warmer" in text
    # A firm case-crossover against an unclear look leaning the other way.
    unclear = fit(0.9, 0.6, 1.3, p=0.6, nights=365, strata=12)
    assert disagreement_sentence(
        report("inconclusive", 3, unclear, cc=fit(1.5, 1.1, 2.0, cramps=30))
    )
    # Agreement, or nothing firm, or no look: no sentence.
    assert disagreement_sentence(report("supports", 3, supports, cc=fit(1.3, 0.9, 1.8))) is None
    assert disagreement_sentence(report("inconclusive", 3, unclear, cc=fit(1.2, 0.9, 1.6))) is None
    assert disagreement_sentence(report("insufficient-data", cc=cc_warm)) is None


def test_a_stored_version_1_report_still_reads():
    old = {
        "verdict": "supports",
        "cold_threshold_c": 18.0,
        "relative_risk": {"estimate": 2.1, "ci_low": 1.2, "ci_high": 3.6},
        "logistic": fit(1.74, 1.17, 2.58),
    }
    text = verdict_sentence(old)
    assert text.startswith("Colder nights went with more cramps")
    assert "2.1 times as often (95% CI 1.2–3.6)" in text
    too_few = {"verdict": "insufficient-data", "nights": {"valid": 1, "cramp": 0}}
    assert verdict_sentence(too_few).startswith("1 night so far, 0 with a cramp")
