"""The evidence page's data: the stored report in plain words, its freshness, chart inputs.

No statistics are computed here (scipy/statsmodels stay out of the web process): the
report comes from the store (analysis-spec version 2 plus the analysis's extras), its
sentences from monitor.analysis.reports (the ones `bedside analyze` prints); the charts
only count and average the nights the report used.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor import nights as nights_mod
from monitor.analysis import reports as reports_mod
from monitor.nights import NightParams, NightSummary
from monitor.store import Store

log = logging.getLogger(__name__)

FEW_NIGHTS = 5  # a band (or a remedy) with fewer is too few to read a rate from
TRIAL_URL = "/trial"


@dataclass
class EvidenceView:
    node: str
    report: object | None  # reports.StoredReport
    stale: bool
    computing: bool
    sentence: str | None  # the headline (verdict_sentence: the CLI's first line)
    computed_words: str | None
    error: str | None
    legacy: bool = False  # a version-1 report (no planned checks): redone at the next job
    crossover: str | None = None
    disagreement: str | None = None


def finished_night_end(data, now_ms: int) -> int:
    """End of the most recent night that is over."""
    night = data.tonight_or_last(now_ms)
    end = nights_mod.night_window(night, data.params)[1]
    if end > now_ms:
        end = nights_mod.night_window(night - timedelta(days=1), data.params)[1]
    return end


def is_stale(store: Store, data, node: str, stored, now_ms: int) -> bool:
    """Missing, older than the data (imports, cramp edits), or older than the last night."""
    if stored is None:
        return store.newest_reading(node) is not None
    if stored.data_version < store.data_version():
        return True
    end = finished_night_end(data, now_ms)
    if stored.created_ms < end:
        newest = store.newest_reading(node)
        return newest is not None and newest.ts_ms >= end - 3_600_000
    return False


def computed_words(data, created_ms: int, now_ms: int) -> str:
    created = data.local(created_ms)
    days = (data.local(now_ms).date() - created.date()).days
    clock = created.strftime("%H:%M")
    if days <= 0:
        return f"computed {clock} today"
    if days == 1:
        return f"computed {clock}, 1 night ago"
    return f"computed {clock}, {days} nights ago"


def is_legacy(report: dict) -> bool:
    """A stored version-1 report: no planned checks, its verdict from the crude figures."""
    return not isinstance(report.get("sequential"), dict)


def load(data, job, node: str) -> EvidenceView:
    store = data.reader()
    now = data.now_ms()
    stored = reports_mod.latest_report(store, node)  # None before migration 0003 too
    stale = is_stale(store, data, node, stored, now)
    if stale:
        job.start(node)
    report = stored.report if stored else {}
    legacy = bool(stored) and is_legacy(report)
    current = bool(stored) and not legacy
    return EvidenceView(
        node=node,
        report=stored,
        stale=stale,
        computing=job.running(),
        sentence=reports_mod.verdict_sentence(report) if stored else None,
        computed_words=computed_words(data, stored.created_ms, now) if stored else None,
        error=job.last_error if stale and not job.running() else None,
        legacy=legacy,
        crossover=reports_mod.crossover_sentence(report) if current else None,
        disagreement=reports_mod.disagreement_sentence(report) if current else None,
    )


class ChartCache:
    """Rendered evidence charts, cached per node and key: they change about once a night."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple, dict]] = {}

    def get(self, node: str, key: tuple, build) -> dict:
        with self._lock:
            hit = self._cache.get(node)
            if hit and hit[0] == key:
                return hit[1]
        value = build()
        with self._lock:
            self._cache[node] = (key, value)
        return value


# -- the nights the report used --------------------------------------------------------------


def report_params(data, stored) -> NightParams:
    """The night parameters the report was computed with (the config's without a report)."""
    if stored is None:
        return data.params
    names = {f.name for f in fields(NightParams)}
    for source in (stored.params, stored.report.get("params")):
        if isinstance(source, dict) and "timezone" in source:
            try:
                return NightParams(**{k: v for k, v in source.items() if k in names}).validate()
            except (TypeError, ValueError):
                continue
    return data.params


def report_nights(data, node: str, stored) -> list[NightSummary]:
    """The valid nights behind the report's figures, in date order.

    The same rules as the analysis (monitor.nights with the report's parameters: a night
    that has not ended is never valid).  Nights that ended after the report was computed
    come last by date, so the report's nights are the first `nights.valid` of them; when
    the data changed since (an import, a cramp edit) the page says a newer report is
    waiting, and these are the nights as they are now.
    """
    params = report_params(data, stored)
    nights = nights_mod.night_summaries(data.reader(), node, params, data.now_ms())
    valid = [n for n in nights if n.valid and n.min_temp_c is not None]
    count = ((stored.report.get("nights") or {}).get("valid")) if stored else None
    if isinstance(count, int) and 0 <= count <= len(valid):
        valid = valid[:count]
    return valid


def month_of(n: NightSummary) -> tuple[int, int]:
    """The night's month: its date's (the night of 31 January is January's), as the analysis."""
    return n.night.year, n.night.month


def within_month(valid: list[NightSummary]) -> list[tuple[date, float, float, bool]]:
    """(night, minimum, minimum minus its month's average minimum, cramp night) per night."""
    by: dict[tuple[int, int], list[NightSummary]] = {}
    for n in valid:
        by.setdefault(month_of(n), []).append(n)
    mean = {m: math.fsum(n.min_temp_c for n in ns) / len(ns) for m, ns in by.items()}
    return [(n.night, n.min_temp_c, n.min_temp_c - mean[month_of(n)], n.cramps > 0) for n in valid]


def within_month_spread(points: list[tuple[date, float, float, bool]]) -> float | None:
    """How far a night's minimum typically lies from its month's average (pooled SD, °C)."""
    months = Counter((d.year, d.month) for d, *_ in points)
    df = len(points) - len(months)
    if df < 2:
        return None
    return math.sqrt(math.fsum(dev * dev for _, _, dev, _ in points) / df)


def within_month_words(points: list[tuple[date, float, float, bool]]) -> str:
    """The within-month chart's text alternative."""
    if not points:
        return "No valid nights yet."
    cramp = [dev for _, _, dev, c in points if c]
    other = [dev for _, _, dev, c in points if not c]

    def side(devs: list[float]) -> str:
        avg = math.fsum(devs) / len(devs)
        if round(avg, 1) == 0:
            return "about at its month's average"
        return f"{abs(avg):.1f} °C {'below' if avg < 0 else 'above'} its month's average"

    if not cramp:
        return f"{_count(len(points), 'valid night')}, none of them with a cramp yet."
    parts = [f"{_count(len(points), 'valid night')}."]
    parts.append(f"On the {_count(len(cramp), 'cramp night')} the minimum was on average")
    parts.append(f"{side(cramp)};" if other else f"{side(cramp)}.")
    if other:
        parts.append(f"on the {_count(len(other), 'other night')} {side(other)}.")
    return " ".join(parts)


def bands_of(valid: list[NightSummary]) -> list[tuple[str, float | None, int]]:
    """Cramp rate by 1 °C band of the night minimum, counted from the nights."""
    bands: dict[int, list[int]] = {}
    for n in valid:
        band = bands.setdefault(math.floor(n.min_temp_c), [0, 0])
        band[0] += 1
        band[1] += n.cramps > 0
    return [(f"{b}–{b + 1} °C", c / t, t) for b, (t, c) in sorted(bands.items())]


def dose_response(report: dict) -> list[tuple[str, float | None, int]] | None:
    """The report's cramp rate by 1 °C band of the night minimum (label, rate, nights), or
    None for a report without one."""
    rows = report.get("dose_response")
    if not rows:
        return None
    return [(f"{r['from_c']:g}–{r['to_c']:g} °C", r["rate"], r["nights"]) for r in rows]


def chart_inputs(valid: list[NightSummary], report: dict) -> dict:
    points = within_month(valid)
    return {
        "cramp": [n.min_temp_c for n in valid if n.cramps > 0],
        "free": [n.min_temp_c for n in valid if n.cramps == 0],
        "bands": dose_response(report) or bands_of(valid),
        "points": points,
        "words": within_month_words(points),
        "spread": within_month_spread(points),
    }


# -- how many more nights ----------------------------------------------------------------------


@dataclass
class Plan:
    """'How many more nights?' in sentences (from the report's power extra)."""

    next_check: str | None = None
    firm: list[str] = field(default_factory=list)
    why: str = ""  # why it takes long (the CLI's own sentence is among the figures)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _an(percent: str) -> str:
    """'an 80%', 'a 90%' (as the number is read aloud)."""
    spoken_vowel = percent.startswith("8") or percent in ("11%", "18%")
    return f"{'an' if spoken_vowel else 'a'} {percent}"


def _check(look: int | None, looks: list) -> str:
    if look:
        return f"the {look}-night check"
    last = f" ({looks[-1]} nights)" if looks else ""
    return f"more than the last planned check{last}"


def plan(report: dict, spread: float | None) -> Plan:
    out = Plan()
    seq = report.get("sequential")
    pw = report.get("power")
    if isinstance(seq, dict):
        nxt = seq.get("next_look_nights")
        valid = (report.get("nights") or {}).get("valid", 0)
        if nxt is None:
            out.next_check = "All planned checks are done: the verdict above is the last one."
        else:
            which = "first" if seq.get("look") is None else "next"
            out.next_check = (
                f"The {which} check is at {nxt} valid nights: {_count(nxt - valid, 'more night')}."
            )
    if isinstance(pw, dict) and isinstance(seq, dict):
        looks = list(seq.get("looks") or [])
        if pw.get("se_log_or") is not None:
            n15, n13 = pw.get("nights_for_or_1_5"), pw.get("nights_for_or_1_3")
            chance = _an(f"{pw.get('power', 0.8):.0%}")
            out.firm.append(
                "If each degree colder raised the odds of a cramp night by half (×1.5 per °C),"
                f" about {n15} valid nights would give {chance} chance of a firm answer:"
                f" {_check(pw.get('look_for_or_1_5'), looks)}."
            )
            out.firm.append(
                f"For a smaller effect (odds ×1.3 per °C colder), about {n13} valid nights:"
                f" {_check(pw.get('look_for_or_1_3'), looks)}."
            )
            smallest = pw.get("smallest_detectable_or_per_degree")
            if smallest:
                out.firm.append(
                    f"With the {_count(pw.get('nights', 0), 'valid night')} so far, {chance}"
                    f" chance of a firm answer needs an effect of about ×{smallest:.1f} per °C"
                    " or more."
                )
        else:
            out.firm.append(
                "How many nights a firm answer needs can be worked out once the within-month"
                " comparison can be made: it needs at least 3 cramp nights in months that had"
                " both a night with a cramp and a night without."
            )
    spread_words = (
        f"your room's night minimum differs from its month's average by only about"
        f" {spread:.1f} °C on a typical night"
        if spread is not None
        else "one person's bedroom differs little from night to night within a month"
    )
    out.why = (
        "Why it takes this long: each night is compared only with the other nights of its"
        f" own month, so the season cannot pass for the room, and {spread_words}, so each"
        " night says little about what a degree colder does."
    )
    return out


# -- the statistician's view -------------------------------------------------------------------


VERDICT_WORDS = {
    "supports": "supports the idea: colder nights than usual for the month, more cramps",
    "contradicts": "contradicts it: warmer nights than usual for the month, more cramps",
    "inconclusive": "no firm answer at this check",
    "insufficient-data": "not enough data for the check yet",
}
LEGACY_WORDS = {
    "supports": "colder nights went with more cramps",
    "contradicts": "warmer nights went with more cramps",
    "inconclusive": "no clear link",
    "insufficient-data": "too few nights",
}
LOOK_STATUS = {
    "fitted": "the comparison was made",
    "too-few-cramp-nights": "too few cramp nights to compare",
    "fit-failed": "the comparison could not be fitted reliably",
}
ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def ratio(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def p_value(p) -> str:
    """'p = 0.0077', or 'p < 0.0001' for the smallest."""
    if p is None:
        return "p —"
    return "p < 0.0001" if p < 0.0001 else f"p = {p:.2g}"


def fit_words(fit: dict | None, key: str = "or_per_degree_colder") -> str:
    if not fit:
        return "— (could not be computed)"
    return (
        f"{ratio(fit.get(key))} (95% CI {ratio(fit.get('ci_low'))}–{ratio(fit.get('ci_high'))}),"
        f" {p_value(fit.get('p'))}"
    )


def _and(items: list) -> str:
    items = [str(x) for x in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def looks_words(report: dict, default: list[int]) -> str:
    """The planned checks in words: the report's, else the configured ones."""
    seq = report.get("sequential")
    looks = seq.get("looks") if isinstance(seq, dict) else None
    return _and(list(looks or default))


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]]
    note: str | None = None
    id: str | None = None


def figure_sections(report: dict) -> list[Section]:
    """Every figure of the report, labelled; the crude ones in a section of their own."""
    out: list[Section] = []
    seq = report.get("sequential") if isinstance(report.get("sequential"), dict) else None
    verdict = report.get("verdict")
    if seq:
        rows = [("Verdict", VERDICT_WORDS.get(verdict, str(verdict)))]
    else:
        rows = [
            (
                "Verdict of the older version (from the crude figures)",
                LEGACY_WORDS.get(verdict, str(verdict)),
            )
        ]
    if seq:
        looks = list(seq.get("looks") or [])
        look = seq.get("look")
        rows.append(
            (
                "Planned checks",
                f"at {_and(looks)} valid nights, each at a two-sided p below"
                f" {seq.get('alpha_per_look'):g}",
            )
        )
        rows.append(
            (
                "Current check",
                f"the {ORDINAL.get(look, look)}, at {seq.get('look_nights')} valid nights"
                if look
                else "none reached yet",
            )
        )
        nxt = seq.get("next_look_nights")
        rows.append(("Next check", f"at {nxt} valid nights" if nxt else "none: all are done"))
        at = seq.get("at_look")
        if look:
            where = f"; {at['nights']} nights in {_count(at['strata'], 'month')}" if at else ""
            rows.append(
                (
                    "Nights compared within their month, at the check: odds ratio per °C colder",
                    fit_words(at) + where,
                )
            )
        detail = report.get("look_detail")
        if isinstance(detail, dict):
            in_informative = detail.get("cramp_nights_in_informative_strata", 0)
            rows.append(
                (
                    "What the check saw",
                    f"{_count(detail.get('nights', 0), 'night')},"
                    f" {detail.get('cramp_nights', 0)} of them cramp nights;"
                    f" {_count(detail.get('informative_strata', 0), 'month')} with both a cramp"
                    " night and a night without, holding"
                    f" {_count(in_informative, 'cramp night')};"
                    f" {LOOK_STATUS.get(detail.get('status'), detail.get('status'))}",
                )
            )
    out.append(Section("The verdict", rows, id="figures-verdict"))

    rows = []
    if "seasonal" in report:
        sf = report.get("seasonal")
        where = f"; {sf['nights']} nights in {_count(sf['strata'], 'month')}" if sf else ""
        rows.append(
            ("Nights compared within their month: odds ratio per °C colder", fit_words(sf) + where)
        )
    cc = report.get("case_crossover")
    rows.append(
        (
            "The hour before each cramp against the same hour on other days of its month:"
            " odds ratio per °C colder",
            fit_words(cc) + (f"; {_count(cc['cramps'], 'cramp')}" if cc else ""),
        )
    )
    out.append(
        Section(
            "Running figures",
            rows,
            note="All valid nights so far. They move as nights are added; the verdict changes"
            " only at a planned check.",
            id="figures-running",
        )
    )

    n = report.get("nights") or {}
    params = report.get("params") or {}
    threshold = report.get("cold_threshold_c", params.get("cold_below_c", 18.0))
    coverage = params.get("min_coverage")
    valid_label = (
        f"Valid nights (ended, with a reading in at least {coverage:.0%} of their 5-minute bins)"
        if isinstance(coverage, int | float)
        else "Valid nights"
    )
    rows = [
        (valid_label, f"{n.get('valid', 0)}"),
        ("Cramp nights among them", f"{n.get('cramp', 0)}"),
        (f"Cold nights among them (minimum below {threshold:g} °C)", f"{n.get('cold', 0)}"),
    ]
    for key, label in (
        ("nights_total", "Nights with any reading"),
        ("cramps_total", "Cramps recorded"),
        ("cramps_in_valid_nights", "Cramps in valid nights"),
    ):
        if isinstance(report.get(key), int):
            rows.append((label, f"{report[key]}"))
    out.append(Section("Nights", rows, id="figures-nights"))

    pw = report.get("power")
    if isinstance(pw, dict) and seq:
        looks = list(seq.get("looks") or [])
        rows = [
            ("Model", "nights compared within their month, all valid nights so far"),
            (
                "Standard error of the log odds ratio",
                f"{pw['se_log_or']:.3f} over {_count(pw.get('nights', 0), 'valid night')}"
                if pw.get("se_log_or") is not None
                else "— (the comparison could not be made yet)",
            ),
            (
                "Chance of a firm answer aimed for",
                f"{pw.get('power', 0):.0%} at the per-check level {pw.get('alpha_per_look'):g}",
            ),
            (
                "Smallest odds ratio per °C colder likely to be firm now",
                ratio(pw.get("smallest_detectable_or_per_degree")),
            ),
        ]
        for tag, label in (("1_5", "×1.5"), ("1_3", "×1.3")):
            need = pw.get(f"nights_for_or_{tag}")
            rows.append(
                (
                    f"Valid nights for {label} per °C colder",
                    "—"
                    if need is None
                    else f"{need} ({_check(pw.get(f'look_for_or_{tag}'), looks)})",
                )
            )
        if pw.get("nights_to_next_look") is not None:
            rows.append(("Valid nights to the next check", f"{pw['nights_to_next_look']}"))
        if report.get("nights_needed") is not None:
            rows.append(
                (
                    "More valid nights until the check at which ×1.5 would likely be firm",
                    f"{report['nights_needed']}",
                )
            )
        if pw.get("reason"):
            rows.append(("In words", pw["reason"]))
        out.append(Section("Nights a firm answer needs", rows, id="figures-power"))

    bands = report.get("dose_response") or []
    if bands:
        rows = []
        for b in bands:
            few = " (too few to read)" if b["nights"] < FEW_NIGHTS else ""
            rows.append(
                (
                    f"Minimum {b['from_c']:g}–{b['to_c']:g} °C",
                    f"{b['cramp_nights']} of {_count(b['nights'], 'night')}"
                    f" with a cramp ({b['rate']:.0%}){few}",
                )
            )
        out.append(
            Section(
                "Cramp nights by 1 °C band of the night minimum",
                rows,
                note="Counts over all valid nights; they do not account for the season.",
                id="figures-bands",
            )
        )

    out.append(crude_section(report))

    rem = report.get("remedies")
    if isinstance(rem, dict) and rem:
        rows = [
            (
                name.capitalize(),
                f"median {r['median_relief_min']:g} minutes to relief over"
                f" {_count(r['cramps'], 'cramp')}",
            )
            for name, r in rem.items()
            if isinstance(r, dict)
        ]
        out.append(Section("Remedies", rows, id="figures-remedies"))

    if params:
        rows = []
        if "timezone" in params:
            rows.append(("Time zone", str(params["timezone"])))
        if "night_start" in params and "night_end" in params:
            rows.append(("A night", f"{params['night_start']} to {params['night_end']}"))
        out.append(Section("Settings", rows, id="figures-settings"))

    others = extra_figures(report)
    if others:
        out.append(Section("Other figures", others, id="figures-other"))
    return out


def crude_section(report: dict) -> Section:
    """Fisher, the relative risk, Mann-Whitney, the crude logistic (and humidity's)."""
    t = report.get("table") or {}
    threshold = report.get("cold_threshold_c", 18.0)
    rows = []
    if t:
        rows += [
            (
                f"Cold nights (minimum below {threshold:g} °C)",
                f"{t.get('cold_cramp', 0)} with a cramp, {t.get('cold_no_cramp', 0)} without",
            ),
            (
                "Warm nights",
                f"{t.get('warm_cramp', 0)} with a cramp, {t.get('warm_no_cramp', 0)} without",
            ),
        ]
    rows.append(("Fisher's exact test, cold against warm nights", p_value(report.get("fisher_p"))))
    rr = report.get("relative_risk") or {}
    rows.append(
        (
            "Relative risk of a cramp night, cold against warm nights",
            f"{ratio(rr['estimate'])} (95% CI {ratio(rr.get('ci_low'))}–{ratio(rr.get('ci_high'))})"
            if rr.get("estimate") is not None
            else "— (could not be computed)",
        )
    )
    mw = report.get("mann_whitney")
    rows.append(
        (
            "Mann–Whitney test of the night minimum, cramp nights against the others",
            f"U = {mw['u']:g}, {p_value(mw['p'])}" if mw else "— (could not be computed)",
        )
    )
    rows.append(
        (
            "Logistic regression of a cramp night on the minimum: odds ratio per °C colder",
            fit_words(report.get("logistic")),
        )
    )
    hum = report.get("humidity")
    if "humidity" in report:
        rows.append(
            (
                "The same on the night's mean humidity: odds ratio per 1 % more humid",
                fit_words(hum, "or_per_pct_more_humid")
                + (f"; {_count(hum['nights'], 'night')}" if hum else ""),
            )
        )
    return Section(
        "Crude figures",
        rows,
        note="These do not account for the season: a cause of cramps that simply peaks in"
        " winter or in summer moves them as much as the room would. They never decide the"
        " verdict.",
        id="crude-figures",
    )


# Shown by the sections above, not again among the other figures.
SHOWN_ELSEWHERE = reports_mod.CONTRACT_KEYS | {
    "dose_response",
    "nights_needed",
    "summary",
    "params",
    "node",
    "look_detail",
    "humidity",
    "power",
    "remedies",
    "nights_total",
    "cramps_total",
    "cramps_in_valid_nights",
}


def extra_figures(report: dict) -> list[tuple[str, str]]:
    """Keys the sections above do not know, as readable rows (nested values are skipped)."""
    rows = []
    for key, value in report.items():
        if key in SHOWN_ELSEWHERE:
            continue
        label = key.replace("_", " ").capitalize()
        if _scalar(value):
            rows.append((label, _show(value)))
        elif isinstance(value, dict) and value and all(_scalar(v) for v in value.values()):
            rows.append(
                (label, ", ".join(f"{k.replace('_', ' ')} {_show(v)}" for k, v in value.items()))
            )
    return rows


def _scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


# -- the printable summary for a doctor --------------------------------------------------------


@dataclass
class PrintSummary:
    valid: int
    first: date | None
    last: date | None
    cramp_nights: int
    cramps: int
    months: list[tuple[str, int, int, int]]  # month, valid nights, cramp nights, cramps
    hours: list[tuple[str, int]]  # "02", cramps starting in that hour (noon to noon)
    remedies: list[tuple[str, int, str]]  # remedy, cramps, what it did (or too few)


def print_summary(
    data, node: str, params: NightParams, valid: list[NightSummary], report: dict
) -> PrintSummary:
    """The nights, the cramps by month and by hour, and the remedies, for one page.

    Cramps count for the night they fall in (a cramp at 02:00 on 1 February is January's
    when that night is 31 January's), daytime ones for their own date; hours are local.
    """
    first = valid[0].night if valid else None
    last = valid[-1].night if valid else None
    cramps = data.reader().cramps(node, None, data.now_ms() + 1)
    tz = ZoneInfo(params.timezone)
    by_month_cramps: Counter = Counter()
    by_hour: Counter = Counter()
    for c in cramps:
        local = datetime.fromtimestamp(c.ts_ms / 1000, tz)
        day = nights_mod.night_of(c.ts_ms, params) or local.date()
        by_month_cramps[(day.year, day.month)] += 1
        by_hour[local.hour] += 1
    by_month: dict[tuple[int, int], list[int]] = {}
    for n in valid:
        row = by_month.setdefault(month_of(n), [0, 0])
        row[0] += 1
        row[1] += n.cramps > 0
    keys = sorted(set(by_month) | set(by_month_cramps))
    months = [
        (
            date(y, m, 1).strftime("%B %Y"),
            by_month.get((y, m), [0, 0])[0],
            by_month.get((y, m), [0, 0])[1],
            by_month_cramps.get((y, m), 0),
        )
        for y, m in keys
    ]
    hours = [(f"{h:02d}", by_hour.get(h, 0)) for h in [*range(12, 24), *range(12)]]
    remedies = []
    rem = report.get("remedies")
    for name, r in rem.items() if isinstance(rem, dict) else []:
        if not isinstance(r, dict):
            continue
        n = int(r.get("cramps", 0))
        if n < FEW_NIGHTS:
            words = "too few to compare"
        else:
            words = f"eased after a median of {r['median_relief_min']:g} minutes"
        remedies.append((name.capitalize(), n, words))
    return PrintSummary(
        valid=len(valid),
        first=first,
        last=last,
        cramp_nights=sum(1 for n in valid if n.cramps > 0),
        cramps=len(cramps),
        months=months,
        hours=hours,
        remedies=remedies,
    )
