"""The trial's statistics: exact p and interval against hand-computed cases and scipy,
the exact power against a simulation of whole trials through the real report code."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest

from monitor.trial import stats
from monitor.trial.design import Protocol, draw_arms
from monitor.trial.report import NightOutcome, build_report


def odds(pi: float) -> float:
    return pi / (1 - pi)


# -- hand-computed cases ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (8, 1, 2 * (1 + 9) / 2**9),  # 2·(C(9,0)+C(9,1))/512 = 0.0390625
        (6, 0, 2 / 2**6),  # the smallest design that can reach p < 0.05
        (0, 5, 2 / 2**5),  # 0.0625: five pairs one way cannot
        (5, 2, 2 * (1 + 7 + 21) / 2**7),  # 0.453125
        (3, 1, 2 * (1 + 4) / 2**4),  # 0.625
        (1, 1, 1.0),
        (4, 4, 1.0),
        (10, 3, 2 * (1 + 13 + 78 + 286) / 2**13),
    ],
)
def test_exact_p_by_hand(b, c, p):
    assert stats.comparison(b, c)["p_exact"] == pytest.approx(p, rel=1e-15)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (5, 0, 1 / 2**5),  # 2·(1/32 - 1/64) = 0.03125: five pairs one way now decide
        (0, 4, 1 / 2**4),  # 0.0625: four cannot
        (8, 1, 2 * (1 + 9 - 9 / 2) / 2**9),  # 2·(P(X<=1) - P(X=1)/2) = 0.021484375
        (5, 2, 2 * (1 + 7 + 21 / 2) / 2**7),  # 0.2890625
        (1, 1, 1.0),
        (4, 4, 1.0),
        (10, 3, 2 * (1 + 13 + 78 + 286 / 2) / 2**13),
    ],
)
def test_mid_p_by_hand(b, c, p):
    """The verdict's p: the exact p less the probability of the observed split."""
    assert stats.comparison(b, c)["p"] == pytest.approx(p, rel=1e-15)
    assert stats.mid_p_half(b, b + c) == stats.comparison(b, c)["p"]


def test_five_against_none_is_warm_helped_by_mid_p_not_by_the_exact_test():
    """Issue 19: 5 vs 0 discordant pairs: mid-p 0.03125 < 0.05 (warm helped); the exact
    test's 0.0625 is shown beside it as p_exact."""
    r = stats.comparison(5, 0)
    assert (r["p"], r["p_exact"]) == (0.03125, 0.0625)
    assert stats.verdict_of(5, 0, r["p"]) == "warm-helped"
    assert stats.verdict_of(5, 0, r["p_exact"]) == "no-difference"
    assert stats.verdict_of(0, 5, r["p"]) == "warm-worse"


def test_interval_by_hand_where_clopper_pearson_has_a_closed_form():
    # k = n: P(X >= n) = pi^n = 0.025, so the lower bound is 0.025^(1/n); no upper odds.
    r = stats.comparison(6, 0)
    assert r["odds_ratio"] is None and r["ci_high"] is None
    assert r["ci_low"] == pytest.approx(odds(0.025 ** (1 / 6)), rel=1e-12)
    # k = 0: the upper bound is 1 - 0.025^(1/n); the point estimate 0, the lower bound none.
    r = stats.comparison(0, 5)
    assert r["odds_ratio"] == 0.0 and r["ci_low"] is None
    assert r["ci_high"] == pytest.approx(odds(1 - 0.025 ** (1 / 5)), rel=1e-12)
    # k = 1 of n = 2: 1 - (1-pi)^2 = 0.025 and 1 - pi^2 = 0.025.
    r = stats.comparison(1, 1)
    assert r["odds_ratio"] == 1.0
    assert r["ci_low"] == pytest.approx(odds(1 - math.sqrt(0.975)), rel=1e-12)
    assert r["ci_high"] == pytest.approx(odds(math.sqrt(0.975)), rel=1e-12)


def test_no_discordant_pair_gives_nothing():
    assert stats.comparison(0, 0) == {
        "p": None,
        "p_exact": None,
        "odds_ratio": None,
        "ci_low": None,
        "ci_high": None,
    }
    with pytest.raises(ValueError):
        stats.comparison(-1, 2)


def test_the_verdict_rule():
    assert stats.verdict_of(8, 1, 0.039) == "warm-helped"
    assert stats.verdict_of(1, 8, 0.039) == "warm-worse"
    assert stats.verdict_of(5, 2, 0.45) == "no-difference"
    assert stats.verdict_of(0, 0, None) == "no-difference"
    assert stats.verdict_of(8, 1, 0.05) == "no-difference"  # strictly below


# -- the same numbers as scipy -----------------------------------------------------------------


def test_p_and_interval_equal_scipy_over_a_grid():
    scipy_stats = pytest.importorskip("scipy.stats")
    for n in range(1, 31):
        for k in range(n + 1):
            ref = scipy_stats.binomtest(k, n, 0.5)
            assert stats.binom_test_half(k, n) == pytest.approx(ref.pvalue, rel=1e-12, abs=0)
            low, high = stats.clopper_pearson(k, n)
            # The definition (beta quantiles) to the last digits; scipy's own root finder
            # in proportion_ci stops earlier (about 1e-10 relative).
            exact_low = 0.0 if k == 0 else scipy_stats.beta.ppf(0.025, k, n - k + 1)
            exact_high = 1.0 if k == n else scipy_stats.beta.isf(0.025, k + 1, n - k)
            assert low == pytest.approx(exact_low, rel=1e-12, abs=0)
            assert high == pytest.approx(exact_high, rel=1e-12, abs=0)
            ci = ref.proportion_ci(method="exact")
            assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-8, abs=0)


# -- power -----------------------------------------------------------------------------------


def test_power_by_hand_for_the_smallest_designs():
    # 6 pairs, cramps on every usual night and never on a warm one: every pair is
    # (usual only), b = 6 of 6, mid-p = 1/64: the verdict is certain.
    assert stats.power(6, 1.0, 0.0) == pytest.approx(1.0)
    # By mid-p 5 pairs all one way decide (0.03125); 4 never can (0.0625).
    assert stats.power(5, 1.0, 0.0) == pytest.approx(1.0)
    assert stats.power(4, 1.0, 0.0) == 0.0
    # p_usual = 0.5, p_warm = 0: a pair is (usual only) with probability 1/2, else
    # concordant (neither); 6 pairs decide when 5 or 6 are discordant (5 of 5, 6 of 6).
    assert stats.power(6, 0.5, 0.0) == pytest.approx(6 * 0.5**6 + 0.5**6)


def test_plan_power_is_the_chance_of_warm_helped_if_warm_halves_the_rate():
    assert stats.plan_power(56, 0.4) == stats.power(28, 0.4, 0.2)
    assert stats.plan_power(56, 0.4) < 0.5 < stats.plan_power(200, 0.4)
    with pytest.raises(ValueError):
        stats.plan_power(56, 1.5)


def test_power_without_an_effect_stays_under_half_alpha():
    """The mid-p test's size, exactly, over every plan length and a grid of cramp rates:
    never above 2.5% per side (its worst here is 2.47%)."""
    for pairs in range(6, 184):
        for rate in (0.1, 0.2, 0.35, 0.5, 0.7, 0.9):
            helped, worse = stats.detect_probabilities(pairs, rate, rate)
            assert helped == pytest.approx(worse)
            assert 0 < helped <= 0.025


def simulate_verdicts(pairs: int, p_usual: float, p_warm: float, runs: int, seed: int) -> float:
    """Whole finished trials through the real code: a drawn schedule, per-night
    outcomes, build_report; the share that ends "warm-helped"."""
    rng = random.Random(seed)
    protocol = Protocol(first_night=date(2026, 6, 10), nights=2 * pairs, warm_min_c=19.0)
    after = protocol.end_ms + 1
    helped = 0
    for _ in range(runs):
        arms = draw_arms(protocol.nights, rng)
        outcomes = {
            d: NightOutcome(
                d,
                True,
                True,
                19.5 if arm == "warm" else 17.0,
                rng.random() < (p_warm if arm == "warm" else p_usual),
            )
            for d, arm in zip(protocol.dates(), arms, strict=True)
        }
        helped += build_report(protocol, arms, outcomes, after)["verdict"] == "warm-helped"
    return helped / runs


@pytest.mark.parametrize(
    ("pairs", "p_usual", "p_warm"),
    [
        (28, 0.4, 0.2),  # 56 nights, warm nights halve a 40% cramp-night rate
        (14, 0.5, 0.15),
        (28, 0.3, 0.3),  # no effect
    ],
)
def test_exact_power_matches_a_simulation_of_whole_trials(pairs, p_usual, p_warm):
    runs = 4000
    exact = stats.power(pairs, p_usual, p_warm)
    simulated = simulate_verdicts(pairs, p_usual, p_warm, runs, seed=pairs * 1000 + 7)
    se = math.sqrt(max(exact * (1 - exact), 1e-4) / runs)
    assert abs(simulated - exact) < 4.5 * se, (exact, simulated)


def test_pairs_for_power_is_the_first_length_reaching_it():
    k = stats.pairs_for_power(0.8, 0.4, 0.2)
    assert k is not None
    assert stats.power(k, 0.4, 0.2) >= 0.8 > stats.power(k - 1, 0.4, 0.2)
