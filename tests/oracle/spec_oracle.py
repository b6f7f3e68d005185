"""The evidence contract re-implemented from the spec text alone (no monitor.* imports).

Written sentence by sentence from analysis-spec.md (version 2) without reading
monitor/analysis or monitor/nights.py, so that agreement between the two is evidence, not
an echo. Where the spec is ambiguous this file takes the most literal reading and says so
in a comment marked AMBIGUITY.
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats
from scipy.stats.contingency import relative_risk

BIN_MS = 300_000
HOUR_MS = 3_600_000


@dataclass
class Params:
    timezone: str
    night_start: str = "20:00"
    night_end: str = "08:00"
    min_coverage: float = 0.8
    cold_threshold_c: float = 18.0
    looks: tuple[int, ...] = (90, 180, 365, 730, 1095)
    alpha_per_look: float = 0.0158


@dataclass
class Night:
    day: date
    start_ms: int
    end_ms: int
    temps: list[float] = field(default_factory=list)
    bins: set[int] = field(default_factory=set)
    cramps: list[int] = field(default_factory=list)

    @property
    def n_bins(self) -> int:
        # ceil(night length / 300 s), exactly, in integer milliseconds
        return -(-(self.end_ms - self.start_ms) // BIN_MS)

    @property
    def coverage(self) -> float:
        return len(self.bins) / self.n_bins


def _instant_ms(text: str) -> int:
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        raise ValueError(f"no offset: {text!r}")
    # exact integer ms: avoid float timestamps
    delta = dt - datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def read_readings(path) -> list[tuple[int, float]]:
    """(ms, temperature); a later row with an instant already seen is the same row (dropped).

    AMBIGUITY: the spec says a row with the same instant as a *stored* one is the same row;
    within one file the first row wins here (the literal order of storing).
    """
    seen: dict[int, float] = {}
    with open(path, newline="") as fh:
        for rec in csv.DictReader(fh):
            ms = _instant_ms(rec["timestamp"])
            if ms not in seen:
                seen[ms] = float(rec["temperature_c"])
    return sorted(seen.items())


def read_cramps(path) -> list[int]:
    with open(path, newline="") as fh:
        return sorted({_instant_ms(rec["timestamp"]) for rec in csv.DictReader(fh)})


def _local_ms(day: date, clock: time, tz: ZoneInfo) -> int:
    """Local wall clock -> UTC ms; missing/doubled clock times as zoneinfo does (fold=0)."""
    dt = datetime.combine(day, clock, tzinfo=tz)
    return round(dt.timestamp() * 1000)


def _clock(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def build_nights(readings, cramps, p: Params) -> list[Night]:
    """Every night whose window could hold a reading; nights without readings are invalid."""
    tz = ZoneInfo(p.timezone)
    if not readings:
        return []
    first = datetime.fromtimestamp(readings[0][0] / 1000, tz).date() - timedelta(days=2)
    last = datetime.fromtimestamp(readings[-1][0] / 1000, tz).date() + timedelta(days=1)
    start_clock, end_clock = _clock(p.night_start), _clock(p.night_end)
    nights = []
    day = first
    while day <= last:
        # "The night of local date D runs from D at night_start to D+1 at night_end."
        # AMBIGUITY: when night_start < night_end the literal text still says D+1.
        nights.append(
            Night(
                day, _local_ms(day, start_clock, tz), _local_ms(day + timedelta(1), end_clock, tz)
            )
        )
        day += timedelta(days=1)
    times = np.array([r[0] for r in readings], dtype=np.int64)
    for n in nights:
        lo = np.searchsorted(times, n.start_ms, "left")
        hi = np.searchsorted(times, n.end_ms, "left")
        for i in range(lo, hi):
            ms, temp = readings[i]
            n.temps.append(temp)
            n.bins.add((ms - n.start_ms) // BIN_MS)
        n.cramps = [c for c in cramps if n.start_ms <= c < n.end_ms]
    return nights


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


class _Warned(Exception):
    pass


def _fit_quietly(fit):
    """Run fit(); None if it raises or emits a warning the spec lists (or any RuntimeWarning).

    AMBIGUITY: "a numeric RuntimeWarning (overflow, division by zero)" -- read here as any
    RuntimeWarning (invalid value included), since all are numeric trouble.
    """
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationWarning,
    )

    bad = (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning, RuntimeWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with np.errstate(all="warn"):
                res = fit()
        except Exception:
            return None
    if any(issubclass(w.category, bad) for w in caught):
        return None
    return res


def _or_block(res) -> dict | None:
    beta = float(np.asarray(res.params).ravel()[-1])
    lo, hi = (float(v) for v in np.asarray(res.conf_int()).reshape(-1, 2)[-1])
    p = float(np.asarray(res.pvalues).ravel()[-1])
    out = {
        "or_per_degree_colder": math.exp(-beta),
        "ci_low": math.exp(-hi),
        "ci_high": math.exp(-lo),
        "p": p,
    }
    if not all(math.isfinite(v) for v in out.values()):
        return None  # AMBIGUITY: the spec says nothing of NaN without a warning; JSON can't hold it
    return out


def exposure(times: np.ndarray, temps: np.ndarray, t_ms: int) -> float | None:
    """Mean of readings in [t - 60 min, t); defined when they fill >= 6 of 12 bins."""
    w0 = t_ms - HOUR_MS
    lo = np.searchsorted(times, w0, "left")
    hi = np.searchsorted(times, t_ms, "left")
    if hi <= lo:
        return None
    bins = {int((ms - w0) // BIN_MS) for ms in times[lo:hi]}
    if len(bins) < 6:
        return None
    # The mean exactly rounded once (math.fsum): nearly separated conditional logits turn
    # last-bit differences of summation order into 1e-4 differences of the interval.
    window = [float(v) for v in temps[lo:hi]]
    return math.fsum(window) / len(window)


def case_crossover(readings, valid_nights: list[Night], p: Params) -> dict | None:
    from statsmodels.discrete.conditional_models import ConditionalLogit

    tz = ZoneInfo(p.timezone)
    times = np.array([r[0] for r in readings], dtype=np.int64)
    temps = np.array([r[1] for r in readings], dtype=float)
    y, x, g = [], [], []
    used = 0
    cramps = sorted({c for n in valid_nights for c in n.cramps})  # a cramp may be in 2 nights
    for k, c in enumerate(cramps):
        e = exposure(times, temps, c)
        if e is None:
            continue
        local = datetime.fromtimestamp(c / 1000, tz)
        clock = local.time().replace(fold=0)  # wall clock incl. seconds; fold=0 for referents
        refs = []
        d = date(local.year, local.month, 1)
        while d.month == local.month:
            if d != local.date():
                # AMBIGUITY: referents need not lie in a (valid) night; only their exposure
                # must be defined.
                r = exposure(times, temps, _local_ms(d, clock, tz))
                if r is not None:
                    refs.append(r)
            d += timedelta(days=1)
        if not refs:
            continue
        used += 1
        y += [1] + [0] * len(refs)
        x += [e, *refs]
        g += [k] * (1 + len(refs))
    if used < 5:
        return None
    res = _fit_quietly(
        lambda: ConditionalLogit(np.array(y), np.array(x).reshape(-1, 1), groups=np.array(g)).fit()
    )
    if res is None:
        return None
    block = _or_block(res)
    return None if block is None else {"cramps": used, **block}


def seasonal(valid_nights: list[Night]) -> dict | None:
    """ "Seasonal comparison": conditional logit of cramp night on min_temp, strata = month of D.

    "Each valid night belongs to the stratum of its date D's local year and month" -- D is
    already a local date (the night of D), so the stratum is D's year and month as written.
    """
    from statsmodels.discrete.conditional_models import ConditionalLogit

    strata: dict[str, list[Night]] = {}
    for n in valid_nights:
        strata.setdefault(f"{n.day.year:04d}-{n.day.month:02d}", []).append(n)
    # "informative when it holds at least one cramp night and at least one night without"
    informative = {
        key: group
        for key, group in strata.items()
        if any(n.cramps for n in group) and any(not n.cramps for n in group)
    }
    if not informative:
        return None  # "Null when no stratum is informative"
    rows = [(key, n) for key, group in informative.items() for n in group]
    if sum(1 for _, n in rows if n.cramps) < 3:
        return None  # "when informative strata hold fewer than 3 cramp nights"
    names = sorted(informative)
    y = np.array([1 if n.cramps else 0 for _, n in rows])
    x = np.array([min(n.temps) for _, n in rows], dtype=float).reshape(-1, 1)
    g = np.array([names.index(key) for key, _ in rows])
    res = _fit_quietly(lambda: ConditionalLogit(y, x, groups=g).fit(disp=False))
    if res is None:
        return None
    block = _or_block(res)
    if block is None:
        return None
    return {"nights": len(rows), "strata": len(informative), **block}


def sequential(valid_nights: list[Night], p: Params) -> dict:
    """ "Looks and the verdict": the current look, and the seasonal comparison at it."""
    looks = list(p.looks)
    v = len(valid_nights)
    k = None  # "the last k with looks[k] <= V (1-based); there is none while V < looks[1]"
    for i, need in enumerate(looks, start=1):
        if need <= v:
            k = i
    if k is None:
        return {
            "looks": looks,
            "alpha_per_look": p.alpha_per_look,
            "look": None,
            "look_nights": None,
            "next_look_nights": looks[0],
            "at_look": None,
        }
    # "the first looks[k] valid nights in order of their date D, and to nothing else"
    first = sorted(valid_nights, key=lambda n: n.day)[: looks[k - 1]]
    return {
        "looks": looks,
        "alpha_per_look": p.alpha_per_look,
        "look": k,
        "look_nights": looks[k - 1],
        "next_look_nights": looks[k] if k < len(looks) else None,  # "null after the last"
        "at_look": seasonal(first),
    }


def analyze(readings, cramps, p: Params, now_ms: int) -> dict:
    """The contract dict for (ms, temp) readings and cramp instants (both UTC ms).

    now_ms is "the time of the analysis": a night that has not ended by then is never valid.
    AMBIGUITY: the spec does not say what that time is when files are analysed; the caller
    passes it (the tests pass the instant the product ran, or its newest reading when the
    data run ahead of the clock, which is what the product takes as the time).
    """
    import statsmodels.api as sm

    nights = build_nights(readings, cramps, p)
    valid = [
        n
        for n in nights
        if n.temps and n.coverage >= p.min_coverage and n.end_ms <= now_ms  # "has ended"
    ]
    cold = [min(n.temps) < p.cold_threshold_c for n in valid]
    cramp = [bool(n.cramps) for n in valid]
    a = sum(c and k for c, k in zip(cold, cramp, strict=True))
    b = sum(c and not k for c, k in zip(cold, cramp, strict=True))
    c_ = sum((not c) and k for c, k in zip(cold, cramp, strict=True))
    d = sum((not c) and not k for c, k in zip(cold, cramp, strict=True))
    out: dict = {
        "nights": {"valid": len(valid), "cramp": sum(cramp), "cold": sum(cold)},
        "cold_threshold_c": float(p.cold_threshold_c),
        "table": {"cold_cramp": a, "cold_no_cramp": b, "warm_cramp": c_, "warm_no_cramp": d},
    }
    if a + b == 0 or c_ + d == 0:
        out["fisher_p"] = None
        out["relative_risk"] = None
    else:
        out["fisher_p"] = float(stats.fisher_exact([[a, b], [c_, d]]).pvalue)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rr = relative_risk(a, a + b, c_, c_ + d)
            ci = rr.confidence_interval(0.95)
        out["relative_risk"] = {
            "estimate": _finite_or_none(rr.relative_risk),
            "ci_low": _finite_or_none(ci.low),
            "ci_high": _finite_or_none(ci.high),
        }
    mins = [min(n.temps) for n in valid]
    yes = [m for m, k in zip(mins, cramp, strict=True) if k]
    no = [m for m, k in zip(mins, cramp, strict=True) if not k]
    if yes and no:
        mw = stats.mannwhitneyu(yes, no)
        out["mann_whitney"] = {"u": float(mw.statistic), "p": float(mw.pvalue)}
    else:
        out["mann_whitney"] = None
    logistic = None
    if yes and no:
        endog = np.array(cramp, dtype=float)
        exog = sm.add_constant(np.array(mins, dtype=float), has_constant="add")
        res = _fit_quietly(lambda: sm.Logit(endog, exog).fit(disp=0))
        logistic = None if res is None else _or_block(res)
    out["logistic"] = logistic
    out["case_crossover"] = case_crossover(readings, valid, p)
    out["seasonal"] = seasonal(valid)
    seq = sequential(valid, p)
    out["sequential"] = seq
    at = seq["at_look"]
    if seq["look"] is None or at is None:
        verdict = "insufficient-data"
    elif at["p"] < seq["alpha_per_look"] and at["or_per_degree_colder"] > 1:
        verdict = "supports"
    elif at["p"] < seq["alpha_per_look"] and at["or_per_degree_colder"] < 1:
        verdict = "contradicts"
    else:
        verdict = "inconclusive"
    out["verdict"] = verdict
    return out


def analyze_files(readings_csv, cramps_csv, p: Params, now_ms: int) -> dict:
    return analyze(read_readings(readings_csv), read_cramps(cramps_csv), p, now_ms)


if __name__ == "__main__":  # python -m tests.oracle.spec_oracle R.csv C.csv TZ [NOW_MS]
    import json
    import sys
    import time as _time

    now = int(sys.argv[4]) if len(sys.argv) > 4 else _time.time_ns() // 1_000_000
    print(json.dumps(analyze_files(sys.argv[1], sys.argv[2], Params(sys.argv[3]), now), indent=1))
