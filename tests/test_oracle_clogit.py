"""The oracle's conditional logistic fit on its own: hand-computable cases and a second method.

statsmodels' ConditionalLogit with Newton is the spec's named cross-check (within 1e-5);
the separation branch and its score test are computed here by hand from the spec's formulas.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats
from statsmodels.discrete.conditional_models import ConditionalLogit

from tests.oracle.spec_oracle import clogit


def _statsmodels(sets):
    x = np.concatenate([np.asarray(s[0], float) for s in sets])
    y = np.concatenate([np.asarray(s[1], float) for s in sets])
    g = np.concatenate([[i] * len(s[0]) for i, s in enumerate(sets)])
    return ConditionalLogit(y, x[:, None], groups=g).fit(method="newton", disp=0)


def test_fit_agrees_with_statsmodels_newton_on_random_sets():
    rng = random.Random(7)
    sets = []
    for _ in range(12):
        n = rng.randint(2, 16)
        x = [rng.gauss(17, 2) for _ in range(n)]
        m = rng.randint(1, n - 1)
        y = [1] * m + [0] * (n - m)
        rng.shuffle(y)
        sets.append((x, y))
    fit = clogit(sets)
    ref = _statsmodels(sets)
    assert fit["test"] == "wald" and fit["separation"] is None
    assert fit["or_per_degree_colder"] == pytest.approx(math.exp(-ref.params[0]), rel=1e-5)
    lo, hi = ref.conf_int()[0]
    assert (fit["ci_low"], fit["ci_high"]) == pytest.approx((math.exp(-hi), math.exp(-lo)), 1e-5)
    assert fit["p"] == pytest.approx(ref.pvalues[0], rel=1e-4)


def test_one_case_per_set_is_the_closed_form_for_two_sets():
    """Pairs with one case each: the score is a logistic one on case-minus-referent d."""
    fit = clogit([([1.0, 0.0], [1, 0]), ([0.0, 2.0], [0, 1]), ([3.0, 0.0], [0, 1])])
    # Score: sum of d_i * (y_i - p_i) with p_i = 1/(1+exp(-beta d_i)), d = (1, 2, -3).
    beta = -math.log(fit["or_per_degree_colder"])
    d = (1.0, 2.0, -3.0)
    score = sum(di * (1 - 1 / (1 + math.exp(-beta * di))) for di in d)
    assert abs(score) < 1e-9


def test_separation_colder_is_a_score_test_by_hand():
    sets = [([15.0, 17.0, 18.0], [1, 0, 0]), ([14.0, 16.0], [1, 0])]
    fit = clogit(sets)
    assert (fit["test"], fit["separation"], fit["or_per_degree_colder"]) == (
        "score",
        "colder",
        None,
    )
    assert fit["ci_low"] is None and fit["ci_high"] is None
    # U = (15 - 50/3) + (14 - 15); V = 1*2/(3*2) * sum dev^2 + 1*1/(2*1) * 2
    u = (15 - 50 / 3) + (14 - 15)
    v = (1 / 3) * ((15 - 50 / 3) ** 2 + (17 - 50 / 3) ** 2 + (18 - 50 / 3) ** 2) + 0.5 * 2
    assert fit["p"] == pytest.approx(2 * stats.norm.sf(abs(u) / math.sqrt(v)), rel=1e-12)


def test_separation_warmer_and_no_information():
    assert clogit([([15.0, 17.0], [0, 1]), ([14.0, 16.0, 16.5], [0, 1, 1])])["separation"] == (
        "warmer"
    )
    assert clogit([([17.0, 17.0], [0, 1]), ([16.0, 16.0, 16.0], [1, 0, 1])]) is None
    assert clogit([([17.0], [1]), ([16.0, 15.0], [1, 1])]) is None  # no set informative


def test_large_sets_and_large_coefficients_stay_finite():
    """Strata of 31 nights with 15 cramp nights, coefficient near 2: no overflow."""
    rng = random.Random(3)
    sets = []
    for _ in range(6):
        x = [rng.uniform(10, 25) for _ in range(31)]
        order = sorted(range(31), key=lambda i: x[i] + rng.gauss(0, 1.5))
        y = [0] * 31
        for i in order[:15]:
            y[i] = 1
        sets.append((x, y))
    fit = clogit(sets)
    ref = _statsmodels(sets)
    assert fit["or_per_degree_colder"] > 2
    assert fit["or_per_degree_colder"] == pytest.approx(math.exp(-ref.params[0]), rel=1e-5)
