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
        "seasonal",
        "sequential",
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


def _x(x: float) -> str:
    """An odds ratio as a multiplier: ×1.4."""
    return f"×{_n(x)}"


def _deg(x: float) -> str:
    return f"{x:g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ordinal_check(look: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(look, f"{look}th")


def _next_check(seq: dict) -> str:
    nxt = seq.get("next_look_nights")
    return f"Next check at {nxt} nights." if nxt else "That was the last planned check."


def _warmer(fit: dict) -> tuple[float, float, float]:
    """An odds ratio per °C colder turned into one per °C warmer (estimate, low, high)."""
    return 1 / fit["or_per_degree_colder"], 1 / fit["ci_high"], 1 / fit["ci_low"]


def _why_no_fit(report: dict) -> str:
    detail = report.get("look_detail") or {}
    if detail.get("status") == "fit-failed":
        return (
            "the within-month comparison could not be fitted reliably"
            " (the cramp nights and the other nights barely overlap in temperature)"
        )
    have = detail.get("cramp_nights_in_informative_strata")
    got = f" (it has {have})" if have is not None else ""
    return (
        "the within-month comparison needs at least 3 cramp nights in months that had"
        f" both a night with a cramp and a night without{got}"
    )


def verdict_sentence(report: dict) -> str:
    """The headline: the verdict at the current planned look, in plain words."""
    seq = report.get("sequential")
    if not isinstance(seq, dict):
        return _legacy_sentence(report)
    nights = report.get("nights") or {}
    valid = nights.get("valid", 0)
    look = seq.get("look")
    if look is None:
        first = seq.get("next_look_nights")
        return f"Too early: {valid} of the {first} nights the first check needs."
    after = f"After {seq['look_nights']} nights"
    at = seq.get("at_look")
    verdict = report.get("verdict")
    if at is None:
        return f"{after}, {_why_no_fit(report)}. {_next_check(seq)}"
    if at.get("separation"):  # contract v3: no finite odds ratio, a score-test p
        return (
            f"{after}, every cramp night was among the {_EXTREME[at['separation']]} nights of"
            f" its half-month (p {at['p']:.2g}). {_next_check(seq)}"
        )
    if verdict == "supports":
        return (
            f"{after}, colder nights than usual for the month went with more cramps:"
            f" about {_x(at['or_per_degree_colder'])} per °C colder"
            f" (likely between {_x(at['ci_low'])} and {_x(at['ci_high'])}). {_next_check(seq)}"
        )
    if verdict == "contradicts":
        est, lo, hi = _warmer(at)
        return (
            f"{after}, warmer nights than usual for the month went with more cramps:"
            f" about {_x(est)} per °C warmer (likely between {_x(lo)} and {_x(hi)})."
            f" {_next_check(seq)}"
        )
    return (
        f"{after}, colder nights than usual for the month did not go with more cramps"
        f" (odds {_x(at['or_per_degree_colder'])} per °C colder, likely between"
        f" {_x(at['ci_low'])} and {_x(at['ci_high'])}). {_next_check(seq)}"
    )


def crossover_sentence(report: dict) -> str | None:
    """The case-crossover in words: was the hour before a cramp colder than usual?"""
    cc = report.get("case_crossover")
    if not cc:
        if not (report.get("nights") or {}).get("cramp"):
            return None
        return (
            "The hour before each cramp cannot be compared yet: that needs at least 5 cramps"
            " in valid nights with readings in the hour before."
        )
    n = _plural(cc["cramps"], "cramp")
    same = "the same hour on other days of that month"
    if cc.get("separation"):  # contract v3: no finite odds ratio
        return f"The hour before each cramp was the {_EXTREME[cc['separation']]} of {same} ({n})."
    if cc["ci_low"] > 1:
        return (
            f"The room was colder in the hour before a cramp than at {same}: about"
            f" {_x(cc['or_per_degree_colder'])} per °C colder (likely between"
            f" {_x(cc['ci_low'])} and {_x(cc['ci_high'])}; {n})."
        )
    if cc["ci_high"] < 1:
        est, lo, hi = _warmer(cc)
        return (
            f"The room was warmer in the hour before a cramp than at {same}: about"
            f" {_x(est)} per °C warmer (likely between {_x(lo)} and {_x(hi)}; {n})."
        )
    return (
        f"The hour before a cramp was not clearly colder or warmer than {same}"
        f" (odds {_x(cc['or_per_degree_colder'])} per °C colder, likely between"
        f" {_x(cc['ci_low'])} and {_x(cc['ci_high'])}; {n})."
    )


_EXTREME = {"colder": "coldest", "warmer": "warmest"}


def _side(fit: dict) -> int:
    """+1 when the fit leans colder, -1 warmer (a separated fit by its direction)."""
    if fit.get("separation"):
        return 1 if fit["separation"] == "colder" else -1
    return 1 if fit["or_per_degree_colder"] > 1 else -1


def _direction(fit: dict | None, clear: bool) -> int:
    """+1 colder goes with cramps, -1 warmer, 0 neither (or no fit); `clear` = firm."""
    if not fit:
        return 0
    return _side(fit) if clear else 0


def disagreement_sentence(report: dict) -> str | None:
    """A sentence when the nights and the hour before each cramp point different ways.

    They disagree when one of them is firm (the verdict at a look; the case-crossover's
    interval leaving 1) and the other's estimate lies on the other side of 1.
    """
    seq = report.get("sequential") or {}
    cc = report.get("case_crossover")
    at = seq.get("at_look")
    if not cc or not at:
        return None
    nights = {"supports": 1, "contradicts": -1}.get(report.get("verdict"), 0)
    firm_hour = cc.get("separation") is not None or cc["ci_low"] > 1 or cc["ci_high"] < 1
    hour = _direction(cc, firm_hour)
    n_side, h_side = _side(at), _side(cc)
    if not ((nights and nights != h_side) or (hour and hour != n_side)):
        return None
    words = {1: "colder", -1: "warmer"}
    return (
        f"The two views disagree: the nights compared within their month lean"
        f" {words[n_side]}, the hour before each cramp {words[h_side]}."
        " The verdict follows the nights; a split like this usually means the link,"
        " if there is one, is weak or comes from something other than the temperature."
    )


def power_reason(pw: dict, seq: dict) -> str:
    """Why the nights-needed figures are what they are, in words."""
    nxt = seq.get("next_look_nights")
    to_next = pw.get("nights_to_next_look")
    if nxt is None:
        upcoming = "All planned checks are done."
    else:
        which = "first" if seq.get("look") is None else "next"
        upcoming = f"The {which} planned check is at {nxt} valid nights, {to_next} from now."
    se = pw.get("se_log_or")
    if se is None:
        return (
            f"{upcoming} How many nights a firm answer needs cannot be estimated yet: the"
            " within-month comparison needs at least 3 cramp nights in months with both"
            " a night with a cramp and one without, and a fit that converges."
        )
    parts = []
    for tag, label in (("1_3", "×1.3"), ("1_5", "×1.5")):
        need, look = pw.get(f"nights_for_or_{tag}"), pw.get(f"look_for_or_{tag}")
        where = f"the {look}-night check" if look else "more than the last planned check"
        parts.append(f"about {need} valid nights for {label} per °C ({where})")
    chance = round(pw["power"] * 100)
    article = "an" if str(chance)[:1] == "8" or chance in (11, 18) else "a"
    return (
        f"{upcoming} From the within-month comparison's spread so far (standard error"
        f" {se:.2f} on the log scale over {pw['nights']} valid nights), {article} {chance}%"
        f" chance of a firm answer at the per-check level {pw['alpha_per_look']:g} needs "
        + " and ".join(parts)
        + ", if the coming months look like the past ones."
    )


def nights_needed_sentence(report: dict) -> str | None:
    pw = report.get("power")
    if not isinstance(pw, dict) or "reason" not in pw:
        return None
    return pw["reason"]


# -- version-1 reports still stored in old databases ------------------------------------------


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


def _legacy_sentence(report: dict) -> str:
    """A stored version-1 report (no planned looks): its verdict came from the crude figures."""
    verdict = report.get("verdict")
    detail = "; ".join(c for c in (_rr_clause(report), _or_clause(report)) if c)
    heads = {
        "supports": "Colder nights went with more cramps",
        "contradicts": "Warmer nights went with more cramps",
        "inconclusive": "No clear link between room temperature and cramps yet",
    }
    if verdict in heads:
        return f"{heads[verdict]}: {detail}." if detail else f"{heads[verdict]}."
    nights = report.get("nights") or {}
    valid, cramp = nights.get("valid"), nights.get("cramp")
    if valid is None:
        return "Not enough nights yet to tell."
    return f"{_plural(valid, 'night')} so far, {cramp} with a cramp: too few to tell."
