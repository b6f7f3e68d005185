"""Conditional logistic regression with one covariate, as analysis-spec.md v3 names it.

The exact maximum of the conditional likelihood by Newton's method from beta = 0
(until |step| < 1e-10, at most 100 steps), a Wald interval and p; or, when every
informative set's cases sit on its smallest (or largest) values, no estimate at
all but the separation's direction and a score-test p.  Written here rather than
taken from statsmodels because the contract names the fit (statsmodels' default
optimiser stops short of 1e-4) and the separated case needs its own rule.

Each set's denominator is the elementary symmetric polynomial e_m of the weights
exp(beta * x), computed with its first two derivatives by the usual one-value-at-a-
time recursion, all sets at once (padded to the longest; a padding weight of 0
adds nothing), with x centred per set and the weights scaled so the largest is 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

TOL = 1e-10  # Newton stops when |step| is below this
MAX_STEPS = 100
SEPARATION_TOL = 1e-9  # T against T_lo / T_hi
Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Fit:
    """One fitted coefficient; `beta`/`se` are None when the fit is separated."""

    beta: float | None
    se: float | None
    p: float
    test: str  # "wald" | "score"
    separation: str | None  # "colder" (cases on the smallest x) | "warmer" | None
    steps: int = 0

    @property
    def odds_ratio_colder(self) -> float | None:
        """exp(-beta): the odds ratio per 1 unit lower x (per 1 °C colder)."""
        return None if self.beta is None else _exp(-self.beta)

    def as_json(self) -> dict:
        """The contract's FIT keys."""
        if self.beta is None or self.se is None:
            return {
                "or_per_degree_colder": None,
                "ci_low": None,
                "ci_high": None,
                "p": self.p,
                "test": self.test,
                "separation": self.separation,
            }
        return {
            "or_per_degree_colder": _exp(-self.beta),
            "ci_low": _exp(-(self.beta + Z95 * self.se)),
            "ci_high": _exp(-(self.beta - Z95 * self.se)),
            "p": self.p,
            "test": self.test,
            "separation": None,
        }


def _exp(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


@dataclass(frozen=True)
class _Sets:
    """Sets padded to one matrix: x centred per set, y 0/1, mask of real entries."""

    x: np.ndarray  # (S, N)
    y: np.ndarray  # (S, N)
    mask: np.ndarray  # (S, N) bool
    n: np.ndarray  # (S,)
    m: np.ndarray  # (S,)


def _pad(sets: Sequence[tuple[Sequence[float], Sequence[int]]]) -> _Sets:
    lengths = [len(xs) for xs, _ in sets]
    width = max(lengths, default=0)
    x = np.zeros((len(sets), width))
    y = np.zeros((len(sets), width))
    mask = np.zeros((len(sets), width), dtype=bool)
    for i, (xs, ys) in enumerate(sets):
        if len(xs) != len(ys):
            raise ValueError(f"set {i}: {len(xs)} values but {len(ys)} outcomes")
        k = len(xs)
        x[i, :k] = xs
        y[i, :k] = ys
        mask[i, :k] = True
    if not np.isfinite(x).all():
        raise ValueError("a value is not a finite number")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("an outcome is not 0 or 1")
    n = mask.sum(axis=1)
    m = (y * mask).sum(axis=1).astype(int)
    keep = (m > 0) & (m < n)  # a set of only cases or only controls has no information
    x, y, mask, n, m = x[keep], y[keep], mask[keep], n[keep], m[keep]
    mean = np.where(n > 0, (x * mask).sum(axis=1) / np.maximum(n, 1), 0.0)
    x = np.where(mask, x - mean[:, None], 0.0)
    return _Sets(x, y, mask, n, m)


def _separation(s: _Sets) -> str | bool | None:
    """ "colder" / "warmer" when T sits at its lowest / highest possible value; False when
    the data hold no information (T_lo == T_hi); None otherwise."""
    big = np.where(s.mask, s.x, np.inf)
    small = np.sort(big, axis=1)  # padding last
    ranks = np.arange(s.x.shape[1])[None, :]
    t_lo = np.where(ranks < s.m[:, None], small, 0.0).sum()
    desc = np.sort(np.where(s.mask, s.x, -np.inf), axis=1)[:, ::-1]
    t_hi = np.where(ranks < s.m[:, None], desc, 0.0).sum()
    t = (s.y * s.x).sum()
    if t_hi - t_lo < SEPARATION_TOL:
        return False
    if t - t_lo < SEPARATION_TOL:
        return "colder"
    if t_hi - t < SEPARATION_TOL:
        return "warmer"
    return None


def _score_p(s: _Sets) -> float:
    """Two-sided score test of beta = 0: U / sqrt(V), by the normal survival function."""
    u = (s.y * s.x).sum()
    ss = (s.x**2).sum(axis=1)
    n = s.n.astype(float)
    v = (s.m * (n - s.m) / (n * (n - 1)) * ss).sum()
    return float(2 * norm.sf(abs(u) / math.sqrt(v)))


def _derivatives(s: _Sets, beta: float) -> tuple[float, float]:
    """The log-likelihood's score and information at beta (summed over sets)."""
    bx = np.where(s.mask, beta * s.x, -np.inf)
    w = np.exp(bx - bx.max(axis=1, keepdims=True))  # largest weight 1, padding 0
    w1 = w * s.x
    w2 = w1 * s.x
    mmax = int(s.m.max())
    rows = len(s.m)
    e0 = np.zeros((rows, mmax + 1))
    e0[:, 0] = 1.0
    e1 = np.zeros_like(e0)
    e2 = np.zeros_like(e0)
    for j in range(s.x.shape[1]):
        a, a1, a2 = w[:, j, None], w1[:, j, None], w2[:, j, None]
        p0, p1, p2 = e0[:, :-1], e1[:, :-1], e2[:, :-1]
        n2 = e2[:, 1:] + a2 * p0 + 2 * a1 * p1 + a * p2
        n1 = e1[:, 1:] + a1 * p0 + a * p1
        n0 = e0[:, 1:] + a * p0
        e0[:, 1:], e1[:, 1:], e2[:, 1:] = n0, n1, n2
    idx = np.arange(rows)
    d0, d1, d2 = e0[idx, s.m], e1[idx, s.m], e2[idx, s.m]
    mean = d1 / d0
    var = d2 / d0 - mean**2
    score = float((s.y * s.x).sum() - mean.sum())
    info = float(var.sum())
    return score, info


def fit(sets: Sequence[tuple[Sequence[float], Sequence[int]]]) -> Fit | None:
    """Fit y on x within sets ((x values, 0/1 outcomes) per set); None by the spec's null
    rules: no information, Newton not converged in 100 steps, or a numeric failure."""
    try:
        s = _pad(sets)
    except ValueError:
        return None
    if not len(s.m):
        return None
    sep = _separation(s)
    if sep is False:
        return None
    if sep is not None:
        p = _score_p(s)
        return Fit(None, None, p, "score", sep) if math.isfinite(p) else None
    beta, steps, delta = 0.0, 0, math.inf
    with np.errstate(all="ignore"):
        while abs(delta) >= TOL:
            if steps == MAX_STEPS:
                return None
            score, info = _derivatives(s, beta)
            if not (math.isfinite(score) and math.isfinite(info) and info > 0):
                return None
            delta = score / info
            beta += delta
            steps += 1
        _, info = _derivatives(s, beta)
    if not (math.isfinite(beta) and math.isfinite(info) and info > 0):
        return None
    se = 1.0 / math.sqrt(info)
    p = float(2 * norm.sf(abs(beta) / se))
    return Fit(beta, se, p, "wald", None, steps)
