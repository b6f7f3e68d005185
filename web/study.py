"""The Study page's data: the stored pooled report in plain words, who took part, the plot.

Nothing is fitted and no night is walked here: `bedside report --pooled` computes the
report (monitor/cli/study.py) and stores it under STUDY_KEY; a page reads it, says it in
the one-person page's words (monitor.analysis.reports) and starts the report job when
it is missing or stale.  What costs more than a lookup (the forest plot, each person's
label, the rate of nights) is built once per stored report (the app's chart cache).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from monitor.analysis import reports as reports_mod
from monitor.config import DEFAULT_LOOK_ALPHA
from monitor.store.reports import LEFT_OUT_WHY, STUDY_KEY
from monitor.trial import report as trial_report
from monitor.trial import stats as trial_stats
from monitor.vocabulary import plural
from web import forest
from web.evidence import computed_words, finished_night_end
from web.evidence import looks_words as evidence_looks_words

DAY_MS = 86_400_000
# Besides new data and the end of the recorder's own night, a stored study report is
# redone at least this often: its people sleep in other time zones, their nights end at
# other hours.
REFRESH_MS = 12 * 3_600_000
STOPPED_MS = 3 * DAY_MS  # no reading for this long before as_of: not adding nights now
MAX_ROWS = 100  # more people than this: the plot and table show the first ones
PRINT_ROWS = 10  # the print view's plot: one A4 page

HOW_IT_WORKS = (
    "Each person's nights are compared only with that same person's"
    " nights of the same half-month (the 1st to the 15th, or the 16th to the month's end),"
    " each in that person's own time zone. Nobody's room is compared with anyone else's, so"
    " a colder house, another climate or another person cannot pass for the effect of"
    " the cold. The comparisons of every person's half-months are added up into one"
    " answer, decided only at planned checks, at the same strict level as one person's"
    " Evidence page."
)


@dataclass
class Person:
    """One row of the plot and the table."""

    label: str
    valid: int
    cramp: int
    words: str


@dataclass
class StudyView:
    stored: object | None  # reports.StoredReport
    stale: bool
    computing: bool
    error: str | None
    report: dict = field(default_factory=dict)
    sentence: str | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)
    meanings: list[tuple[str, str, str]] = field(default_factory=list)
    as_of: str | None = None
    computed: str | None = None
    taking_part: int = 0
    people_words: str = ""
    too_few: str | None = None
    next_check: str | None = None
    forest: object = None
    forest_print: object = None
    print_more: int = 0
    persons: list[Person] = field(default_factory=list)
    pooled_words: str = ""
    more_people: int = 0
    trial_words: str = ""
    trial_figures: str | None = None
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    left_out_unnamed: list[tuple[int, str]] = field(default_factory=list)  # (rooms, why)
    left_out_short: str = ""
    looks: str = ""
    how: str = HOW_IT_WORKS


def is_stale(store, data, stored, now_ms: int) -> bool:
    """Missing (with readings to compute it from), older than the data, older than the
    recorder's last finished night, or older than REFRESH_MS."""
    if stored is None:
        return bool(store.nodes_with_readings())
    if stored.data_version < store.data_version():
        return True
    if stored.created_ms < now_ms - REFRESH_MS:
        return True
    return stored.created_ms < finished_night_end(data, now_ms)


def labels(report: dict, names: dict[str, str] | None) -> dict[str, str]:
    """node -> what pages show: P1, P2, … in per_person order, or the room's name when
    the owner turned names on ([study] show_names)."""
    rows = report.get("per_person") or []
    if names is None:
        return {r["node"]: f"P{i}" for i, r in enumerate(rows, 1)}
    return {r["node"]: names.get(r["node"]) or r["node"] for r in rows}


def nights_per_day(store, report: dict, as_of_ms: int) -> float | None:
    """Valid nights per day across people: each person's valid nights over the days from
    their first to their newest reading, added up; a person silent for STOPPED_MS before
    as_of adds nothing (None before anyone has a valid night)."""
    rate = 0.0
    for row in report.get("per_person") or []:
        first = store.oldest_reading(row["node"])
        last = store.newest_reading(row["node"], until_ms=as_of_ms)
        if first is None or last is None or not row.get("valid"):
            continue
        if as_of_ms - last.ts_ms > STOPPED_MS:
            continue
        rate += row["valid"] / max(1.0, (last.ts_ms - first.ts_ms) / DAY_MS)
    return rate or None


def when_words(more: int, rate: float | None, start: date) -> str:
    """'360 more valid nights (about 3 weeks: around 28 December)'; never '0 more nights'."""
    if more <= 0:
        return "due now: the next report makes it"
    counted = plural(more, "more valid night")
    if not rate:
        return counted
    return f"{counted} ({reports_mod.date_words(math.ceil(more / rate), start)})"


def next_check(report: dict, rate: float | None, start: date) -> str:
    seq = report.get("sequential") or {}
    nxt = seq.get("next_look_nights")
    if nxt is None:
        return "All planned checks are done: the answer above is the last one."
    valid = (report.get("nights") or {}).get("valid", 0)
    which = "first" if seq.get("look") is None else "next"
    pace = ", at the rate nights have come so far" if rate and nxt > valid else ""
    return (
        f"The {which} check is at {nxt} valid nights of everyone together:"
        f" {when_words(nxt - valid, rate, start)}{pace}."
    )


def meanings(alpha: float) -> list[tuple[str, str, str]]:
    """The one-person page's verdict meanings, said of everyone's own nights."""
    return reports_mod.verdict_meanings(alpha, whose="people's own")


def plain_lines(report: dict) -> list[tuple[str, str]]:
    """The headline and the lines that explain it, as on the one-person page."""
    return reports_mod.plain_lines(report, pooled=True)


def trial_words(trial: dict | None) -> tuple[str, str | None]:
    """The pooled warm-night trial: the plain sentence first (the trial page's), then
    the figures (mid-p, exact p, odds ratio and interval)."""
    if not trial:
        return (
            "No warm-night trial has finished yet. Only finished trials count: a running"
            " trial's schedule stays hidden until its last night.",
            None,
        )
    b, c = trial["usual_only"], trial["warm_only"]
    single = trial["people"] == 1
    as_trial = {
        **trial,
        "verdict": trial_stats.verdict_of(b, c, trial["p"]),
        "pairs_planned": trial["pairs"],
    }
    words = trial_report.summary_words(as_trial, pooled=not single)
    count = "One finished trial" if single else f"{trial['people']} finished trials"
    head = f"{count}, {trial['pairs']} pairs of nights in all. "
    figures = trial_report.figures_sentence(as_trial) if b + c else None
    return head + words, figures


def people_words(report: dict, taking_part: int) -> str:
    n = report.get("nights") or {}
    people = report.get("people", 0)
    usable = (
        f"{'The one person' if people else 'No one'} taking part"
        if taking_part == 1
        else f"{people} of the {taking_part} people taking part"
    )
    has = "has" if people == 1 or taking_part == 1 else "have"
    return (
        f"{usable} {has} a usable half-month (one with both a cramp night and a night"
        f" without); together {plural(n.get('valid', 0), 'valid night')},"
        f" {n.get('cramp', 0)} of them with a cramp."
    )


def too_few_words(report: dict) -> str | None:
    """'Not enough people or nights yet', said in words, when it is so."""
    people = report.get("people", 0)
    if people >= 2:
        return None  # too few nights: the headline says so ("Too early: …")
    if people == 0:
        return (
            "Not enough nights yet: no one has a half-month with both a cramp night and a"
            " night without, so there is nothing to compare yet."
        )
    if people == 1:
        return (
            "Not enough people yet: only one person has a usable half-month, so the answer"
            " so far is that person's alone."
        )


def _names(data) -> dict[str, str]:
    return {n["id"]: n.get("name") or n["id"] for n in data.nodes()}


def _built(data, stored, show_names: bool) -> dict:
    """Everything the page shows that depends on the stored report alone (cached per
    report): the sentences, the plot, the people and the left-out rooms."""
    report = stored.report
    names = _names(data) if show_names else None
    label = labels(report, names)
    rows = report.get("per_person") or []
    shown = rows[:MAX_ROWS]
    persons = [forest.Row(label[r["node"]], r.get("seasonal")) for r in shown]
    everyone = forest.Row("All", report.get("pooled"), pooled=True)
    plot_rows = [*persons, everyone]
    tz = data.tz
    when = reports_mod.as_of(report, tz)
    as_of_ms = round(when.timestamp() * 1000) if when else stored.created_ms
    start = data.local(as_of_ms)
    lines = plain_lines(report)
    seq = report.get("sequential") or {}
    trial, figures = trial_words(report.get("trial"))
    left = report.get("left_out") or {}
    named = [(names.get(n, n), why) for n, why in left.items()] if names is not None else []
    unnamed = Counter(left.values()) if names is None else Counter()
    return {
        "report": report,
        "sentence": lines[0][1],
        "lines": lines[1:],
        "meanings": meanings(seq.get("alpha_per_look") or DEFAULT_LOOK_ALPHA),
        "as_of": reports_mod.as_of_words(report, tz) or f"as of {start:%a %d %b %H:%M}",
        "taking_part": len(rows),
        "people_words": people_words(report, len(rows)),
        "too_few": too_few_words(report),
        "next_check": next_check(
            report, nights_per_day(data.reader(), report, as_of_ms), start.date()
        ),
        "forest": forest.forest_plot(plot_rows),
        "forest_print": forest.forest_plot([*persons[:PRINT_ROWS], everyone]),
        "print_more": max(0, len(rows) - PRINT_ROWS),
        "persons": [
            Person(label[r["node"]], r["valid"], r["cramp"], forest.row_words(plot_rows[i]))
            for i, r in enumerate(shown)
        ],
        "pooled_words": forest.row_words(plot_rows[-1]),
        "more_people": len(rows) - len(shown),
        "trial_words": trial,
        "trial_figures": figures,
        "left_out": [(who, LEFT_OUT_WHY.get(why, why)) for who, why in named],
        "left_out_unnamed": [(n, LEFT_OUT_WHY.get(why, why)) for why, n in sorted(unnamed.items())],
        # The print view's one line: who or how many, with the short reason.
        "left_out_short": "; ".join(
            [f"{who} ({why})" for who, why in named]
            + [f"{plural(n, 'room')} ({why})" for why, n in sorted(unnamed.items())]
        ),
        "looks": evidence_looks_words(report, []),
    }


def load(data, job, cache, show_names: bool) -> StudyView:
    """The page's view of the stored study report; starts the report job when stale."""
    store = data.reader()
    now = data.now_ms()
    stored = reports_mod.latest_report(store, STUDY_KEY)
    stale = is_stale(store, data, stored, now)
    if stale:
        job.start(STUDY_KEY)
    running = job.running()
    view = StudyView(
        stored=stored,
        stale=stale,
        computing=running,
        error=job.last_error if stale and not running else None,
    )
    if stored is None:
        return view
    key = (stored.created_ms, stored.data_version, show_names)
    for name, value in cache.get(STUDY_KEY, key, lambda: _built(data, stored, show_names)).items():
        setattr(view, name, value)
    view.computed = computed_words(data, stored.created_ms, now)
    return view
