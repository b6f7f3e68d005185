"""The evidence page's data: the stored report in plain words, its freshness, chart inputs.

No statistics are computed here (scipy/statsmodels stay out of the web process): the
report comes from the store (analysis-spec version 3 plus the analysis's extras, among
them the plot's points; version-2 reports still render, labelled), its
sentences from monitor.analysis.reports (the ones `bedside analyze` prints); the charts
only count and average the nights the report used.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor import nights as nights_mod
from monitor.analysis import reports as reports_mod
from monitor.config import DEFAULT_LOOK_ALPHA
from monitor.nights import NightParams, NightSummary
from monitor.store import Store
from monitor.vocabulary import plural

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
    previous: bool = False  # a version-2 report: shown, labelled, until it is recomputed
    lines: list[tuple[str, str]] = field(default_factory=list)  # (id, sentence) after the headline
    as_of: str | None = None  # "as of Mon 07 Dec 06:25"
    meanings: list[tuple[str, str, str]] = field(default_factory=list)
    previous_note: str = reports_mod.PREVIOUS_RULES_NOTE


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
    if reports_mod.previous_rules(stored.report):
        return True  # computed under version 2 of the contract: recompute under the current
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
    lines = reports_mod.plain_lines(report) if current else []
    seq = report.get("sequential") if current else None
    alpha = seq.get("alpha_per_look") if isinstance(seq, dict) else None
    return EvidenceView(
        node=node,
        report=stored,
        stale=stale,
        computing=job.running(),
        sentence=reports_mod.verdict_sentence(report) if stored else None,
        computed_words=computed_words(data, stored.created_ms, now) if stored else None,
        error=job.last_error if stale and not job.running() else None,
        legacy=legacy,
        previous=current and reports_mod.previous_rules(report),
        lines=lines[1:],
        as_of=reports_mod.as_of_words(report) if current else None,
        meanings=reports_mod.verdict_meanings(alpha or DEFAULT_LOOK_ALPHA),
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
    for source in (stored.params, stored.report.get("params")):
        params = reports_mod.night_params_of(source)
        if params is not None:
            return params
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


Point = reports_mod.Point


def within_half_month(valid: list[NightSummary], report: dict | None = None) -> list[Point]:
    """(night, minimum, minimum minus its half-month's average minimum, cramp night)."""
    return reports_mod.within_stratum(valid, report)


def within_words(points: list[Point], unit: str = "half-month") -> str:
    """The within-half-month chart's text alternative."""
    if not points:
        return "No valid nights yet."
    cramp = [dev for _, _, dev, c in points if c]
    other = [dev for _, _, dev, c in points if not c]

    def side(devs: list[float]) -> str:
        avg = math.fsum(devs) / len(devs)
        if round(avg, 1) == 0:
            return f"about at its {unit}'s average"
        return f"{abs(avg):.1f} °C {'below' if avg < 0 else 'above'} its {unit}'s average"

    if not cramp:
        return f"{plural(len(points), 'valid night')}, none of them with a cramp yet."
    parts = [f"{plural(len(points), 'valid night')}."]
    parts.append(f"On the {plural(len(cramp), 'cramp night')} the minimum was on average")
    parts.append(f"{side(cramp)};" if other else f"{side(cramp)}.")
    if other:
        parts.append(f"on the {plural(len(other), 'other night')} {side(other)}.")
    return " ".join(parts)


def bands_of(points: list[Point]) -> list[tuple[str, float | None, int]]:
    """Cramp rate by 1 °C band of the night minimum, counted from the nights."""
    bands: dict[int, list[int]] = {}
    for _, low, _, cramp in points:
        band = bands.setdefault(math.floor(low), [0, 0])
        band[0] += 1
        band[1] += cramp
    return [(f"{b}–{b + 1} °C", c / t, t) for b, (t, c) in sorted(bands.items())]


def dose_response(report: dict) -> list[tuple[str, float | None, int]] | None:
    """The report's cramp rate by 1 °C band of the night minimum (label, rate, nights), or
    None for a report without one."""
    rows = report.get("dose_response")
    if not rows:
        return None
    return [(f"{r['from_c']:g}–{r['to_c']:g} °C", r["rate"], r["nights"]) for r in rows]


def plot_points(
    data, node: str, stored, valid: list[NightSummary] | None = None
) -> tuple[list[Point], float | None]:
    """The plot's points and spread: stored with the report (computed once, when it was
    saved), else worked out from the nights (a report stored before they were kept;
    ``valid``: the nights when the caller has them already)."""
    report = stored.report if stored else {}
    points = reports_mod.stored_points(report)
    if points is not None:
        spread = (report.get("plot") or {}).get("spread")
        return points, spread if isinstance(spread, int | float) else None
    if valid is None:
        valid = report_nights(data, node, stored)
    points = within_half_month(valid, report)
    return points, reports_mod.within_spread(points, report)


def chart_inputs(points: list[Point], spread: float | None, report: dict) -> dict:
    unit = reports_mod.stratum(report) if report else "half-month"
    return {
        "cramp": [low for _, low, _, c in points if c],
        "free": [low for _, low, _, c in points if not c],
        "bands": dose_response(report) or bands_of(points),
        "points": points,
        "words": within_words(points, unit),
        "spread": spread,
        "unit": unit,
    }


# -- the statistician's view -------------------------------------------------------------------


VERDICT_WORDS = {
    "supports": "supports the idea: colder nights than usual for the half-month, more cramps",
    "contradicts": "contradicts it: warmer nights than usual for the half-month, more cramps",
    "inconclusive": "no firm answer at this check",
    "insufficient-data": "too early: not enough data for the check yet",
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


def fit_words(fit: dict | None, key: str = "or_per_degree_colder", alpha=None) -> str:
    """An odds ratio with its 95% interval and p; for a separated fit, words and the score
    test's p; with `alpha`, also the interval at the level a check decides by."""
    if not fit:
        return "— (could not be computed)"
    sep = fit.get("separation")
    if sep:
        return (
            f"none: the cramp nights sit on the {'coldest' if sep == 'colder' else 'warmest'}"
            f" values of every set (no finite odds ratio), score test {p_value(fit.get('p'))}"
        )
    test = " (Wald)" if fit.get("test") == "wald" else ""
    out = f"{ratio(fit.get(key))} (95% CI {ratio(fit.get('ci_low'))}–{ratio(fit.get('ci_high'))}"
    if alpha and None not in (fit.get(key), fit.get("ci_low"), fit.get("ci_high")):
        lo, hi = reports_mod.decision_interval(fit, alpha)
        out += f"; {reports_mod.level_words(alpha)} CI {ratio(lo)}–{ratio(hi)}"
    return out + f"), {p_value(fit.get('p'))}{test}"


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
    unit = reports_mod.stratum(report)
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
            where = f"; {at['nights']} nights in {plural(at['strata'], unit)}" if at else ""
            rows.append(
                (
                    f"Nights compared within their {unit}, at the check: odds ratio per °C colder",
                    fit_words(at, alpha=seq.get("alpha_per_look")) + where,
                )
            )
        detail = report.get("look_detail")
        if isinstance(detail, dict):
            in_informative = detail.get("cramp_nights_in_informative_strata", 0)
            rows.append(
                (
                    "What the check saw",
                    f"{plural(detail.get('nights', 0), 'night')},"
                    f" {detail.get('cramp_nights', 0)} of them cramp nights;"
                    f" {plural(detail.get('informative_strata', 0), unit)} with both a cramp"
                    " night and a night without, holding"
                    f" {plural(in_informative, 'cramp night')};"
                    f" {LOOK_STATUS.get(detail.get('status'), detail.get('status'))}",
                )
            )
    out.append(Section("The verdict", rows, id="figures-verdict"))

    rows = []
    if "seasonal" in report:
        sf = report.get("seasonal")
        where = f"; {sf['nights']} nights in {plural(sf['strata'], unit)}" if sf else ""
        rows.append(
            (
                f"Nights compared within their {unit}: odds ratio per °C colder",
                fit_words(sf) + where,
            )
        )
    cc = report.get("case_crossover")
    rows.append(
        (
            "The hour before each cramp against the same hour on other days of its month"
            " (a description, recomputed every morning): odds ratio per °C colder",
            fit_words(cc) + (f"; {plural(cc['cramps'], 'cramp')}" if cc else ""),
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
            ("Model", f"nights compared within their {unit}, all valid nights so far"),
            (
                "Standard error of the log odds ratio",
                f"{pw['se_log_or']:.3f} over {plural(pw.get('nights', 0), 'valid night')}"
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
                    else f"{need} ({reports_mod.check_words(pw.get(f'look_for_or_{tag}'), looks)})",
                )
            )
        if pw.get("nights_to_next_look") is not None:
            rows.append(("Valid nights to the next check", f"{pw['nights_to_next_look']}"))
        if report.get("nights_needed") is not None:
            rows.append(
                (
                    "More valid nights until the check at which ×1.5 would likely be firm",
                    f"{report['nights_needed']}"
                    if report["nights_needed"] > 0
                    else "none: that check has been reached",
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
                    f"{b['cramp_nights']} of {plural(b['nights'], 'night')}"
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
                f" {plural(r['cramps'], 'cramp')}",
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
                + (f"; {plural(hum['nights'], 'night')}" if hum else ""),
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
    "contract",
    "as_of",
    "plot",
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
