"""The contract's conditional logistic fit (monitor/analysis/clogit.py) against statsmodels'
Newton fit, and the separation, score-test and null rules of analysis-spec.md v3."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.discrete.conditional_models import ConditionalLogit

from monitor.analysis import clogit


def random_sets(rng, count, *, max_n=16, beta=0.3):
    """Sets of 2..max_n values, outcomes drawn with a true log odds ratio beta per unit x."""
    sets = []
    for _ in range(count):
        n = int(rng.integers(2, max_n + 1))
        x = rng.normal(10, 3, n)
        y = (rng.random(n) < 1 / (1 + np.exp(-(beta * (x - 10) - 1)))).astype(int)
        sets.append((list(x), list(y)))
    return sets


def statsmodels_fit(sets):
    x, y, g = [], [], []
    for i, (xs, ys) in enumerate(sets):
        x += xs
        y += ys
        g += [i] * len(xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ConditionalLogit(np.array(y, float), np.array(x).reshape(-1, 1), groups=np.array(g))
        result = model.fit(method="newton", disp=False, maxiter=100)
    return (
        float(result.params[0]),
        float(result.bse[0]),
        float(result.pvalues[0]),
    )


@pytest.mark.parametrize("seed", range(8))
def test_matches_statsmodels_newton_on_random_sets(seed):
    rng = np.random.default_rng(seed)
    sets = random_sets(rng, int(rng.integers(5, 60)), max_n=int(rng.integers(3, 32)))
    got = clogit.fit(sets)
    assert got is not None and got.test == "wald" and got.separation is None
    beta, se, p = statsmodels_fit(sets)
    assert got.beta == pytest.approx(beta, rel=1e-5, abs=1e-9)
    assert got.se == pytest.approx(se, rel=1e-5)
    assert got.p == pytest.approx(p, rel=1e-5)
    j = got.as_json()
    assert set(j) == {"or_per_degree_colder", "ci_low", "ci_high", "p", "test", "separation"}
    assert j["or_per_degree_colder"] == pytest.approx(math.exp(-beta), rel=1e-5)
    assert j["ci_low"] == pytest.approx(math.exp(-beta - 1.959963984540054 * se), rel=1e-5)
    assert j["ci_high"] == pytest.approx(math.exp(-beta + 1.959963984540054 * se), rel=1e-5)


def test_one_case_sets_match_statsmodels():
    """The case-crossover's shape: one case and up to 30 referents per set."""
    rng = np.random.default_rng(42)
    sets = []
    for _ in range(40):
        x = list(rng.normal(19, 2, int(rng.integers(2, 31))))
        y = [0] * len(x)
        y[int(rng.integers(len(x)))] = 1
        sets.append((x, y))
    got = clogit.fit(sets)
    beta, se, _ = statsmodels_fit(sets)
    assert got.beta == pytest.approx(beta, rel=1e-5, abs=1e-9)
    assert got.se == pytest.approx(se, rel=1e-5)


def test_sets_without_both_outcomes_add_nothing():
    rng = np.random.default_rng(3)
    sets = random_sets(rng, 30)
    padded = [*sets, ([1.0, 2.0, 3.0], [0, 0, 0]), ([5.0, 9.0], [1, 1]), ([4.0], [1])]
    assert clogit.fit(padded).beta == pytest.approx(clogit.fit(sets).beta, abs=1e-12)


def score_p(sets):
    """The spec's score test written out directly."""
    u = v = 0.0
    for xs, ys in sets:
        x, y = np.array(xs), np.array(ys)
        n, m = len(x), int(y.sum())
        if n < 2:
            continue
        d = x - x.mean()
        u += float((y * d).sum())
        v += m * (n - m) / (n * (n - 1)) * float((d**2).sum())
    return 2 * norm.sf(abs(u) / math.sqrt(v))


@pytest.mark.parametrize("direction", ["colder", "warmer"])
def test_separation_in_each_direction(direction):
    """Cramps on each half-month's coldest (or warmest) nights: no odds ratio, a score p."""
    rng = np.random.default_rng(7)
    sets = []
    for _ in range(12):
        x = sorted(rng.normal(17, 2, 15))
        y = [0] * 15
        y[0 if direction == "colder" else -1] = 1
        if _ % 3 == 0:  # two cases, both at the extreme
            y[1 if direction == "colder" else -2] = 1
        sets.append((x, y))
    got = clogit.fit(sets)
    assert got.separation == direction and got.test == "score"
    assert got.p == pytest.approx(score_p(sets), rel=1e-12)
    assert got.p < 1e-6
    j = got.as_json()
    assert j["or_per_degree_colder"] is None and j["ci_low"] is None and j["ci_high"] is None
    assert j["separation"] == direction and j["test"] == "score"


def test_ties_at_the_extreme_still_count_as_separated():
    """T equals T_lo when the case shares the coldest value with a control (1e-9 rule)."""
    sets = [([1.0, 1.0, 2.0, 3.0], [1, 0, 0, 0]), ([5.0, 6.0, 7.0], [1, 0, 0])]
    assert clogit.fit(sets).separation == "colder"


def test_no_information_is_null():
    """All values equal within each set: T_hi - T_lo = 0."""
    assert clogit.fit([([3.0, 3.0, 3.0], [1, 0, 0]), ([5.0, 5.0], [0, 1])]) is None
    assert clogit.fit([([1.0, 2.0], [0, 0])]) is None
    assert clogit.fit([]) is None


def test_non_convergence_is_null(monkeypatch):
    rng = np.random.default_rng(1)
    sets = random_sets(rng, 20)
    monkeypatch.setattr(clogit, "MAX_STEPS", 1)
    assert clogit.fit(sets) is None


def test_nearly_separated_data_converge_to_the_statsmodels_answer():
    """One stratum breaks the perfect pattern: a large but finite odds ratio."""
    sets = [([10.0, 11.0, 12.0, 13.0], [1, 0, 0, 0]) for _ in range(6)]
    sets.append(([10.0, 11.0, 12.0, 13.0], [0, 1, 0, 0]))
    got = clogit.fit(sets)
    beta, _se, p = statsmodels_fit(sets)
    assert got.separation is None
    assert got.beta == pytest.approx(beta, rel=1e-5)
    assert got.p == pytest.approx(p, rel=1e-5)


def test_many_sets_quickly_enough_for_pooling():
    """24,000 half-month sets (1,000 people x 24 strata) fit; the time goes in bench/."""
    rng = np.random.default_rng(5)
    sets = random_sets(rng, 24_000, max_n=16)
    got = clogit.fit(sets)
    assert got is not None and got.beta == pytest.approx(0.3, abs=0.05)
