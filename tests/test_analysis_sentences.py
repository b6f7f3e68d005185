"""The plain sentences (analysis-spec v3): one headline per verdict, never pulling two ways;
separation in words; the interval at the level the check decides by; nights as dates;
the hour before each cramp described, not decided (what the page, the print view and
`bedside analyze` all say)."""

from __future__ import annotations

import math
import re
from datetime import date

import pytest

from monitor.analysis import reports
from monitor.analysis.reports import (
    crossover_sentence,
    decision_interval,
    disagreement_sentence,
    plain_lines,
    plan,
    plan_lines,
    verdict_sentence,
)
from tests.evidence_fixtures import ALPHA, separated, v3_report, wald

RATIO = re.compile(r"×(\d+(?:\.\d+)?)")


def all_text(report: dict) -> str:
    return " ".join([t for _, t in plain_lines(report)] + plan_lines(report))


def test_too_early_has_no_figure_at_all():
    # Even with a running fit whose interval leaves 1, "Too early" stands alone.
    r = v3_report("insufficient-data", valid=61, cc=wald(1.6, 1.2, 2.1, cramps=12))
    r["seasonal"] = wald(1.8, 1.3, 2.5, nights=61, strata=4)
    assert verdict_sentence(r) == "Too early: 61 of the 90 nights the first check needs."
    words = " ".join(t for _, t in plain_lines(r))
    assert "likely between" not in words and "×" not in words
    assert "not a verdict" in crossover_sentence(r)


def test_inconclusive_reads_no_firm_answer_yet_and_never_a_direction():
    at = wald(1.08, 0.79, 1.47, p=0.6, nights=180, strata=12)
    text = verdict_sentence(v3_report("inconclusive", 2, at, valid=200))
    assert text == (
        "No firm answer yet: after 180 nights, the cramp nights were not clearly colder or"
        " warmer than usual for the half-month. Next check at 365 nights."
    )
    assert "did not go with more cramps" not in text and "likely between" not in text


def test_supports_gives_the_interval_at_the_decision_level():
    at = wald(1.7, 1.2, 2.4, p=0.003, nights=365, strata=24)
    r = v3_report("supports", 3, at, valid=370)
    lo, hi = decision_interval(at, ALPHA)
    # The 98.65% Wald interval: same centre on the log scale, z of 0.99325 instead of 0.975.
    se = (math.log(2.4) - math.log(1.2)) / (2 * 1.959964)
    assert lo == pytest.approx(math.exp(math.log(1.7) - 2.4715 * se), rel=1e-3)
    assert hi == pytest.approx(math.exp(math.log(1.7) + 2.4715 * se), rel=1e-3)
    assert verdict_sentence(r) == (
        "Supports: after 365 nights, colder nights than usual for the half-month went with"
        f" more cramps: about ×1.7 per °C colder (likely between ×{lo:.2g} and ×{hi:.2g})."
        " Next check at 730 nights."
    )
    lines = dict(plain_lines(r))
    assert "tends to overstate" in lines["early-caution"]
    assert lines["ratio-meaning"].startswith("×1.7 per °C colder means: on a night 1 °C colder")
    assert (
        "odds" in lines["ratio-meaning"]
        and "one cramp night for every three" in (lines["ratio-meaning"])
    )


def test_contradicts_turns_the_ratio_warmer_and_the_last_check_has_no_caution():
    at = wald(1 / 1.42, 1 / 1.87, 1 / 1.08, p=0.004, nights=1095, strata=72)
    r = v3_report("contradicts", 5, at, valid=1100)
    text = verdict_sentence(r)
    assert text.startswith(
        "Contradicts: after 1095 nights, warmer nights than usual for the half-month went with"
        " more cramps: about ×1.4 per °C warmer (likely between ×"
    )
    assert text.endswith("). That was the last planned check.")
    assert "early-caution" not in dict(plain_lines(r))  # the last check: no early stop
    meaning = dict(plain_lines(r))["ratio-meaning"]
    assert meaning.startswith("×1.4 per °C warmer means")
    assert meaning.endswith(
        "“Likely between” is a 98.65% range: the level the planned check decides by."
    )


@pytest.mark.parametrize(
    ("direction", "verdict", "extreme"),
    [("colder", "supports", "coldest"), ("warmer", "contradicts", "warmest")],
)
def test_separation_reads_in_words_without_an_odds_ratio(direction, verdict, extreme):
    at = separated(direction, 0.004, nights=90, strata=6)
    r = v3_report(verdict, 1, at, valid=95)
    text = verdict_sentence(r)
    assert text == (
        f"{reports.VERDICT_LABEL[verdict]}: after 90 nights, on every half-month with a cramp"
        f" night, the cramp nights were the {extreme} nights: as strong a pattern as these"
        " nights can show. Next check at 180 nights."
    )
    words = " ".join(t for _, t in plain_lines(r))
    assert not RATIO.search(words) and "odds ratio" not in words and "None" not in words
    assert "tends to overstate" in words


def test_a_separated_fit_short_of_the_level_is_no_firm_answer():
    r = v3_report("inconclusive", 1, separated("colder", 0.04, nights=90, strata=6), valid=92)
    assert verdict_sentence(r).startswith(
        "No firm answer yet: after 90 nights, on every half-month with a cramp night, the cramp"
        " nights were the coldest nights, but there are still too few such nights"
    )


def test_a_look_without_an_answer_says_why_in_half_months():
    few = {"status": "too-few-cramp-nights", "cramp_nights_in_informative_strata": 2}
    text = verdict_sentence(v3_report("insufficient-data", 1, None, valid=95, detail=few))
    assert text.startswith("Too early: after 90 nights, the within-half-month comparison needs")
    assert "in half-months that had both" in text
    assert "(it has 2)" in text and text.endswith("Next check at 180 nights.")


def test_the_hour_before_a_cramp_is_described_not_decided():
    firm_looking = crossover_sentence(v3_report("inconclusive", cc=wald(1.3, 1.1, 1.7, cramps=40)))
    assert firm_looking == (
        "Over 40 cramps, the hour before a cramp was on the whole colder than the same hour on"
        " the other days of its month. This describes the cramps so far; it is not a verdict."
    )
    warm = crossover_sentence(v3_report("inconclusive", cc=wald(0.5, 0.3, 0.8, cramps=12)))
    assert "on the whole warmer" in warm
    sep = crossover_sentence(v3_report("inconclusive", cc=separated("colder", 0.01, cramps=6)))
    assert sep.startswith("Before each of the 6 cramps the room was colder than at the same hour")
    for text in (firm_looking, warm, sep):
        assert "firm" not in text and "likely between" not in text
    none_yet = v3_report("insufficient-data", valid=20)
    assert "at least 5 cramps" in crossover_sentence(none_yet)


def test_disagreement_only_when_the_views_point_different_ways():
    supports = wald(1.5, 1.1, 2.0, p=0.005, nights=365, strata=24)
    cc_warm = wald(0.6, 0.4, 0.9, cramps=30)
    text = disagreement_sentence(v3_report("supports", 3, supports, cc=cc_warm))
    assert text.startswith("The two views disagree: the nights compared within their half-month")
    assert "lean colder, the hour before each cramp warmer" in text
    unclear = wald(0.9, 0.6, 1.3, p=0.6, nights=365, strata=24)
    assert disagreement_sentence(
        v3_report("inconclusive", 3, unclear, cc=wald(1.5, 1.1, 2.0, cramps=30))
    )
    sep = separated("colder", 0.002, nights=365, strata=24)
    assert "lean colder" in disagreement_sentence(v3_report("supports", 3, sep, cc=cc_warm))
    assert disagreement_sentence(v3_report("supports", 3, supports, cc=wald(1.3, 0.9, 1.8))) is None
    assert disagreement_sentence(v3_report("insufficient-data", cc=cc_warm)) is None


# -- how many more nights: a number, a span and a date; never "0 more nights" -----------------


def test_more_nights_read_as_a_date_at_the_rate_nights_have_come():
    # 56 valid nights of 70 recorded: 0.8 valid nights a day; 34 more take 43 days from as_of.
    r = v3_report("insufficient-data", valid=56, recorded=70)
    assert plan(r).next_check == (
        "The first check is at 90 valid nights: 34 more nights (about 6 weeks: around"
        " 19 January 2027)."
    )
    # Every valid: 34 days from Mon 07 Dec.
    assert (
        "about 5 weeks: around 10 January 2027"
        in plan(v3_report("insufficient-data", valid=56)).next_check
    )
    # Within the same year no year is written.
    r = v3_report("insufficient-data", valid=80, as_of="2026-03-01T06:00:00.000Z")
    assert plan(r).next_check.endswith("10 more nights (about 10 days: around 11 March).")


def test_as_of_is_read_in_the_site_time_zone():
    assert reports.as_of_words(v3_report("inconclusive")) == "as of Mon 07 Dec 07:25"
    r = v3_report("inconclusive", timezone="America/New_York")
    assert reports.as_of_words(r) == "as of Mon 07 Dec 01:25"
    assert reports.as_of_words(v3_report("inconclusive", contract=None)) is None


def test_nights_needed_that_have_passed_are_said_so_never_as_zero():
    at = wald(1.1, 0.8, 1.5, p=0.5, nights=365, strata=24)
    r = v3_report("inconclusive", 3, at, valid=400)  # x1.5 needed 226 nights: the 365 check
    assert r["power"]["look_for_or_1_5"] == 365
    text = all_text(r)
    assert "the 365-night check was where a firm answer became likely, and it has passed with" in (
        text
    )
    assert "probably weaker than that" in text
    assert not re.search(r"\b0 more nights?\b", text)
    # A report whose next check is due (as many valid nights as the check): no "0".
    due = v3_report("insufficient-data", valid=90)
    due["sequential"]["next_look_nights"] = 90
    assert "due now" in plan(due).next_check and "0 more" not in plan(due).next_check


@pytest.mark.parametrize("valid", [1, 30, 89, 91, 179, 364, 729, 1094, 1200])
def test_no_sentence_ever_says_zero_more_nights(valid):
    look = sum(1 for n in (90, 180, 365, 730, 1095) if n <= valid) or None
    at = wald(1.1, 0.8, 1.5, p=0.5, nights=valid, strata=8) if look else None
    verdict = "inconclusive" if look else "insufficient-data"
    text = all_text(v3_report(verdict, look, at, valid=valid, recorded=valid + 3))
    assert not re.search(r"\b0 more nights?\b", text)
    assert "None" not in text and "nan" not in text


def test_the_chance_and_the_ratio_are_explained_in_the_plan():
    firm = plan(v3_report("insufficient-data", valid=50)).firm
    assert firm[0].startswith(
        "If each °C colder raised the odds of a cramp night by half (×1.5): about 226 valid"
        " nights would make a firm answer likely (an 80% chance: 4 times in 5): the"
        " 365-night check, 315 more nights ("
    )
    assert firm[1].startswith("For a smaller effect (the odds ×1.3 for each °C colder)")


# -- reports from older versions ----------------------------------------------------------------


def test_a_version_2_report_reads_in_its_own_terms():
    at = wald(1.42, 1.08, 1.87, p=0.01, nights=365, strata=12)
    r = v3_report("supports", 3, at, valid=370, contract=None)
    assert reports.contract_of(r) == 2 and reports.previous_rules(r)
    assert reports.stratum(r) == "month"
    text = verdict_sentence(r)
    assert "colder nights than usual for the month" in text
    assert "98.42% range" in dict(plain_lines(r))["ratio-meaning"]  # v2 decided at 0.0158
    assert plan(r).next_check.startswith("The next check is at 730 valid nights: 360 more nights")
    assert "v2" in reports.PREVIOUS_RULES_NOTE and "recomputing" in reports.PREVIOUS_RULES_NOTE


def test_a_stored_version_1_report_still_reads():
    old = {
        "verdict": "supports",
        "cold_threshold_c": 18.0,
        "relative_risk": {"estimate": 2.1, "ci_low": 1.2, "ci_high": 3.6},
        "logistic": wald(1.74, 1.17, 2.58),
    }
    text = verdict_sentence(old)
    assert text.startswith("Colder nights went with more cramps")
    assert "2.1 times as often (95% CI 1.2–3.6)" in text
    too_few = {"verdict": "insufficient-data", "nights": {"valid": 1, "cramp": 0}}
    assert verdict_sentence(too_few).startswith("1 night so far, 0 with a cramp")
    assert reports.contract_of(old) == 1


def test_every_verdict_has_a_one_line_meaning():
    meanings = reports.verdict_meanings(ALPHA)
    assert [v for v, _, _ in meanings] == [
        "supports",
        "contradicts",
        "inconclusive",
        "insufficient-data",
    ]
    for _, label, line in meanings:
        assert label and line.endswith(".") and "\n" not in line
    assert "less than 1 time in 70" in meanings[0][2]
    assert "does not mean the temperature makes no difference" in meanings[2][2]


def test_ratios_near_one_never_round_to_one():
    assert reports._x(1.004) == "×1.004" and reports._x(1.04) == "×1.04"
    assert reports._x(0.97) == "×0.97" and reports._x(1.0) == "×1"
    assert reports._x(2.84) == "×2.8"


def test_plot_points_by_half_month():
    from monitor.nights import NightSummary

    def night(d, low, cramp):
        return NightSummary(d, 0, 0, 100, 1.0, True, low, low, 50.0, int(cramp), True)

    valid = [
        night(date(2026, 1, 14), 16.0, True),
        night(date(2026, 1, 15), 18.0, False),
        night(date(2026, 1, 16), 15.0, False),
        night(date(2026, 1, 31), 17.0, True),
    ]
    block = reports.plot_block(valid)
    assert block["within_half_month"] == [
        ["2026-01-14", 16.0, -1.0, True],
        ["2026-01-15", 18.0, 1.0, False],
        ["2026-01-16", 15.0, -1.0, False],
        ["2026-01-31", 17.0, 1.0, True],
    ]
    assert block["spread"] == pytest.approx(math.sqrt(2))  # sqrt(4 / (4 - 2 half-months))
    stored = reports.stored_points({"plot": block})
    assert stored[0] == (date(2026, 1, 14), 16.0, -1.0, True)
    assert reports.stored_points({}) is None
