"""The trial's statistics, exact and in pure Python (the web process shows them; no scipy).

Only *discordant* pairs carry information about the arms: b pairs with a cramp on
the usual night only, c with a cramp on the warm night only.  Under "warmth makes
no difference" each discordant pair is equally likely to go either way, so b given
b + c is Binomial(b + c, ½) (McNemar's test).

- :func:`mid_p_half` — the two-sided **mid-p** McNemar test, the trial's `p` and the
  one its verdict uses: 2·[P(X ≤ m) − ½·P(X = m)], m = min(b, c), capped at 1.  The
  exact test is needlessly conservative (its actual size is 1.2-1.8% against a
  nominal 2.5% per side); the mid-p test keeps close to the nominal level
  (Fagerland, Lydersen & Laake, BMC Med Res Methodol 2013;13:91).
- :func:`binom_test_half` — the two-sided exact p (`p_exact`, shown too), the same number as
  ``scipy.stats.binomtest(b, b + c, 0.5).pvalue`` (tests/test_trial_stats.py checks
  it over a grid): with p = ½ the distribution is symmetric, so the p-value is
  2·P(X ≤ min(b, c)), capped at 1, computed here in exact integers.
- :func:`clopper_pearson` — the exact (Clopper–Pearson) interval of b/(b + c):
  the π where P(X ≥ b; π) and P(X ≤ b; π) reach α/2, found by bisection on the
  binomial tails; the same as ``binomtest(...).proportion_ci(method="exact")``.
- :func:`comparison` — p, the odds ratio b/c and its interval (the interval of
  π mapped through π/(1 − π)).
- :func:`power` — the exact chance that a design of K pairs ends with the verdict
  "warm helped", under a stated model (docs/trial.md): each night is a cramp night
  independently, with probability ``p_usual`` on usual nights and ``p_warm`` on
  warm nights.  A pair is discordant with probability
  q = p_u(1 − p_w) + p_w(1 − p_u), so D ~ Binomial(K, q); given D = d, b ~
  Binomial(d, θ) with θ = p_u(1 − p_w)/q; the verdict needs mid-p < α and b > c.
  Power = Σ_d P(D = d) · P(b ≥ b*(d) | d), b*(d) the smallest b > d/2 rejecting.
- :func:`plan_power` — what the start screen shows: that chance for a plan's nights
  and the person's own cramp rate, if warm nights halve it.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

ALPHA = 0.05


def binom_test_half(k: int, n: int) -> float:
    """Two-sided exact binomial test of k successes out of n at ½."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    if 2 * k == n:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1))
    return min(1.0, float(Fraction(2 * tail, 2**n)))


def mid_p_half(k: int, n: int) -> float:
    """Two-sided mid-p of k successes out of n at ½: the exact p less P(X = k)
    (2·[P(X <= m) - P(X = m)/2], m = min(k, n - k)); 1 when k = n/2 or n = 0."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0 or 2 * k == n:
        return 1.0
    m = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(m + 1))
    return min(1.0, float(Fraction(2 * tail - math.comb(n, m), 2**n)))


# -- binomial tails in floating point (for intervals and power) -------------------------------


def _log_pmf(i: int, n: int, p: float) -> float:
    return math.log(math.comb(n, i)) + i * math.log(p) + (n - i) * math.log1p(-p)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return min(1.0, math.fsum(math.exp(_log_pmf(i, n, p)) for i in range(k + 1)))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p) (note: at least k, not more than k)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return min(1.0, math.fsum(math.exp(_log_pmf(i, n, p)) for i in range(k, n + 1)))


def _bisect(f, target: float, increasing: bool) -> float:
    """The π in (0, 1) where the monotone f(π) crosses target, to a relative 1e-15."""
    lo, hi = 0.0, 1.0
    for _ in range(2000):
        mid = (lo + hi) / 2
        if mid in (lo, hi) or hi - lo <= 1e-15 * hi:
            break
        if (f(mid) < target) == increasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact interval of a proportion k/n: (0 when k = 0, 1 when k = n)."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    a = (1 - confidence) / 2
    low = 0.0 if k == 0 else _bisect(lambda p: binom_sf(k, n, p), a, increasing=True)
    high = 1.0 if k == n else _bisect(lambda p: binom_cdf(k, n, p), a, increasing=False)
    return low, high


def _odds(pi: float) -> float | None:
    """π/(1 − π), or None where that is 0 or infinite."""
    if pi <= 0.0 or pi >= 1.0:
        return None
    return pi / (1 - pi)


@functools.lru_cache(maxsize=4096)
def _comparison(b: int, c: int) -> tuple:
    n = b + c
    if n == 0:
        return None, None, None, None, None
    low, high = clopper_pearson(b, n)
    p, exact = mid_p_half(b, n), binom_test_half(b, n)
    return p, exact, (b / c if c else None), _odds(low), _odds(high)


COMPARISON_KEYS = ("p", "p_exact", "odds_ratio", "ci_low", "ci_high")


def comparison(b: int, c: int) -> dict:
    """``{"p", "p_exact", "odds_ratio", "ci_low", "ci_high"}`` for b usual-only and c
    warm-only pairs: p the mid-p test's (the verdict's), p_exact the exact test's.

    All None when b + c = 0; the odds ratio b/c is None when c = 0 (infinite); a bound
    is None where it is 0 or infinite.
    """
    if b < 0 or c < 0:
        raise ValueError("counts of pairs cannot be negative")
    return dict(zip(COMPARISON_KEYS, _comparison(b, c), strict=True))


def verdict_of(b: int, c: int, p: float | None, alpha: float = ALPHA) -> str:
    """For a trial whose every pair has ended (too-early and stopped-early are decided
    by the caller); p is the mid-p test's."""
    if p is not None and p < alpha and b != c:
        return "warm-helped" if b > c else "warm-worse"
    return "no-difference"


# -- power ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def rejection_start(d: int, alpha: float = ALPHA) -> int | None:
    """The smallest b > d/2 whose mid-p test gives p < alpha (so "warm helped"), or None."""
    for b in range(d // 2 + 1, d + 1):
        if 2 * b > d and mid_p_half(b, d) < alpha:
            return b
    return None


def _discordant_model(p_usual: float, p_warm: float) -> tuple[float, float]:
    """(q, θ): the chance a pair is discordant, and that a discordant pair is usual-only."""
    if not (0 <= p_usual <= 1 and 0 <= p_warm <= 1):
        raise ValueError("probabilities from 0 to 1")
    pb = p_usual * (1 - p_warm)  # a cramp on the usual night only
    pc = p_warm * (1 - p_usual)  # on the warm night only
    q = pb + pc
    return q, (pb / q if q > 0 else 0.5)


@functools.lru_cache(maxsize=64)
def _given_discordant(most: int, theta: float, alpha: float) -> tuple[tuple[float, float], ...]:
    """For d = 0..most discordant pairs: (P(warm-helped | d), P(warm-worse | d))."""
    out = [(0.0, 0.0)]
    for d in range(1, most + 1):
        start = rejection_start(d, alpha)
        if start is None:
            out.append((0.0, 0.0))
        else:  # c >= start  <=>  b <= d - start
            out.append((binom_sf(start, d, theta), binom_cdf(d - start, d, theta)))
    return tuple(out)


def _pmf(d: int, k: int, q: float) -> float:
    if q <= 0.0:
        return float(d == 0)
    if q >= 1.0:
        return float(d == k)
    return math.exp(_log_pmf(d, k, q))


def detect_probabilities(
    pairs: int, p_usual: float, p_warm: float, alpha: float = ALPHA
) -> tuple[float, float]:
    """(P(verdict warm-helped), P(verdict warm-worse)) of a finished trial of ``pairs``
    pairs under the model in the module doc; exact sums, no simulation."""
    if pairs < 0:
        raise ValueError("pairs must be 0 or more")
    q, theta = _discordant_model(p_usual, p_warm)
    given = _given_discordant(pairs, theta, alpha)
    weights = [_pmf(d, pairs, q) for d in range(pairs + 1)]
    helped = math.fsum(w * g[0] for w, g in zip(weights, given, strict=True))
    worse = math.fsum(w * g[1] for w, g in zip(weights, given, strict=True))
    return min(1.0, helped), min(1.0, worse)


def power(pairs: int, p_usual: float, p_warm: float, alpha: float = ALPHA) -> float:
    """The chance that the trial ends with "warm helped" (see detect_probabilities)."""
    return detect_probabilities(pairs, p_usual, p_warm, alpha)[0]


PLAN_EFFECT = 0.5  # the start screen's chance: if warm nights halve the cramp nights


def plan_power(nights: int, cramp_rate: float, effect: float = PLAN_EFFECT) -> float:
    """The chance a plan of ``nights`` ends with "warm helped" for a person whose nights
    bring cramps at ``cramp_rate``, if warm nights cut that rate to ``effect`` times it
    (the start screen shows it; below 50% it asks to confirm)."""
    if not 0 <= cramp_rate <= 1:
        raise ValueError(f"a cramp rate is from 0 to 1, got {cramp_rate}")
    return power(nights // 2, cramp_rate, cramp_rate * effect)


def pairs_for_power(
    target: float, p_usual: float, p_warm: float, alpha: float = ALPHA, most: int = 183
) -> int | None:
    """The fewest pairs whose power reaches target (None within ``most`` pairs).

    Power is not monotone in the pairs for a discrete test (it saw-tooths), so this is
    the first length that reaches it, not one beyond which it always holds.
    """
    q, theta = _discordant_model(p_usual, p_warm)
    given = _given_discordant(most, theta, alpha)
    for k in range(1, most + 1):
        helped = math.fsum(_pmf(d, k, q) * given[d][0] for d in range(k + 1))
        if helped >= target:
            return k
    return None
