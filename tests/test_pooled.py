"""The pooled study's pure core (monitor/analysis/pooled.py), on nights whose truth is known."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from monitor.analysis import clogit
from monitor.analysis.pooled import Person, TrialCounts, pooled_report, pooled_trial
from tests.simulation import _night

ALPHA = 0.0135


def nights(first: date, temps: list[float], cramps: list[int]) -> tuple:
    return tuple(
        _night(first + timedelta(days=i), t, bool(c))
        for i, (t, c) in enumerate(zip(temps, cramps, strict=True))
    )


def report(people, trials=(), looks=(4, 8, 100)):
    return pooled_report(
        people, list(trials), as_of="2026-12-07T06:25:00.000Z", alpha=ALPHA, looks=looks
    )


A = Person("a", nights(date(2026, 1, 1), [16, 17, 18, 19, 17.5, 16.5], [1, 0, 0, 0, 1, 0]))
B = Person("b", nights(date(2026, 1, 1), [15, 18, 17, 19, 20, 16], [0, 1, 1, 0, 0, 1]))


def test_the_pooled_fit_is_one_fit_over_every_persons_own_half_months():
    got = report([B, A])
    want = clogit.fit(
        [([n.min_temp_c for n in p.valid], [n.cramps for n in p.valid]) for p in (A, B)]
    ).as_json()
    assert got["pooled"] == {"nights": 12, "strata": 2, **want}
    # Two people on the same dates are two strata, never one: rooms are not compared.
    assert [r["node"] for r in got["per_person"]] == ["a", "b"]
    assert got["people"] == 2 and got["nights"] == {"valid": 12, "cramp": 5}


def test_looks_take_the_first_nights_by_date_then_node():
    got = report([A, B], looks=(4, 8, 100))
    seq = got["sequential"]
    assert (seq["look"], seq["look_nights"], seq["next_look_nights"]) == (2, 8, 100)
    first8 = [(p.node, n) for d in range(4) for p in (A, B) for n in [p.valid[d]]]
    strata = [[n for node, n in first8 if node == who] for who in ("a", "b")]
    want = clogit.fit([([n.min_temp_c for n in g], [n.cramps for n in g]) for g in strata])
    assert seq["at_look"]["p"] == pytest.approx(want.p, rel=1e-12)


def test_a_person_with_cramps_every_night_of_one_half_month_adds_nothing_and_breaks_nothing():
    always = Person("c", nights(date(2026, 3, 2), [14, 15, 16, 17], [1, 1, 1, 1]))
    with_c, without = report([A, B, always]), report([A, B])
    assert with_c["pooled"] == without["pooled"]
    assert with_c["people"] == 2
    row = with_c["per_person"][2]
    assert row == {"node": "c", "valid": 4, "cramp": 4, "seasonal": None}


def test_separation_across_people_is_a_firm_colder_verdict():
    def coldest_is_the_cramp_night(node: str, start: date) -> Person:
        temps, cramps = [], []
        for _ in range(4):
            temps += [15.0, 17.0, 18.0, 19.0, 20.0]
            cramps += [1, 0, 0, 0, 0]
        return Person(node, nights(start, temps[:15], cramps[:15]))

    people = [coldest_is_the_cramp_night(f"p{i}", date(2026, 1, 1)) for i in range(4)]
    got = report(people, looks=(60,))
    at = got["sequential"]["at_look"]
    assert at["separation"] == "colder" and at["test"] == "score"
    assert at["or_per_degree_colder"] is None and at["p"] < ALPHA
    assert got["verdict"] == "supports"


def test_no_look_yet_is_insufficient_data():
    assert report([A], looks=(360,))["verdict"] == "insufficient-data"


def test_the_pooled_trial_sums_discordant_pairs_with_a_mid_p():
    got = pooled_trial([TrialCounts("a", 6, 3, 0), TrialCounts("b", 6, 2, 0)])
    assert (got["people"], got["pairs"], got["usual_only"], got["warm_only"]) == (2, 12, 5, 0)
    assert got["p"] == pytest.approx(0.03125) and got["p_exact"] == pytest.approx(0.0625)
    assert got["odds_ratio"] is None and got["ci_high"] is None
    none = pooled_trial([TrialCounts("a", 6, 0, 0)])
    assert (none["p"], none["p_exact"], none["odds_ratio"]) == (1.0, 1.0, None)
    assert pooled_trial([]) is None
