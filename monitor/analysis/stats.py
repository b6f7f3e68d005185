"""The evidence: does a cold room predict this person's cramps?

Implements /work/shared/analysis-spec.md (version 3) exactly (the contract keys),
with the libraries it names: scipy for Fisher, the relative risk (Katz interval)
and Mann-Whitney U; statsmodels for the crude logistic regression; the contract's
own conditional logistic fit (monitor/analysis/clogit.py: Newton, separation, score
test) for the seasonal comparison (nights within their half-month, the primary
analysis, tested at planned looks) and the time-stratified case-crossover.  Extras
(humidity, power and nights needed from the seasonal model's standard error,
dose-response, remedies, a plain sentence) are extra keys.

Everything is computed as of one instant, `as_of` (an input, recorded in the
output): rows stamped after it do not exist for the analysis, and a night counts
only once it ended by then.  `analyze()` gathers inputs from the store (night
summaries through the stored cache, cramp-level exposures through SQLite
aggregates); `build_report()` is a pure function of those inputs.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from scipy.stats import fisher_exact, mannwhitneyu
from scipy.stats.contingency import relative_risk
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
)

from monitor.analysis import clogit
from monitor.analysis.reports import CONTRACT, power_reason, verdict_sentence
from monitor.clock import iso_ms
from monitor.config import DEFAULT_LOOK_ALPHA, DEFAULT_LOOKS, Config
from monitor.nights import (
    NightParams,
    NightSummary,
    default_as_of,
    local_date,
    night_summaries,
)
from monitor.store import Cramp, Store

EXPOSURE_MS = 3_600_000  # the hour before an instant
EXPOSURE_BIN_MS = 300_000
EXPOSURE_MIN_BINS = 6  # of twelve
MIN_SEASONAL_CRAMP_NIGHTS = 3  # in informative strata
MIN_CC_CRAMPS = 5
# CONTRACT: the version of analysis-spec.md the output follows (monitor.analysis.reports)
ALPHA = 0.05  # the 95% intervals
POWER = 0.8  # for nights-needed figures
TARGET_ORS = (1.3, 1.5)  # odds ratios per °C colder the nights-needed figures are for

_FAILING_WARNINGS = (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
    RuntimeWarning,
)


@dataclass(frozen=True)
class LookPlan:
    """The planned looks (numbers of valid nights) and the two-sided level of each."""

    looks: tuple[int, ...] = DEFAULT_LOOKS
    alpha: float = DEFAULT_LOOK_ALPHA

    @classmethod
    def from_config(cls, config: Config) -> LookPlan:
        return cls(tuple(config.analysis.looks), float(config.analysis.look_alpha))


@dataclass(frozen=True)
class SeasonalFit:
    """The seasonal comparison's contract block and the standard error of its beta
    (None when the fit is separated: there is no finite estimate)."""

    block: dict
    se: float | None


@dataclass(frozen=True)
class CrossoverSet:
    """One cramp: its exposure and those of its referents (defined ones only)."""

    cramp_ms: int
    case: float
    referents: list[float] = field(default_factory=list)


# -- helpers ---------------------------------------------------------------------------


def _num(x) -> float | None:
    """A finite Python float, or None (JSON has no NaN/Infinity)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _guarded_fit(fit):
    """Run a fit; None when it raises or emits a warning the spec counts as failure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", divide="warn", invalid="warn"):
            try:
                result = fit()
            except Exception:
                return None
    if any(issubclass(w.category, _FAILING_WARNINGS) for w in caught):
        return None
    return result


def _or_colder(beta: float, lo: float, hi: float, p: float) -> dict | None:
    """exp(-beta) and its flipped interval; None if any part is not a finite number."""
    values = {
        "or_per_degree_colder": _exp_guard(-beta),
        "ci_low": _exp_guard(-hi),
        "ci_high": _exp_guard(-lo),
        "p": p,
    }
    if not all(math.isfinite(v) for v in values.values()):
        return None
    return values


def _exp_guard(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


# -- night-level statistics -------------------------------------------------------------


def contingency(valid: list[NightSummary], threshold: float) -> dict:
    a = sum(1 for n in valid if n.min_temp_c < threshold and n.cramps > 0)
    b = sum(1 for n in valid if n.min_temp_c < threshold and n.cramps == 0)
    c = sum(1 for n in valid if not n.min_temp_c < threshold and n.cramps > 0)
    d = sum(1 for n in valid if not n.min_temp_c < threshold and n.cramps == 0)
    return {"cold_cramp": a, "cold_no_cramp": b, "warm_cramp": c, "warm_no_cramp": d}


def fisher_p(table: dict) -> float | None:
    a, b, c, d = table.values()
    if a + b == 0 or c + d == 0:
        return None
    return _num(fisher_exact([[a, b], [c, d]], alternative="two-sided")[1])


def risk_ratio(table: dict) -> dict | None:
    a, b, c, d = table.values()
    if a + b == 0 or c + d == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with np.errstate(all="ignore"):
            result = relative_risk(a, a + b, c, c + d)
            ci = result.confidence_interval(confidence_level=0.95)
    return {
        "estimate": _num(result.relative_risk),
        "ci_low": _num(ci.low),
        "ci_high": _num(ci.high),
    }


def mann_whitney(valid: list[NightSummary]) -> dict | None:
    cramp = [n.min_temp_c for n in valid if n.cramps > 0]
    other = [n.min_temp_c for n in valid if n.cramps == 0]
    if not cramp or not other:
        return None
    result = mannwhitneyu(cramp, other)
    u, p = _num(result.statistic), _num(result.pvalue)
    if u is None or p is None:
        return None
    return {"u": u, "p": p}


def _logit(y: list[int], x: list[float]):
    """Logit of y on x with an intercept: (beta, ci_lo, ci_hi, p) of x, or None."""
    if not any(y) or all(y) or len(y) < 2:
        return None
    exog = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)])
    endog = np.asarray(y, dtype=float)
    result = _guarded_fit(lambda: Logit(endog, exog).fit(disp=0))
    if result is None:
        return None
    try:
        beta = float(result.params[1])
        lo, hi = (float(v) for v in np.asarray(result.conf_int(alpha=ALPHA))[1])
        p = float(result.pvalues[1])
    except Exception:
        return None
    if not all(math.isfinite(v) for v in (beta, lo, hi, p)):
        return None
    return beta, lo, hi, p


def logistic(valid: list[NightSummary]) -> dict | None:
    fit = _logit([int(n.cramps > 0) for n in valid], [n.min_temp_c for n in valid])
    return _or_colder(*fit) if fit else None


def humidity_logistic(valid: list[NightSummary]) -> dict | None:
    """Extra: the same regression on mean night humidity (odds ratio per 1 % more humid)."""
    nights = [n for n in valid if n.mean_humidity_pct is not None]
    fit = _logit([int(n.cramps > 0) for n in nights], [n.mean_humidity_pct for n in nights])
    if fit is None:
        return None
    beta, lo, hi, p = fit
    values = {
        "nights": len(nights),
        "or_per_pct_more_humid": _exp_guard(beta),
        "ci_low": _exp_guard(lo),
        "ci_high": _exp_guard(hi),
        "p": p,
    }
    return values if all(math.isfinite(v) for v in values.values()) else None


# -- case-crossover ---------------------------------------------------------------------------


def exposure(store: Store, node: str, t_ms: int, as_of_ms: int | None = None) -> float | None:
    """Mean temperature in [t - 60 min, t); None unless >= 6 of its 12 5-minute bins hold data.

    Readings stamped after `as_of_ms` do not exist (a referent may lie after it).  The mean
    is exactly rounded (math.fsum): in a nearly separated conditional logit a last-bit
    difference in an exposure moves the interval visibly.
    """
    lo = t_ms - EXPOSURE_MS
    hi = t_ms if as_of_ms is None else min(t_ms, as_of_ms + 1)
    rows = store.temperatures(node, lo, hi) if hi > lo else []
    if len({(ts - lo) // EXPOSURE_BIN_MS for ts, _ in rows}) < EXPOSURE_MIN_BINS:
        return None
    return math.fsum(temp for _, temp in rows) / len(rows)


def referent_instants(t_ms: int, timezone: str) -> list[int]:
    """Same local clock time on every other local date of the cramp's local month (fold=0)."""
    tz = ZoneInfo(timezone)
    local = datetime.fromtimestamp(t_ms // 1000, tz=tz)
    ms = t_ms % 1000
    first = local.date().replace(day=1)
    out = []
    d = first
    while d.month == first.month:
        if d != local.date():
            ref = datetime.combine(d, local.time().replace(microsecond=0, fold=0), tzinfo=tz)
            out.append(int(ref.timestamp()) * 1000 + ms)
        d += timedelta(days=1)
    return out


def _in_valid_night(ts: int, windows: dict[date, tuple[int, int]], params: NightParams) -> bool:
    """In the window of a valid night (either candidate, should custom windows overlap)."""
    local = local_date(ts, params)
    for d in (local, local - timedelta(days=1)):
        w = windows.get(d)
        if w is not None and w[0] <= ts < w[1]:
            return True
    return False


def crossover_sets(
    store: Store,
    node: str,
    params: NightParams,
    valid: list[NightSummary],
    cramps: list[Cramp],
    as_of_ms: int | None = None,
) -> list[CrossoverSet]:
    """One set per cramp in a valid night with a defined exposure and >= 1 defined referent."""
    windows = {n.night: (n.start_ms, n.end_ms) for n in valid}
    sets = []
    for c in cramps:
        if not _in_valid_night(c.ts_ms, windows, params):
            continue
        case = exposure(store, node, c.ts_ms, as_of_ms)
        if case is None:
            continue
        refs = [
            exposure(store, node, t, as_of_ms) for t in referent_instants(c.ts_ms, params.timezone)
        ]
        refs = [r for r in refs if r is not None]
        if refs:
            sets.append(CrossoverSet(c.ts_ms, case, refs))
    return sets


def case_crossover(sets: list[CrossoverSet]) -> dict | None:
    """Case (1) against its referents (0), one set per cramp; None under 5 cramps or by the
    fit's null rules."""
    if len(sets) < MIN_CC_CRAMPS:
        return None
    fit = clogit.fit([([s.case, *s.referents], [1] + [0] * len(s.referents)) for s in sets])
    return None if fit is None else {"cramps": len(sets), **fit.as_json()}


# -- the seasonal comparison and the planned looks --------------------------------------------


def stratum(n: NightSummary) -> tuple[int, int, int]:
    """A night's stratum: its date D's year, month and half (days 1-15, 16 to the end; the
    night of 31 January is in the second half of January)."""
    return n.night.year, n.night.month, 0 if n.night.day <= 15 else 1


def informative_strata(valid: list[NightSummary]) -> list[list[NightSummary]]:
    """The strata holding both a cramp night and a night without, each as its nights."""
    by: dict[tuple[int, int, int], list[NightSummary]] = {}
    for n in valid:
        by.setdefault(stratum(n), []).append(n)
    return [
        group
        for group in by.values()
        if any(n.cramps > 0 for n in group) and any(n.cramps == 0 for n in group)
    ]


def informative_nights(valid: list[NightSummary]) -> tuple[list[NightSummary], int]:
    """Nights of the informative strata, and how many strata."""
    kept = informative_strata(valid)
    return [n for group in kept for n in group], len(kept)


def seasonal_fit(valid: list[NightSummary]) -> SeasonalFit | None:
    """Conditional logit of cramp night on min_temp within half-months; None by the null rules."""
    return fit_strata(informative_strata(valid))


def fit_strata(groups: list[list[NightSummary]]) -> SeasonalFit | None:
    """The seasonal comparison's fit over informative strata (one set each); None by the
    null rules.  The pooled study passes every person's own half-months."""
    cramp_nights = sum(1 for g in groups for n in g if n.cramps > 0)
    if not groups or cramp_nights < MIN_SEASONAL_CRAMP_NIGHTS:
        return None
    fit = clogit.fit([([n.min_temp_c for n in g], [int(n.cramps > 0) for n in g]) for g in groups])
    if fit is None:
        return None
    nights = sum(len(g) for g in groups)
    return SeasonalFit({"nights": nights, "strata": len(groups), **fit.as_json()}, fit.se)


def current_look(n_valid: int, looks: tuple[int, ...]) -> int | None:
    """The 1-based index of the last look reached with n_valid valid nights, or None."""
    reached = [k for k, need in enumerate(looks, start=1) if need <= n_valid]
    return reached[-1] if reached else None


def by_date(valid: list[NightSummary]) -> list[NightSummary]:
    return sorted(valid, key=lambda n: n.night)


def sequential(valid: list[NightSummary], plan: LookPlan) -> dict:
    """The `sequential` block: the current look and the seasonal comparison at it.

    At look k the comparison sees exactly the first looks[k] valid nights by date, so
    nights added after a look move the running figures, never the verdict.
    """
    ordered = by_date(valid)

    def first(n: int) -> dict | None:
        at = seasonal_fit(ordered[:n])
        return at.block if at else None

    return look_block(len(valid), tuple(plan.looks), plan.alpha, first)


def look_block(
    n_valid: int, looks: tuple[int, ...], alpha: float, fit_first: Callable[[int], dict | None]
) -> dict:
    """The `sequential` block for n_valid nights: the current look, and ``fit_first(N)``
    (the comparison on the first N nights in the looks' order) at it.  One person's and the
    pooled study's looks differ only in their order and their fit."""
    k = current_look(n_valid, looks)
    return {
        "looks": list(looks),
        "alpha_per_look": float(alpha),
        "look": k,
        "look_nights": looks[k - 1] if k else None,
        "next_look_nights": (looks[k] if k < len(looks) else None) if k else looks[0],
        "at_look": fit_first(looks[k - 1]) if k else None,
    }


def verdict(seq: dict) -> str:
    """From the look alone: a firm answer needs at_look.p below the per-look level, its
    direction from the odds ratio or, when the fit is separated, from the separation."""
    at = seq.get("at_look")
    if seq.get("look") is None or at is None:
        return "insufficient-data"
    if at["p"] < seq["alpha_per_look"]:
        odds, side = at.get("or_per_degree_colder"), at.get("separation")
        if side == "colder" or (odds is not None and odds > 1):
            return "supports"
        if side == "warmer" or (odds is not None and odds < 1):
            return "contradicts"
    return "inconclusive"


def look_detail(valid: list[NightSummary], seq: dict) -> dict | None:
    """Extra: what the look saw, so a null at_look can be explained in words."""
    if seq["look"] is None:
        return None
    first = by_date(valid)[: seq["look_nights"]]
    nights, strata = informative_nights(first)
    in_informative = sum(1 for n in nights if n.cramps > 0)
    if seq["at_look"] is not None:
        status = "fitted"
    elif in_informative < MIN_SEASONAL_CRAMP_NIGHTS:
        status = "too-few-cramp-nights"
    else:
        status = "fit-failed"
    return {
        "nights": len(first),
        "cramp_nights": sum(1 for n in first if n.cramps > 0),
        "informative_strata": strata,
        "cramp_nights_in_informative_strata": in_informative,
        "status": status,
    }


# -- extras: power and nights needed ---------------------------------------------------------


def _tag(target: float) -> str:
    return f"{target:g}".replace(".", "_")


def power(n_valid: int, fit: SeasonalFit | None, seq: dict) -> dict:
    """Nights needed from the standard error of the model the verdict uses.

    The seasonal fit on n_valid valid nights has standard error se for beta, so one
    valid night carries about 1 / (n_valid se^2) of information (non-informative
    months included, at the rate they have occurred).  A two-sided test at the
    per-look level with POWER for log odds ratio b then needs
    n = (z_{1-a/2} + z_{POWER})^2 / (info per night * b^2) valid nights, decided at
    the first planned look at or after n.
    """
    alpha = seq["alpha_per_look"]
    looks = seq["looks"]
    nxt = seq["next_look_nights"]
    z = statistics.NormalDist()
    k = z.inv_cdf(1 - alpha / 2) + z.inv_cdf(POWER)
    out: dict = {
        "model": "seasonal",
        "power": POWER,
        "alpha_per_look": alpha,
        "nights": n_valid,
        "se_log_or": None,
        "smallest_detectable_or_per_degree": None,
    }
    for t in TARGET_ORS:
        out[f"nights_for_or_{_tag(t)}"] = None
        out[f"look_for_or_{_tag(t)}"] = None
    out["nights_to_next_look"] = nxt - n_valid if nxt is not None else None
    if fit is not None and fit.se is not None and fit.se > 0 and n_valid > 0:
        per_night = 1.0 / (n_valid * fit.se**2)
        out["se_log_or"] = fit.se
        out["smallest_detectable_or_per_degree"] = math.exp(k * fit.se)
        for t in TARGET_ORS:
            need = math.ceil(k**2 / (per_night * math.log(t) ** 2))
            out[f"nights_for_or_{_tag(t)}"] = need
            out[f"look_for_or_{_tag(t)}"] = next((n for n in looks if n >= need), None)
    out["reason"] = power_reason(out, seq)
    return out


def nights_needed(n_valid: int, pw: dict) -> int | None:
    """More valid nights until the planned look at which x1.5 per °C would likely be firm."""
    need = pw.get("nights_for_or_1_5")
    if need is None:
        return None
    at = pw.get("look_for_or_1_5") or need
    return max(0, at - n_valid)


def dose_response(valid: list[NightSummary]) -> list[dict]:
    """Cramp-night rate by 1 °C band of the night minimum, coldest first."""
    bands: dict[int, list[int]] = {}
    for n in valid:
        band = bands.setdefault(math.floor(n.min_temp_c), [0, 0])
        band[0] += 1
        band[1] += n.cramps > 0
    return [
        {"from_c": k, "to_c": k + 1, "nights": v[0], "cramp_nights": v[1], "rate": v[1] / v[0]}
        for k, v in sorted(bands.items())
    ]


def remedies(cramps: list[Cramp]) -> dict:
    """Median minutes to relief per remedy (cramps with both recorded)."""
    by: dict[str, list[float]] = {}
    for c in cramps:
        if c.remedy and c.relief_min is not None:
            by.setdefault(c.remedy, []).append(c.relief_min)
    return {
        r: {"cramps": len(v), "median_relief_min": statistics.median(v)}
        for r, v in sorted(by.items())
    }


# -- the report ------------------------------------------------------------------------------


def build_report(
    nights: list[NightSummary],
    sets: list[CrossoverSet],
    cramps: list[Cramp],
    params: NightParams,
    plan: LookPlan = LookPlan(),
    *,
    as_of_ms: int | None = None,
) -> dict:
    """The contract JSON (plus extras) from the nights and the case-crossover sets, as of
    `as_of_ms` (nights ending after it are not valid, cramps after it do not exist)."""
    if as_of_ms is not None:
        nights = [n for n in nights if n.start_ms <= as_of_ms]
        cramps = [c for c in cramps if c.ts_ms <= as_of_ms]
    valid = [n for n in nights if n.valid and (as_of_ms is None or n.end_ms <= as_of_ms)]
    threshold = float(params.cold_below_c)
    table = contingency(valid, threshold)
    n_cramp = sum(1 for n in valid if n.cramps > 0)
    n_cold = sum(1 for n in valid if n.min_temp_c < threshold)
    running = seasonal_fit(valid)
    seq = sequential(valid, plan)
    pw = power(len(valid), running, seq)
    report = {
        "contract": CONTRACT,
        "as_of": None if as_of_ms is None else iso_ms(as_of_ms),
        "nights": {"valid": len(valid), "cramp": n_cramp, "cold": n_cold},
        "cold_threshold_c": threshold,
        "table": table,
        "fisher_p": fisher_p(table),
        "relative_risk": risk_ratio(table),
        "mann_whitney": mann_whitney(valid),
        "logistic": logistic(valid),
        "case_crossover": case_crossover(sets),
        "seasonal": running.block if running else None,
        "sequential": seq,
        "verdict": verdict(seq),
        # extras
        "look_detail": look_detail(valid, seq),
        "humidity": humidity_logistic(valid),
        "power": pw,
        "nights_needed": nights_needed(len(valid), pw),
        "dose_response": dose_response(valid),
        "remedies": remedies(cramps),
        "nights_total": len(nights),
        "cramps_total": len(cramps),
        "cramps_in_valid_nights": sum(n.cramps for n in valid),
        "params": params.as_dict(),
    }
    report["summary"] = verdict_sentence(report)
    return sanitize(report)


def sanitize(value):
    """Plain JSON types only; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _num(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def analyze(
    store: Store,
    node: str,
    params: NightParams,
    now_ms: int,
    plan: LookPlan = LookPlan(),
    *,
    as_of_ms: int | None = None,
) -> dict:
    """Everything from the store as of `as_of_ms` (default: `default_as_of` at `now_ms`):
    stored night summaries, then the statistics."""
    as_of = default_as_of(store, node, now_ms) if as_of_ms is None else as_of_ms
    nights = night_summaries(store, node, params, as_of, as_of_ms=as_of)
    valid = [n for n in nights if n.valid]
    cramps = store.cramps(node, None, as_of + 1)
    sets = crossover_sets(store, node, params, valid, cramps, as_of)
    report = build_report(nights, sets, cramps, params, plan, as_of_ms=as_of)
    report["node"] = node
    return report
