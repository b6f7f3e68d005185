"""An independent implementation of the evidence contract, version 3 (shared/analysis-spec.md).

Written from the spec text alone, without reading the product's analysis code, so that the
product can be checked against it (tests/test_analysis_oracle.py) and so that example
outputs (examples/*/expected.json) do not come from the code under test. Plain and slow on
purpose: every rule is spelled out where the spec states it.
"""

from __future__ import annotations

import csv
import math
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats

CONTRACT = 3
BIN_MS = 300_000
HOUR_MS = 3_600_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Z975 = float(stats.norm.ppf(0.975))
LOOKS = (90, 180, 365, 730, 1095)
ALPHA_PER_LOOK = 0.0135


@dataclass(frozen=True)
class Params:
    timezone: str
    night_start: str = "20:00"
    night_end: str = "08:00"
    min_coverage: float = 0.8
    cold_threshold_c: float = 18.0
    looks: tuple[int, ...] = LOOKS
    alpha_per_look: float = ALPHA_PER_LOOK


# -- input ------------------------------------------------------------------------------


def to_ms(text: str) -> int:
    """An ISO 8601 instant (any offset, Z) as whole UTC milliseconds (truncated)."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {text!r}")
    return (dt - EPOCH) // timedelta(milliseconds=1)


def ms_text(ms: int) -> str:
    """The output's as_of: ISO 8601 UTC with milliseconds and Z."""
    dt = EPOCH + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def read_readings(path) -> list[tuple[int, float, float | None]]:
    """(ms, °C, %RH) sorted by time; a repeated instant keeps its first row (import rule)."""
    seen: dict[int, tuple[int, float, float | None]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            ms = to_ms(row["timestamp"])
            if ms not in seen:
                hum = row.get("humidity_pct") or ""
                seen[ms] = (ms, float(row["temperature_c"]), float(hum) if hum else None)
    return sorted(seen.values())


def read_cramps(path) -> list[int]:
    with open(path, newline="") as fh:
        return sorted({to_ms(row["timestamp"]) for row in csv.DictReader(fh)})


# -- nights -----------------------------------------------------------------------------


def _clock(text: str) -> clock_time:
    h, m = text.split(":")
    return clock_time(int(h), int(m))


def local_ms(day: date, clock: clock_time, tz: ZoneInfo) -> int:
    """A local date and wall-clock time as UTC ms; missing/doubled times as zoneinfo fold=0."""
    dt = datetime.combine(day, clock.replace(fold=0), tzinfo=tz)
    return (dt - EPOCH) // timedelta(milliseconds=1)


def local_date(ms: int, tz: ZoneInfo) -> date:
    return (EPOCH + timedelta(milliseconds=ms)).astimezone(tz).date()


@dataclass
class Night:
    day: date
    start_ms: int
    end_ms: int
    bins: set[int] = field(default_factory=set)
    temps: list[float] = field(default_factory=list)
    hums: list[float] = field(default_factory=list)
    cramps: list[int] = field(default_factory=list)
    valid: bool = False

    @property
    def n_bins(self) -> int:
        return -(-(self.end_ms - self.start_ms) // BIN_MS)

    @property
    def coverage(self) -> float:
        return len(self.bins) / self.n_bins

    @property
    def min_temp(self) -> float:
        return min(self.temps)

    @property
    def cramp(self) -> bool:
        return bool(self.cramps)


def visible(readings, cramps, as_of_ms: int | None):
    """What exists at as_of: rows stamped strictly after it are ignored."""
    if as_of_ms is None:
        return list(readings), list(cramps)
    return [r for r in readings if r[0] <= as_of_ms], [c for c in cramps if c <= as_of_ms]


def build_nights(readings, cramps, p: Params, as_of_ms: int | None = None) -> list[Night]:
    """Every night that holds a reading, with its bins, temperatures, cramps and validity."""
    readings, cramps = visible(readings, cramps, as_of_ms)
    if not readings:
        return []
    tz = ZoneInfo(p.timezone)
    start_c, end_c = _clock(p.night_start), _clock(p.night_end)
    first = local_date(readings[0][0], tz) - timedelta(days=2)
    last = local_date(readings[-1][0], tz) + timedelta(days=1)
    times = np.array([r[0] for r in readings], dtype=np.int64)
    nights = []
    d = first
    while d <= last:
        n = Night(d, local_ms(d, start_c, tz), local_ms(d + timedelta(days=1), end_c, tz))
        lo = int(np.searchsorted(times, n.start_ms, "left"))
        hi = int(np.searchsorted(times, n.end_ms, "left"))
        for ms, temp, hum in readings[lo:hi]:
            n.bins.add((ms - n.start_ms) // BIN_MS)
            n.temps.append(temp)
            if hum is not None:
                n.hums.append(hum)
        n.cramps = [c for c in cramps if n.start_ms <= c < n.end_ms]
        ended = as_of_ms is None or n.end_ms <= as_of_ms
        n.valid = bool(n.temps) and n.coverage >= p.min_coverage and ended
        if n.temps:
            nights.append(n)
        d += timedelta(days=1)
    return nights


# -- conditional logistic fits ------------------------------------------------------------


def _set_moments(x: np.ndarray, m: int, beta: float) -> tuple[float, float]:
    """Mean and variance of the sum of x over a size-m subset drawn with weight exp(beta*sum).

    Elementary symmetric polynomials by the usual recursion, with x centred and the weights
    scaled to at most 1, so nothing overflows.
    """
    xc = x - x.mean()
    z = beta * xc
    w = np.exp(z - z.max())
    f0 = np.zeros(m + 1)
    f1 = np.zeros(m + 1)
    f2 = np.zeros(m + 1)
    f0[0] = 1.0
    for wi, xi in zip(w, xc, strict=True):
        # k descending so that f[k-1] is still the value before this item
        f2[1:] = f2[1:] + wi * (f2[:-1] + 2 * xi * f1[:-1] + xi * xi * f0[:-1])
        f1[1:] = f1[1:] + wi * (f1[:-1] + xi * f0[:-1])
        f0[1:] = f0[1:] + wi * f0[:-1]
    mean = f1[m] / f0[m]
    return mean + m * x.mean(), f2[m] / f0[m] - mean * mean


def _score_info(sets, beta: float) -> tuple[float, float]:
    u = info = 0.0
    for x, y in sets:
        m = int(y.sum())
        if m == 0 or m == len(y):
            continue
        mean, var = _set_moments(x, m, beta)
        u += float((y * x).sum()) - mean
        info += var
    return u, info


def clogit(sets) -> dict | None:
    """FIT of one coefficient, as "Conditional logistic fits" says; None when null."""
    sets = [(np.asarray(x, float), np.asarray(y, float)) for x, y in sets]
    t = t_lo = t_hi = 0.0
    for x, y in sets:
        m = int(y.sum())
        xs = np.sort(x)
        t += float((y * x).sum())
        t_lo += float(xs[:m].sum())
        t_hi += float(xs[len(xs) - m :].sum()) if m else 0.0
    if t_hi - t_lo < 1e-9:
        return None
    side = "colder" if t - t_lo < 1e-9 else "warmer" if t_hi - t < 1e-9 else None
    if side:
        u = v = 0.0
        for x, y in sets:
            n, m = len(x), float(y.sum())
            if n < 2:
                continue
            dev = x - x.mean()
            u += float((y * dev).sum())
            v += m * (n - m) / (n * (n - 1)) * float((dev * dev).sum())
        p = 2 * stats.norm.sf(abs(u) / math.sqrt(v))
        return _fit(None, None, None, float(p), "score", side)
    beta = 0.0
    for _ in range(100):
        u, info = _score_info(sets, beta)
        if not (info > 0 and math.isfinite(info) and math.isfinite(u)):
            return None
        step = u / info
        beta += step
        if abs(step) < 1e-10:
            break
    else:
        return None
    _, info = _score_info(sets, beta)
    if not (info > 0 and math.isfinite(info)):
        return None
    se = 1 / math.sqrt(info)
    lo, hi = beta - Z975 * se, beta + Z975 * se
    p = float(2 * stats.norm.sf(abs(beta) / se))
    try:  # the fit "raises": only reachable when separation was not detected
        return _fit(math.exp(-beta), math.exp(-hi), math.exp(-lo), p, "wald", None)
    except OverflowError:
        return None


def _fit(odds, ci_low, ci_high, p, test, separation) -> dict:
    return {
        "or_per_degree_colder": odds,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p": p,
        "test": test,
        "separation": separation,
    }


# -- the seasonal comparison (single person and pooled) ------------------------------------


def half_month(day: date) -> tuple[int, int, int]:
    return (day.year, day.month, 1 if day.day <= 15 else 2)


def stratified_fit(keyed_nights) -> dict | None:
    """{nights, strata, FIT} over (stratum key, night) pairs; None when null."""
    strata: dict = {}
    for key, n in keyed_nights:
        strata.setdefault(key, []).append(n)
    informative = [
        g for g in strata.values() if any(n.cramp for n in g) and any(not n.cramp for n in g)
    ]
    if not informative:
        return None
    if sum(n.cramp for g in informative for n in g) < 3:
        return None
    sets = [([n.min_temp for n in g], [int(n.cramp) for n in g]) for g in informative]
    fit = clogit(sets)
    if fit is None:
        return None
    return {"nights": sum(len(g) for g in informative), "strata": len(informative), **fit}


def seasonal(valid_nights) -> dict | None:
    return stratified_fit((half_month(n.day), n) for n in valid_nights)


def sequential(ordered_valid, looks, alpha, fit_first) -> dict:
    """The looks block: the current look and the fit on the first looks[k] nights."""
    v = len(ordered_valid)
    k = 0
    for i, need in enumerate(looks, start=1):
        if need <= v:
            k = i
    return {
        "looks": list(looks),
        "alpha_per_look": alpha,
        "look": k or None,
        "look_nights": looks[k - 1] if k else None,
        "next_look_nights": looks[k] if k < len(looks) else None,
        "at_look": fit_first(ordered_valid[: looks[k - 1]]) if k else None,
    }


def verdict(seq: dict) -> str:
    at = seq["at_look"]
    if seq["look"] is None or at is None:
        return "insufficient-data"
    if at["p"] < seq["alpha_per_look"]:
        odds = at["or_per_degree_colder"]
        if at["separation"] == "colder" or (odds is not None and odds > 1):
            return "supports"
        if at["separation"] == "warmer" or (odds is not None and odds < 1):
            return "contradicts"
    return "inconclusive"


# -- crude night-level statistics ------------------------------------------------------------


def _finite(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def crude_logistic(mins: list[float], ys: list[int]) -> dict | None:
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationWarning,
    )

    if not any(ys) or all(ys):
        return None
    bad = (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning, RuntimeWarning)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = sm.Logit(np.asarray(ys, float), sm.add_constant(np.asarray(mins, float))).fit(
                disp=0
            )
            beta = float(res.params[1])
            lo, hi = (float(v) for v in np.asarray(res.conf_int())[1])
            p = float(np.asarray(res.pvalues)[1])
    except Exception:
        return None
    if any(issubclass(w.category, bad) for w in caught):
        return None
    try:
        out = {
            "or_per_degree_colder": math.exp(-beta),
            "ci_low": math.exp(-hi),
            "ci_high": math.exp(-lo),
            "p": p,
        }
    except OverflowError:
        return None
    return out if all(math.isfinite(v) for v in out.values()) else None


def crude(valid, p: Params) -> dict:
    cold = [n.min_temp < p.cold_threshold_c for n in valid]
    a = sum(1 for n, c in zip(valid, cold, strict=True) if c and n.cramp)
    b = sum(1 for n, c in zip(valid, cold, strict=True) if c and not n.cramp)
    c_ = sum(1 for n, c in zip(valid, cold, strict=True) if not c and n.cramp)
    d = sum(1 for n, c in zip(valid, cold, strict=True) if not c and not n.cramp)
    out: dict = {
        "table": {"cold_cramp": a, "cold_no_cramp": b, "warm_cramp": c_, "warm_no_cramp": d},
        "fisher_p": None,
        "relative_risk": None,
        "mann_whitney": None,
    }
    if a + b and c_ + d:
        out["fisher_p"] = float(stats.fisher_exact([[a, b], [c_, d]]).pvalue)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rr = stats.contingency.relative_risk(a, a + b, c_, c_ + d)
            ci = rr.confidence_interval(0.95)
        out["relative_risk"] = {
            "estimate": _finite(rr.relative_risk),
            "ci_low": _finite(ci.low),
            "ci_high": _finite(ci.high),
        }
    yes = [n.min_temp for n in valid if n.cramp]
    no = [n.min_temp for n in valid if not n.cramp]
    if yes and no:
        mw = stats.mannwhitneyu(yes, no)
        out["mann_whitney"] = {"u": float(mw.statistic), "p": float(mw.pvalue)}
    out["logistic"] = crude_logistic([n.min_temp for n in valid], [int(n.cramp) for n in valid])
    return out


# -- case-crossover ------------------------------------------------------------------------


def exposure(times: np.ndarray, temps: np.ndarray, t_ms: int) -> float | None:
    """Mean temperature in [t - 60 min, t), defined with readings in >= 6 of its 12 bins."""
    lo = int(np.searchsorted(times, t_ms - HOUR_MS, "left"))
    hi = int(np.searchsorted(times, t_ms, "left"))
    if hi <= lo:
        return None
    bins = {(int(ms) - (t_ms - HOUR_MS)) // BIN_MS for ms in times[lo:hi]}
    if len(bins) < 6:
        return None
    return math.fsum(temps[lo:hi]) / (hi - lo)


def case_crossover(readings, valid_nights, p: Params) -> dict | None:
    tz = ZoneInfo(p.timezone)
    times = np.array([r[0] for r in readings], dtype=np.int64)
    temps = np.array([r[1] for r in readings], dtype=float)
    cramps = sorted({c for n in valid_nights for c in n.cramps})
    sets = []
    for c in cramps:
        case = exposure(times, temps, c)
        if case is None:
            continue
        local = (EPOCH + timedelta(milliseconds=c)).astimezone(tz)
        clock = local.timetz().replace(tzinfo=None, fold=0)
        refs = []
        d = date(local.year, local.month, 1)
        while d.month == local.month:
            if d != local.date():
                r = exposure(times, temps, local_ms(d, clock, tz))
                if r is not None:
                    refs.append(r)
            d += timedelta(days=1)
        if refs:
            sets.append(([case, *refs], [1] + [0] * len(refs)))
    if len(sets) < 5:
        return None
    fit = clogit(sets)
    return None if fit is None else {"cramps": len(sets), **fit}


# -- the report ----------------------------------------------------------------------------


def default_as_of(readings) -> int:
    """The earlier of the clock and the newest reading (the clock when there is none)."""
    now = time.time_ns() // 1_000_000
    return min(now, max(r[0] for r in readings)) if readings else now


def as_of_ms(value) -> int:
    """as_of as whole milliseconds: an int of ms, or ISO 8601 text (truncated)."""
    return to_ms(value) if isinstance(value, str) else int(value)


def analyze(readings, cramps, p: Params, as_of=None) -> dict:
    at = default_as_of(readings) if as_of is None else as_of_ms(as_of)
    readings, cramps = visible(readings, cramps, at)
    nights = build_nights(readings, cramps, p, at)
    valid = sorted((n for n in nights if n.valid), key=lambda n: n.day)
    out: dict = {
        "contract": CONTRACT,
        "as_of": ms_text(at),
        "nights": {
            "valid": len(valid),
            "cramp": sum(n.cramp for n in valid),
            "cold": sum(n.min_temp < p.cold_threshold_c for n in valid),
        },
        "cold_threshold_c": float(p.cold_threshold_c),
    }
    out.update(crude(valid, p))
    out["case_crossover"] = case_crossover(readings, valid, p)
    out["seasonal"] = seasonal(valid)
    out["sequential"] = sequential(valid, p.looks, p.alpha_per_look, seasonal)
    out["verdict"] = verdict(out["sequential"])
    return out


def analyze_files(readings_path, cramps_path, p: Params, as_of=None) -> dict:
    """The contract JSON for one person's import files (the harness's entry point)."""
    return analyze(read_readings(Path(readings_path)), read_cramps(Path(cramps_path)), p, as_of)
