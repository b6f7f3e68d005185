"""Version 3: the seasonal comparison (half-months), the planned looks, separation, the verdict
and the nights needed."""

from __future__ import annotations

import json
import math
import random
import statistics
from datetime import date, timedelta

import numpy as np
import pytest
from statsmodels.discrete.conditional_models import ConditionalLogit

from monitor.analysis import stats as analysis
from monitor.analysis.stats import LookPlan, build_report, seasonal_fit, sequential
from monitor.config import parse
from monitor.nights import NightParams, NightSummary
from tests.test_analysis import night_on as night

BERLIN = NightParams(timezone="Europe/Berlin")


def person(
    n: int, *, first: date = date(2025, 9, 1), beta: float = 0.5, seed: int = 1
) -> list[NightSummary]:
    """n nights from `first`: a seasonal room, cramps more likely on colder nights (beta/°C)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = first + timedelta(days=i)
        season = 2.5 * math.cos(2 * math.pi * (d.timetuple().tm_yday - 200) / 365.25)
        t = round(17.5 + season + rng.gauss(0, 1.5), 2)
        p = 1 / (1 + math.exp(-(-1.6 + beta * (17.5 - t))))
        out.append(night(d, t, 1 if rng.random() < p else 0))
    return out


def half(d: date) -> tuple[int, int, int]:
    return d.year, d.month, int(d.day > 15)


def reference_fit(nights: list[NightSummary]) -> tuple[float, float, float, float, int, int]:
    """statsmodels' Newton fit directly: strata by half-month of D, informative strata only."""
    strata = {}
    for n in nights:
        strata.setdefault(half(n.night), []).append(n)
    kept = [g for g in strata.values() if 0 < sum(x.cramps > 0 for x in g) < len(g)]
    keep = [n for g in kept for n in g]
    y = np.array([float(n.cramps > 0) for n in keep])
    x = np.array([[n.min_temp_c] for n in keep])
    g = np.array([n.night.year * 1000 + n.night.month * 10 + half(n.night)[2] for n in keep])
    res = ConditionalLogit(y, x, groups=g).fit(method="newton", disp=False)
    lo, hi = res.conf_int()[0]
    est = math.exp(-res.params[0])
    return est, math.exp(-hi), math.exp(-lo), res.pvalues[0], len(keep), len(kept)


def test_seasonal_is_a_conditional_logit_within_half_months():
    nights = person(200)
    got = seasonal_fit(nights).block
    est, lo, hi, p, count, strata = reference_fit(nights)
    assert got["or_per_degree_colder"] == pytest.approx(est, rel=1e-6)
    assert (got["ci_low"], got["ci_high"], got["p"]) == pytest.approx((lo, hi, p), rel=1e-6)
    assert (got["test"], got["separation"]) == ("wald", None)
    assert got["or_per_degree_colder"] > 1
    # 1 September 2025 .. 19 March 2026: 14 half-months, the informative ones enter.
    assert (got["nights"], got["strata"]) == (count, strata)
    assert 10 <= strata <= 14


def test_half_months_split_on_the_16th_and_the_31st_is_in_the_second_half():
    """Strata by the night's date D (days 1-15, 16 to the end), not by the date a cramp
    after midnight fell on: the night of 31 January is in January's second half."""
    assert analysis.stratum(night(date(2026, 1, 15), 17, 0)) == (2026, 1, 0)
    assert analysis.stratum(night(date(2026, 1, 16), 17, 0)) == (2026, 1, 1)
    assert analysis.stratum(night(date(2026, 1, 31), 17, 0)) == (2026, 1, 1)
    assert analysis.stratum(night(date(2026, 2, 1), 17, 0)) == (2026, 2, 0)
    nights = [night(date(2026, 1, d), 15.0 + d % 5, 0) for d in range(16, 32)]
    nights += [night(date(2026, 2, d), 15.0 + d % 5, 0) for d in range(1, 12)]
    marked = {date(2026, 1, 31), date(2026, 1, 22), date(2026, 2, 3), date(2026, 2, 7)}
    nights = [night(n.night, n.min_temp_c, 1) if n.night in marked else n for n in nights]
    fit = seasonal_fit(nights).block
    assert fit["strata"] == 2 and fit["nights"] == 27
    # With the 31st moved into February's first half, January's second half holds one
    # cramp night and February's first half three: another fit.
    moved = [
        night(date(2026, 2, 11), n.min_temp_c, 1) if n.night == date(2026, 1, 31) else n
        for n in nights
        if n.night != date(2026, 2, 11)
    ]
    assert seasonal_fit(moved).block != fit
    # A month's halves are separate strata: one cramp night in each half of March, with
    # nights without in both, is two strata (a whole-month stratum would be one).
    march = [night(date(2026, 3, d), 15.0 + d % 4, int(d in (2, 5, 20))) for d in range(1, 32)]
    assert seasonal_fit(march).block["strata"] == 2


def test_only_informative_strata_enter():
    nights = person(120, first=date(2026, 1, 1), seed=3)
    no_cramps = [night(date(2026, 6, d), 20.0 + d % 3, 0) for d in range(1, 31)]
    all_cramps = [night(date(2026, 7, d), 21.0, 1) for d in range(1, 4)]
    fit = seasonal_fit(nights + no_cramps + all_cramps).block
    assert fit == seasonal_fit(nights).block
    assert fit["nights"] == reference_fit(nights)[4]


def test_seasonal_null_rules():
    assert seasonal_fit([]) is None
    # No informative stratum: cramp-free months only.
    assert (
        seasonal_fit([night(date(2026, 1, 1) + timedelta(d), 17.0 + d % 4, 0) for d in range(60)])
        is None
    )
    # Two cramp nights in informative strata: fewer than 3.
    two = [
        night(date(2026, 1, 1) + timedelta(d), 17.0 + d % 4, int(d in (3, 40))) for d in range(60)
    ]
    assert seasonal_fit(two) is None
    three = [night(n.night, n.min_temp_c, int(n.cramps or n.night.day == 20)) for n in two]
    assert seasonal_fit(three) is not None
    # Informative strata whose nights all have the same minimum: no information, null.
    flat = [night(n.night, 17.0, n.cramps) for n in three]
    assert seasonal_fit(flat) is None


def separated(direction: str, n: int = 100) -> list[NightSummary]:
    """Every fifth night a cramp night, and the coldest (or warmest) of its half-month."""
    out = []
    for d in range(n):
        cramp = d % 5 == 0
        extreme = 15.0 if direction == "colder" else 23.0
        t = extreme if cramp else 19.0 + d % 3
        out.append(night(date(2026, 1, 1) + timedelta(d), t, int(cramp)))
    return out


@pytest.mark.parametrize(
    ("direction", "verdict"), [("colder", "supports"), ("warmer", "contradicts")]
)
def test_separation_reaches_a_firm_verdict_in_its_direction(direction, verdict):
    """Version 2 printed an odds ratio of 10^9 with p about 0.6 here and said "inconclusive"."""
    report = build_report(separated(direction), [], [], BERLIN)
    at = report["sequential"]["at_look"]
    assert report["sequential"]["look"] == 1
    assert (at["test"], at["separation"]) == ("score", direction)
    assert at["or_per_degree_colder"] is None and at["ci_low"] is None and at["ci_high"] is None
    assert at["p"] < 0.0135
    assert report["seasonal"]["separation"] == direction
    assert report["verdict"] == verdict
    # The scale of the temperatures does not matter (no overflow, no null).
    tenfold = [night(n.night, n.min_temp_c * 10, n.cramps) for n in separated(direction)]
    assert build_report(tenfold, [], [], BERLIN)["verdict"] == verdict
    json.dumps(report, allow_nan=False)


@pytest.mark.parametrize(
    ("valid", "look", "look_nights", "next_look"),
    [
        (0, None, None, 90),
        (89, None, None, 90),
        (90, 1, 90, 180),
        (364, 2, 180, 365),
        (365, 3, 365, 730),
        (1095, 5, 1095, None),
        (1300, 5, 1095, None),
    ],
)
def test_the_current_look(valid, look, look_nights, next_look):
    seq = sequential(person(valid), LookPlan())
    assert seq["looks"] == [90, 180, 365, 730, 1095] and seq["alpha_per_look"] == 0.0135
    assert (seq["look"], seq["look_nights"], seq["next_look_nights"]) == (
        look,
        look_nights,
        next_look,
    )
    assert (seq["at_look"] is None) == (look is None)


def test_at_look_sees_exactly_the_first_nights_by_date():
    nights = person(250, seed=5)
    shuffled = nights[::-1]  # order of the list does not matter, the date does
    seq = sequential(shuffled, LookPlan())
    assert seq["look"] == 2
    assert seq["at_look"] == seasonal_fit(nights[:180]).block
    assert seq["at_look"] != seasonal_fit(nights).block
    # Nights after the look move the running figure, never the verdict.
    more = person(300, seed=5)
    r250, r300 = build_report(nights, [], [], BERLIN), build_report(more, [], [], BERLIN)
    assert r250["sequential"]["at_look"] == r300["sequential"]["at_look"]
    assert r250["verdict"] == r300["verdict"]
    assert r250["seasonal"] != r300["seasonal"]


def _seq(p: float, odds: float | None, look: int | None = 2, side: str | None = None) -> dict:
    at = {
        "nights": 180,
        "strata": 6,
        "or_per_degree_colder": odds,
        "ci_low": None if odds is None else 0.1,
        "ci_high": None if odds is None else 9,
        "p": p,
        "test": "wald" if odds is not None else "score",
        "separation": side,
    }
    return {
        "looks": [90, 180],
        "alpha_per_look": 0.0135,
        "look": look,
        "look_nights": 180 if look else None,
        "next_look_nights": None,
        "at_look": at if look else None,
    }


@pytest.mark.parametrize(
    ("p", "odds", "side", "expected"),
    [
        (0.01, 1.4, None, "supports"),
        (0.01, 0.7, None, "contradicts"),
        (0.0135, 1.4, None, "inconclusive"),  # strictly below the per-look level
        (0.0158, 1.4, None, "inconclusive"),  # version 2's level is no longer enough
        (0.02, 1.4, None, "inconclusive"),  # 0.02 < 0.05: a version-1 reading would say supports
        (0.5, 0.9, None, "inconclusive"),
        (0.001, None, "colder", "supports"),
        (0.001, None, "warmer", "contradicts"),
        (0.2, None, "colder", "inconclusive"),  # separated, but too few nights to be firm
    ],
)
def test_verdict_from_the_look(p, odds, side, expected):
    assert analysis.verdict(_seq(p, odds, side=side)) == expected
    assert analysis.verdict(_seq(p, odds, look=None, side=side)) == "insufficient-data"
    assert analysis.verdict({**_seq(p, odds, side=side), "at_look": None}) == "insufficient-data"


def test_looks_and_level_come_from_the_config():
    config = parse("[analysis]\nlooks = [30, 60]\nlook_alpha = 0.03\n", "c")
    plan = LookPlan.from_config(config)
    report = build_report(person(75), [], [], BERLIN, plan)
    seq = report["sequential"]
    assert (seq["looks"], seq["alpha_per_look"]) == ([30, 60], 0.03)
    assert (seq["look"], seq["look_nights"], seq["next_look_nights"]) == (2, 60, None)
    assert LookPlan.from_config(parse("", "d")) == LookPlan()


def test_unfinished_or_invalid_nights_are_not_counted_towards_a_look():
    nights = person(95)
    nights = nights[:85] + [
        night(n.night, n.min_temp_c, n.cramps, valid=False) for n in nights[85:]
    ]
    report = build_report(nights, [], [], BERLIN)
    assert report["nights"]["valid"] == 85
    assert report["sequential"]["look"] is None
    assert report["verdict"] == "insufficient-data"


def test_power_comes_from_the_seasonal_standard_error():
    nights = person(400, seed=7)
    report = build_report(nights, [], [], BERLIN)
    pw = report["power"]
    fit = seasonal_fit(nights)
    se = fit.se
    assert pw["se_log_or"] == pytest.approx(se)
    k = statistics.NormalDist().inv_cdf(1 - 0.0135 / 2) + statistics.NormalDist().inv_cdf(0.8)
    for target, tag in ((1.3, "1_3"), (1.5, "1_5")):
        need = math.ceil(400 * se**2 * k**2 / math.log(target) ** 2)
        assert pw[f"nights_for_or_{tag}"] == need
        assert pw[f"look_for_or_{tag}"] == next(
            (n for n in (90, 180, 365, 730, 1095) if n >= need), None
        )
    assert pw["nights_for_or_1_3"] > pw["nights_for_or_1_5"]
    assert pw["smallest_detectable_or_per_degree"] == pytest.approx(math.exp(k * se))
    assert pw["nights_to_next_look"] == 330
    look = pw["look_for_or_1_5"]
    assert report["nights_needed"] == (
        max(0, look - 400) if look else pw["nights_for_or_1_5"] - 400
    )
    assert "730 valid nights, 330 from now" in pw["reason"]
    assert f"about {pw['nights_for_or_1_5']} valid nights for ×1.5 per °C" in pw["reason"]
    json.dumps(report, allow_nan=False)


def test_look_detail_says_why_there_is_no_answer_at_a_look():
    nights = [
        night(date(2026, 1, 1) + timedelta(d), 17.0 + d % 4, int(d in (3, 40))) for d in range(100)
    ]
    report = build_report(nights, [], [], BERLIN)
    assert report["sequential"]["look"] == 1 and report["sequential"]["at_look"] is None
    assert report["verdict"] == "insufficient-data"
    assert report["look_detail"]["status"] == "too-few-cramp-nights"
    assert report["look_detail"]["cramp_nights_in_informative_strata"] == 2


def test_look_detail_tells_a_failed_fit_from_too_few_cramp_nights():
    """Enough cramp nights, but every night at the same minimum: no information."""
    nights = [night(date(2026, 1, 1) + timedelta(d), 17.0, int(d % 5 == 0)) for d in range(100)]
    report = build_report(nights, [], [], BERLIN)
    assert report["sequential"]["at_look"] is None
    assert report["look_detail"]["status"] == "fit-failed"
    assert report["verdict"] == "insufficient-data"
