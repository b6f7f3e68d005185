"""Evidence reports: the contract's keys and the verdict in words.

Computed by `bedside report` (scipy), stored by the store (monitor/store/reports.py:
the JSON plus the parameters and the data version it covers), shown by the web.
Light on purpose: the web imports this (no scipy, statsmodels, numpy).
"""

from __future__ import annotations

from monitor.store import Store, StoredReport  # StoredReport: re-exported for callers

# The keys of analysis-spec.md's JSON: fixed by the contract; more may be added, none changed.
CONTRACT_KEYS = frozenset(
    {
        "nights",
        "cold_threshold_c",
        "table",
        "fisher_p",
        "relative_risk",
        "mann_whitney",
        "logistic",
        "case_crossover",
        "verdict",
    }
)


def latest_report(store: Store, node: str) -> StoredReport | None:
    """The newest stored report for a node, or None (also before migration 0003)."""
    return store.latest_report(node)


def save_report(
    store: Store, node: str, report: dict, params: dict, data_version: int, now_ms: int
) -> StoredReport:
    """Store a report (strict JSON: no NaN) and return it as stored."""
    return store.save_report(node, report, params, data_version, now_ms)


def _n(x: float) -> str:
    """Two significant figures for ratios, plainly (no exponent)."""
    if x >= 10:
        return f"{x:.0f}"
    return f"{x:.2g}" if x >= 0.1 else f"{x:.2f}"


def _deg(x: float) -> str:
    return f"{x:g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _rr_clause(report: dict) -> str | None:
    rr = report.get("relative_risk") or {}
    est, lo, hi = rr.get("estimate"), rr.get("ci_low"), rr.get("ci_high")
    if est is None or lo is None or hi is None:
        return None
    cold = _deg(report.get("cold_threshold_c", 18.0))
    return (
        f"on nights below {cold} °C you had cramps {_n(est)} times as often"
        f" (95% CI {_n(lo)}–{_n(hi)})"
    )


def _or_clause(report: dict) -> str | None:
    lg = report.get("logistic")
    if not lg:
        return None
    return (
        f"each 1 °C colder multiplied the odds of a cramp night by "
        f"{_n(lg['or_per_degree_colder'])} (95% CI {_n(lg['ci_low'])}–{_n(lg['ci_high'])})"
    )


def _needed_clause(report: dict) -> str:
    more = report.get("nights_needed")
    if more is None:
        return "keep logging: no cramp yet to compare"
    if more <= 0:
        return "more nights would make it clearer"
    return f"about {more} more nights with cramps like these would be needed"


def verdict_sentence(report: dict) -> str:
    """The verdict in one plain sentence with its key number and interval."""
    verdict = report.get("verdict")
    clauses = [c for c in (_rr_clause(report), _or_clause(report)) if c]
    detail = "; ".join(clauses)
    if verdict == "supports":
        head = "Colder nights went with more cramps"
        return f"{head}: {detail}." if detail else f"{head}."
    if verdict == "contradicts":
        head = "Warmer nights went with more cramps"
        return f"{head}: {detail}." if detail else f"{head}."
    if verdict == "inconclusive":
        head = "No clear link between room temperature and cramps yet"
        more = report.get("nights_needed")
        tail = ""
        if more:
            tail = f"; about {more} more nights would be needed to detect an odds ratio of 1.5"
        if detail:
            return f"{head}: {detail}, an interval that includes no effect{tail}."
        return f"{head}{tail}."
    nights = report.get("nights") or {}
    valid, cramp = nights.get("valid"), nights.get("cramp")
    if valid is None:
        return "Not enough nights yet to tell."
    counts = f"{_plural(valid, 'night')} so far, {cramp} with a cramp"
    if valid >= 14 and cramp is not None and cramp >= 3:
        return f"{counts}: the model could not be fitted reliably yet; {_needed_clause(report)}."
    return f"{counts}: too few to tell; {_needed_clause(report)}."
