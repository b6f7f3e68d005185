"""Evidence reports: the contract's keys and the verdict in words.

Computed by `bedside report` (scipy), stored by the store (monitor/store/reports.py:
the JSON plus the parameters and the data version it covers), shown by the web.
Light on purpose: the web imports this (no scipy, statsmodels, numpy).
"""

from __future__ import annotations

import math
import statistics
import threading
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config import DEFAULT_LOOK_ALPHA
from monitor.nights import NightParams, NightSummary, night_summaries
from monitor.store import Store, StoredReport  # StoredReport: re-exported for callers

# The keys of analysis-spec.md's JSON (version 3): fixed by the contract; more may be added,
# none changed.
CONTRACT_KEYS = frozenset(
    {
        "contract",
        "as_of",
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


_PARSED: dict[tuple[str, str], tuple[tuple, StoredReport]] = {}
_PARSED_LOCK = threading.Lock()


def latest_report(store: Store, node: str) -> StoredReport | None:
    """The newest stored report for a node, or None (also before migration 0003).

    Parsed once per stored report: a report carries one plot point per valid night, so
    parsing it on every page view would grow with the years of history."""
    ident = store.latest_report_key(node)
    if ident is None:
        return None
    key = (str(store.path), node)
    with _PARSED_LOCK:
        hit = _PARSED.get(key)
    if hit and hit[0] == ident:
        return hit[1]
    stored = store.latest_report(node)
    if stored is not None:
        with _PARSED_LOCK:
            _PARSED[key] = (ident, stored)
    return stored


def save_report(
    store: Store, node: str, report: dict, params: dict, data_version: int, now_ms: int
) -> StoredReport:
    """Store a report (strict JSON: no NaN) and return it as stored.

    The within-half-month plot's points are added here when the report lacks them, so
    the evidence page draws them from the report instead of walking every night."""
    if "plot" not in report and isinstance(report.get("nights"), dict):
        nights = report_valid_nights(store, node, report, params, now_ms)
        if nights is not None:
            report = {**report, "plot": plot_block(nights)}
    return store.save_report(node, report, params, data_version, now_ms)


# -- the within-half-month plot, computed once with the report -----------------------------------

Point = tuple[date, float, float, bool]  # night, minimum, minus its stratum's mean, cramp night


def night_params_of(params: dict | None) -> NightParams | None:
    """The night parameters a report was computed with (None when they are not whole)."""
    if not isinstance(params, dict) or "timezone" not in params:
        return None
    names = {f.name for f in fields(NightParams)}
    try:
        return NightParams(**{k: v for k, v in params.items() if k in names}).validate()
    except (TypeError, ValueError):
        return None


def report_valid_nights(
    store: Store, node: str, report: dict, params: dict | None, now_ms: int
) -> list[NightSummary] | None:
    """The valid nights behind a report, in date order: the first `nights.valid` valid
    nights up to its `as_of` (its creation time for a report without one)."""
    night_params = night_params_of(params) or night_params_of(report.get("params"))
    if night_params is None:
        return None
    when = as_of(report)
    until = round(when.timestamp() * 1000) if when else now_ms
    nights = night_summaries(store, node, night_params, until)
    valid = [n for n in nights if n.valid and n.min_temp_c is not None]
    count = (report.get("nights") or {}).get("valid")
    if isinstance(count, int) and 0 <= count <= len(valid):
        valid = valid[:count]
    return valid


def stratum_of(d: date, report: dict | None = None) -> tuple[int, int, int]:
    """The night's stratum: its date's year, month and half (days 1-15, 16-end); whole
    months for a version-2 report."""
    half = 0 if (report is not None and contract_of(report) < 3) or d.day <= 15 else 1
    return d.year, d.month, half


def within_stratum(valid: list[NightSummary], report: dict | None = None) -> list[Point]:
    """(night, minimum, minimum minus its stratum's average minimum, cramp night)."""
    by: dict[tuple[int, int, int], list[NightSummary]] = {}
    for n in valid:
        by.setdefault(stratum_of(n.night, report), []).append(n)
    mean = {k: math.fsum(n.min_temp_c for n in ns) / len(ns) for k, ns in by.items()}
    return [
        (n.night, n.min_temp_c, n.min_temp_c - mean[stratum_of(n.night, report)], n.cramps > 0)
        for n in valid
    ]


def within_spread(points: list[Point], report: dict | None = None) -> float | None:
    """How far a night's minimum typically lies from its stratum's average (pooled SD, °C)."""
    strata = {stratum_of(d, report) for d, *_ in points}
    df = len(points) - len(strata)
    if df < 2:
        return None
    return math.sqrt(math.fsum(dev * dev for _, _, dev, _ in points) / df)


def plot_block(valid: list[NightSummary]) -> dict:
    """The stored plot: one [date, minimum, deviation, cramp] per valid night, and the spread."""
    points = within_stratum(valid)
    return {
        "within_half_month": [
            [d.isoformat(), round(low, 3), round(dev, 4), cramp] for d, low, dev, cramp in points
        ],
        "spread": within_spread(points),
    }


def stored_points(report: dict) -> list[Point] | None:
    """The plot's points as stored with the report (None for a report stored without them)."""
    plot = report.get("plot")
    rows = plot.get("within_half_month") if isinstance(plot, dict) else None
    if not isinstance(rows, list):
        return None
    try:
        return [(date.fromisoformat(d), float(low), float(dev), bool(c)) for d, low, dev, c in rows]
    except (TypeError, ValueError):
        return None


def _n(x: float) -> str:
    """Two significant figures for ratios, plainly (no exponent)."""
    if x >= 10:
        return f"{x:.0f}"
    if x != 1 and round(x, 1) == 1:  # never let 1.03 or 0.97 read as "1"
        return f"{x:.2f}" if round(x, 2) != 1 else f"{x:.3f}"
    return f"{x:.2g}" if x >= 0.1 else f"{x:.2f}"


def _x(x: float) -> str:
    """An odds ratio as a multiplier: ×1.4."""
    return f"×{_n(x)}"


def _deg(x: float) -> str:
    return f"{x:g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- which rules a report was computed under ---------------------------------------------------

CONTRACT = 3  # analysis-spec.md's version this code reads best


def contract_of(report: dict) -> int:
    """3 for a version-3 report; 2 for one with planned checks but no "contract" key; 1 before."""
    version = report.get("contract")
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    return 2 if isinstance(report.get("sequential"), dict) else 1


def previous_rules(report: dict) -> bool:
    """A stored version-2 report: it still reads, labelled, until the next report replaces it."""
    return contract_of(report) == 2


def stratum(report: dict) -> str:
    """What each night is compared within: half-months from version 3, months before."""
    return "half-month" if contract_of(report) >= 3 else "month"


PREVIOUS_RULES_NOTE = (
    "Computed under the previous rules (v2: nights compared within whole months, checks at"
    " p below 0.0158); recomputing under the current ones."
)


# -- time: the analysis's own clock, and nights as dates ---------------------------------------


def _tz(report: dict) -> ZoneInfo:
    name = (report.get("params") or {}).get("timezone")
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def as_of(report: dict, tz: ZoneInfo | None = None) -> datetime | None:
    """The report's `as_of` in the site's time zone, or ``tz`` (a pooled report has no one
    site); None for reports made before v3."""
    raw = report.get("as_of")
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(tz or _tz(report))


def as_of_words(report: dict, tz: ZoneInfo | None = None) -> str | None:
    """'as of Mon 07 Dec 06:25': the time the analysis read the data up to."""
    when = as_of(report, tz)
    return None if when is None else f"as of {when.strftime('%a %d %b %H:%M')}"


def valid_rate(report: dict) -> float:
    """Valid nights per night recorded so far (nights with any reading), 1 when unknown."""
    valid = (report.get("nights") or {}).get("valid")
    total = report.get("nights_total")
    if isinstance(valid, int) and isinstance(total, int) and total > 0 and valid > 0:
        return min(1.0, valid / total)
    return 1.0


def _span(days: int) -> str:
    if days < 14:
        return f"about {_plural(max(1, days), 'day')}"
    if days < 63:
        return f"about {round(days / 7)} weeks"
    if days < 548:
        return f"about {round(days / 30.44)} months"
    return f"about {round(days / 365.25 * 2) / 2:g} years"


def date_words(days: int, base: date | None) -> str:
    """A span as time and a date: 'about 5 weeks: around 12 January' (the year added when
    it is another); only the span without a base date."""
    if base is None:
        return _span(days)
    when = base + timedelta(days=days)
    day = f"{when.day} {when.strftime('%B')}"
    if when.year != base.year:
        day += f" {when.year}"
    return f"{_span(days)}: around {day}"


def nights_when(more: int, report: dict, today: date | None = None) -> str:
    """More valid nights as time and a date: 'about 5 weeks: around 12 January'.

    At the rate valid nights have come so far, counted from the report's `as_of`
    (`today` for a report without one)."""
    start = as_of(report)
    return date_words(math.ceil(more / valid_rate(report)), start.date() if start else today)


def more_nights(more: int, report: dict, today: date | None = None) -> str:
    """'34 more nights (about 5 weeks: around 12 January)'; never '0 more nights'."""
    if more <= 0:
        return "due now: the next report makes it"
    return f"{_plural(more, 'more night')} ({nights_when(more, report, today)})"


# -- the headline --------------------------------------------------------------------------------

VERDICT_LABEL = {
    "supports": "Supports",
    "contradicts": "Contradicts",
    "inconclusive": "No firm answer yet",
    "insufficient-data": "Too early",
}


def verdict_meanings(
    alpha: float = DEFAULT_LOOK_ALPHA, whose: str = "your"
) -> list[tuple[str, str, str]]:
    """(verdict, its label, what it means in one plain line) for each verdict; ``whose``
    nights: "your" on one person's page, "people's own" on the Study page."""
    rare = f"less than 1 time in {math.floor(1 / alpha / 10) * 10}" if alpha > 0 else "rarely"
    return [
        (
            "supports",
            "Supports",
            "the idea that a colder room brings cramps: at a planned check,"
            f" {whose} colder-than-usual nights went with more cramps, more clearly than"
            f" chance alone would show ({rare}).",
        ),
        (
            "contradicts",
            "Contradicts",
            f"the idea: at a planned check, {whose} warmer-than-usual nights went with more"
            f" cramps, more clearly than chance alone would show ({rare}).",
        ),
        (
            "inconclusive",
            "No firm answer yet",
            "at the last planned check the nights could not be told apart from chance; that"
            " does not mean the temperature makes no difference.",
        ),
        (
            "insufficient-data",
            "Too early",
            "not enough valid nights (or cramp nights) for a planned check yet.",
        ),
    ]


def level_words(alpha: float) -> str:
    """The confidence level a check decides at: 1 − alpha_per_look, as '98.65%'."""
    return f"{round((1 - alpha) * 100, 4):g}%"


def decision_interval(fit: dict, alpha: float) -> tuple[float, float]:
    """The fit's Wald interval at 1 − alpha (from its 95% one: same centre, wider)."""
    z = statistics.NormalDist()
    centre = math.log(fit["or_per_degree_colder"])
    se = (math.log(fit["ci_high"]) - math.log(fit["ci_low"])) / (2 * z.inv_cdf(0.975))
    half = z.inv_cdf(1 - alpha / 2) * se
    return math.exp(centre - half), math.exp(centre + half)


def _next_check(seq: dict) -> str:
    nxt = seq.get("next_look_nights")
    return f"Next check at {nxt} nights." if nxt else "That was the last planned check."


def _why_no_fit(report: dict) -> str:
    detail = report.get("look_detail") or {}
    unit = stratum(report)
    if detail.get("status") == "fit-failed":
        return (
            f"the within-{unit} comparison could not be fitted reliably"
            " (the cramp nights and the other nights barely overlap in temperature)"
        )
    have = detail.get("cramp_nights_in_informative_strata")
    got = f" (it has {have})" if have is not None else ""
    return (
        f"the within-{unit} comparison needs at least 3 cramp nights in {unit}s that had"
        f" both a night with a cramp and a night without{got}"
    )


def _separated(fit: dict | None) -> str | None:
    return fit.get("separation") if isinstance(fit, dict) else None


def _lean(fit: dict | None) -> int:
    """+1 the cramp nights lean colder, -1 warmer, 0 no fit (or exactly even)."""
    if not fit:
        return 0
    sep = _separated(fit)
    if sep:
        return 1 if sep == "colder" else -1
    odds = fit.get("or_per_degree_colder")
    if odds is None or odds == 1:
        return 0
    return 1 if odds > 1 else -1


def _firm_figure(at: dict, alpha: float, colder: bool) -> str:
    lo, hi = decision_interval(at, alpha)
    est = at["or_per_degree_colder"]
    if not colder:
        est, lo, hi = 1 / est, 1 / hi, 1 / lo
    word = "colder" if colder else "warmer"
    return f"about {_x(est)} per °C {word} (likely between {_x(lo)} and {_x(hi)})"


def verdict_sentence(report: dict) -> str:
    """The headline: the verdict at the current planned look, in plain words.

    It starts with the verdict's label; a ratio and its interval appear only beside a
    firm verdict, and the interval is at the level the check decides by."""
    seq = report.get("sequential")
    if not isinstance(seq, dict):
        return _legacy_sentence(report)
    valid = (report.get("nights") or {}).get("valid", 0)
    look = seq.get("look")
    if look is None:
        first = seq.get("next_look_nights")
        return f"Too early: {valid} of the {first} nights the first check needs."
    after = f"after {seq['look_nights']} nights"
    at = seq.get("at_look")
    verdict = report.get("verdict")
    unit = stratum(report)
    if at is None:
        return f"Too early: {after}, {_why_no_fit(report)}. {_next_check(seq)}"
    alpha = seq.get("alpha_per_look") or DEFAULT_LOOK_ALPHA
    sep = _separated(at)
    label = VERDICT_LABEL.get(verdict, "No firm answer yet")
    if sep:
        extreme = "coldest" if sep == "colder" else "warmest"
        pattern = f"on every {unit} with a cramp night, the cramp nights were the {extreme} nights"
        if verdict in ("supports", "contradicts"):
            return (
                f"{label}: {after}, {pattern}: as strong a pattern as these nights can show."
                f" {_next_check(seq)}"
            )
        return (
            f"{label}: {after}, {pattern}, but there are still too few such nights to tell"
            f" it from chance. {_next_check(seq)}"
        )
    if verdict == "supports":
        return (
            f"Supports: {after}, colder nights than usual for the {unit} went with more"
            f" cramps: {_firm_figure(at, alpha, True)}. {_next_check(seq)}"
        )
    if verdict == "contradicts":
        return (
            f"Contradicts: {after}, warmer nights than usual for the {unit} went with more"
            f" cramps: {_firm_figure(at, alpha, False)}. {_next_check(seq)}"
        )
    return (
        f"No firm answer yet: {after}, the cramp nights were not clearly colder or warmer"
        f" than usual for the {unit}. {_next_check(seq)}"
    )


def _firm(report: dict) -> bool:
    return report.get("verdict") in ("supports", "contradicts")


def early_caution(report: dict) -> str | None:
    """Beside a firm answer reached before the last planned check: it tends to overstate."""
    seq = report.get("sequential")
    if not isinstance(seq, dict) or not _firm(report) or not seq.get("at_look"):
        return None
    if seq.get("next_look_nights") is None:
        return None
    if _separated(seq["at_look"]):
        return (
            "An answer reached at an early check tends to overstate how strong the link is:"
            " the true effect is probably weaker than a pattern this perfect suggests."
        )
    return (
        "An answer reached at an early check tends to overstate how strong the link is:"
        " the true effect is probably smaller than the figure above."
    )


def ratio_meaning(report: dict) -> str | None:
    """What '×1.7 per °C colder' and 'odds' mean, beside a headline that shows one."""
    seq = report.get("sequential")
    if not isinstance(seq, dict) or not _firm(report):
        return None
    at = seq.get("at_look")
    if not at or _separated(at) or at.get("or_per_degree_colder") is None:
        return None
    colder = report["verdict"] == "supports"
    est = at["or_per_degree_colder"] if colder else 1 / at["or_per_degree_colder"]
    word = "colder" if colder else "warmer"
    level = level_words(report["sequential"].get("alpha_per_look") or DEFAULT_LOOK_ALPHA)
    return (
        f"{_x(est)} per °C {word} means: on a night 1 °C {word} than usual for its"
        f" {stratum(report)}, the odds of a cramp night were about {_n(est)} times as high."
        " The odds compare cramp nights with nights without a cramp (1 to 3: one cramp night"
        f" for every three without). “Likely between” is a {level} range: the level the"
        " planned check decides by."
    )


# -- the hour before each cramp: a description, not a verdict -----------------------------------


def crossover_sentence(report: dict) -> str | None:
    """The case-crossover in words: was the hour before a cramp colder than usual?

    Descriptive on purpose: it is recomputed every morning, not decided at planned
    checks, so it says which way the hours lean, not whether that is firm."""
    cc = report.get("case_crossover")
    if not cc:
        if not (report.get("nights") or {}).get("cramp"):
            return None
        return (
            "The hour before each cramp cannot be compared yet: that needs at least 5 cramps"
            " in valid nights with readings in the hour before."
        )
    n = _plural(cc["cramps"], "cramp")
    same = "the same hour on the other days of its month"
    tail = " This describes the cramps so far; it is not a verdict."
    sep = _separated(cc)
    if sep:
        word = "colder" if sep == "colder" else "warmer"
        return (
            f"Before each of the {n} the room was {word} than at {same}.{tail}"
            if cc["cramps"] != 1
            else f"Before the cramp the room was {word} than at {same}.{tail}"
        )
    lean = _lean(cc)
    if lean == 0:
        return f"Over {n}, the hour before a cramp was on average as warm as {same}.{tail}"
    word = "colder" if lean > 0 else "warmer"
    return f"Over {n}, the hour before a cramp was on the whole {word} than {same}.{tail}"


def disagreement_sentence(report: dict) -> str | None:
    """A sentence when the nights and the hour before each cramp point different ways.

    They disagree when one of them is firm (the verdict at a look; the case-crossover's
    95% interval leaving 1, or a separated case-crossover) and the other leans the
    other way."""
    seq = report.get("sequential") or {}
    cc = report.get("case_crossover")
    at = seq.get("at_look")
    if not cc or not at:
        return None
    nights = {"supports": 1, "contradicts": -1}.get(report.get("verdict"), 0)
    n_side, h_side = _lean(at), _lean(cc)
    lo, hi = cc.get("ci_low"), cc.get("ci_high")
    hour_firm = bool(_separated(cc)) or (lo is not None and lo > 1) or (hi is not None and hi < 1)
    hour = h_side if hour_firm else 0
    if not n_side or not h_side:
        return None
    if not ((nights and nights != h_side) or (hour and hour != n_side)):
        return None
    words = {1: "colder", -1: "warmer"}
    return (
        f"The two views disagree: the nights compared within their {stratum(report)} lean"
        f" {words[n_side]}, the hour before each cramp {words[h_side]}."
        " The verdict follows the nights; a split like this usually means the link,"
        " if there is one, is weak or comes from something other than the temperature."
    )


def plain_lines(report: dict, *, pooled: bool = False) -> list[tuple[str, str]]:
    """(id, sentence) of the words under the question, in order: the page, the print view
    and `bedside analyze` show exactly these.  A pooled report (the Study page, `analyze
    --pooled`) has no hour-before-a-cramp view: that one is one person's."""
    lines = [("verdict", verdict_sentence(report))]
    if not isinstance(report.get("sequential"), dict):
        return lines
    views = [("early-caution", early_caution), ("ratio-meaning", ratio_meaning)]
    if not pooled:
        views += [("crossover", crossover_sentence), ("disagreement", disagreement_sentence)]
    for ident, fn in views:
        text = fn(report)
        if text:
            lines.append((ident, text))
    return lines


# -- how many more nights ----------------------------------------------------------------------


def power_reason(pw: dict, seq: dict) -> str:
    """Why the nights-needed figures are what they are, in words (stored with the power)."""
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
            " within-half-month comparison needs at least 3 cramp nights in half-months with"
            " both a night with a cramp and one without, and a fit that converges."
        )
    parts = []
    for tag, label in (("1_3", "×1.3"), ("1_5", "×1.5")):
        need, look = pw.get(f"nights_for_or_{tag}"), pw.get(f"look_for_or_{tag}")
        where = f"the {look}-night check" if look else "more than the last planned check"
        parts.append(f"about {need} valid nights for {label} per °C ({where})")
    chance = f"{round(pw['power'] * 100)}%"
    return (
        f"{upcoming} From the within-half-month comparison's spread so far (standard error"
        f" {se:.2f} on the log scale over {pw['nights']} valid nights), {_an(chance)}"
        f" chance of a firm answer at the per-check level {pw['alpha_per_look']:g} needs "
        + " and ".join(parts)
        + ", if the coming months look like the past ones."
    )


def nights_needed_sentence(report: dict) -> str | None:
    pw = report.get("power")
    if not isinstance(pw, dict) or "reason" not in pw:
        return None
    return pw["reason"]


def _an(percent: str) -> str:
    """'an 80%', 'a 90%' (as the number is read aloud)."""
    spoken_vowel = percent.startswith("8") or percent in ("11%", "18%")
    return f"{'an' if spoken_vowel else 'a'} {percent}"


def check_words(look: int | None, looks: list) -> str:
    """'the 365-night check', or beyond the last planned one."""
    if look:
        return f"the {look}-night check"
    last = f" ({looks[-1]} nights)" if looks else ""
    return f"more than the last planned check{last}"


@dataclass
class Plan:
    """'How many more nights?' in sentences (from the report's power extra)."""

    next_check: str | None = None
    firm: list[str] = field(default_factory=list)
    why: str = ""


def _firm_line(report: dict, tag: str, words: str, valid: int, looks: list, chance: str):
    pw = report["power"]
    need, look = pw.get(f"nights_for_or_{tag}"), pw.get(f"look_for_or_{tag}")
    if need is None:
        return None
    if look is not None and look <= valid:
        if _firm(report):
            return None
        return (
            f"{words}: the {look}-night check was where a firm answer became likely, and it"
            " has passed with no firm answer: a link, if there is one, is probably weaker"
            " than that."
        )
    target = look if look is not None else max(need, valid + 1)
    return (
        f"{words}: about {need} valid nights would make a firm answer likely ({chance}):"
        f" {check_words(look, looks)}, {more_nights(target - valid, report)}."
    )


def plan(report: dict, spread: float | None = None, today: date | None = None) -> Plan:
    """The next check and the nights a firm answer needs, each also as a date."""
    out = Plan()
    seq = report.get("sequential")
    pw = report.get("power")
    unit = stratum(report)
    valid = (report.get("nights") or {}).get("valid", 0)
    if isinstance(seq, dict):
        nxt = seq.get("next_look_nights")
        if nxt is None:
            out.next_check = "All planned checks are done: the answer above is the last one."
        else:
            which = "first" if seq.get("look") is None else "next"
            out.next_check = (
                f"The {which} check is at {nxt} valid nights:"
                f" {more_nights(nxt - valid, report, today)}."
            )
    if isinstance(pw, dict) and isinstance(seq, dict):
        looks = list(seq.get("looks") or [])
        if pw.get("se_log_or") is not None:
            power = pw.get("power", 0.8)
            chance = _an(f"{power:.0%}") + " chance"
            chance += ": 4 times in 5" if round(power, 2) == 0.8 else ""
            for tag, words in (
                ("1_5", "If each °C colder raised the odds of a cramp night by half (×1.5)"),
                ("1_3", "For a smaller effect (the odds ×1.3 for each °C colder)"),
            ):
                line = _firm_line(report, tag, words, valid, looks, chance)
                if line:
                    out.firm.append(line)
            smallest = pw.get("smallest_detectable_or_per_degree")
            if smallest:
                out.firm.append(
                    f"With the {_plural(pw.get('nights', 0), 'valid night')} so far, a firm"
                    f" answer is likely only if each °C colder multiplies the odds by about"
                    f" ×{smallest:.1f} or more."
                )
        else:
            out.firm.append(
                f"How many nights a firm answer needs can be worked out once the within-{unit}"
                f" comparison can be made: it needs at least 3 cramp nights in {unit}s that"
                " had both a night with a cramp and a night without."
            )
    spread_words = (
        f"your room's night minimum differs from its {unit}'s average by only about"
        f" {spread:.1f} °C on a typical night"
        if spread is not None
        else f"one person's bedroom differs little from night to night within a {unit}"
    )
    out.why = (
        f"Why it takes this long: each night is compared only with the other nights of its"
        f" own {unit}, so the season cannot pass for the room, and {spread_words}, so each"
        " night says little about what a degree colder does."
    )
    return out


def plan_lines(report: dict, spread: float | None = None) -> list[str]:
    """The plan as the CLI prints it (the page shows the same sentences)."""
    p = plan(report, spread)
    return [s for s in (p.next_check, *p.firm, p.why) if s]


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
