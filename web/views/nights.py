"""Nights: the list of nights, one night's chart and summary (and the chart the Now page shows)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, render_template

from monitor import nights as nights_mod
from web import charts
from web.views.common import config, data, page_arg, room

bp = Blueprint("nights", __name__)

NIGHTS_PER_PAGE = 14
FIRST_NIGHT, LAST_NIGHT = date(1970, 1, 2), date(2199, 12, 30)


def night_chart(node: str, night: date):
    d = data()
    store = d.reader()
    start, end = nights_mod.night_window(night, d.params)
    readings = store.readings(node, start, end)
    points = charts.downsample([(r.ts_ms, r.temperature_c) for r in readings], 240)
    cramps = store.cramps(node, start, end)
    tz = d.tz

    def label(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).strftime("%H:%M")

    threshold = config().analysis.cold_below_c
    svg = charts.time_chart(
        points,
        x_range=(start, end),
        label_fn=label,
        threshold=threshold,
        marks=[c.ts_ms for c in cramps],
        title=f"Temperature, night of {nights_mod.night_dates(night)}",
        description=night_words(readings, cramps, threshold, label),
    )
    return svg, cramps, readings


def night_words(readings, cramps, threshold: float, label) -> str:
    """The chart in words, for screen readers: the minimum, when it was cold, the cramps."""
    if not readings:
        words = ["No readings."]
    else:
        low = min(readings, key=lambda r: r.temperature_c)
        words = [f"Lowest {low.temperature_c:.1f} °C at {label(low.ts_ms)}."]
        spans = charts.cold_spans([(r.ts_ms, r.temperature_c) for r in readings], threshold)
        if not spans:
            words.append(f"Never below {threshold:g} °C.")
        else:
            shown = [f"{label(a)} to {label(b)}" for a, b in spans[:3]]
            more = f" and {len(spans) - 3} more times" if len(spans) > 3 else ""
            words.append(f"Below {threshold:g} °C from {', '.join(shown)}{more}.")
    if cramps:
        times = ", ".join(label(c.ts_ms) for c in cramps)
        words.append(f"{len(cramps)} cramp{'s' if len(cramps) > 1 else ''}, at {times}.")
    else:
        words.append("No cramps.")
    return " ".join(words)


@bp.get("/nights")
def index():
    page = page_arg()
    d = data()
    rows = nights_mod.list_nights(
        d.reader(),
        room(),
        d.params,
        d.now_ms(),
        limit=NIGHTS_PER_PAGE + 1,
        offset=page * NIGHTS_PER_PAGE,
    )
    return render_template(
        "nights.html",
        nights=rows[:NIGHTS_PER_PAGE],
        more=len(rows) > NIGHTS_PER_PAGE,
        page_no=page,
        page="nights",
    )


@bp.get("/nights/<night>")
def night(night: str):
    try:
        day = date.fromisoformat(night)
    except ValueError:
        abort(404, "no such night (use YYYY-MM-DD)")
    if not FIRST_NIGHT <= day <= LAST_NIGHT:
        abort(404, "no such night")
    d = data()
    node = room()
    summary = nights_mod.summarize(d.reader(), node, day, d.params, d.now_ms())
    svg, cramps, _ = night_chart(node, day)
    return render_template(
        "night.html",
        day=day,
        summary=summary,
        svg=svg,
        cramps=cramps,
        prev=day - timedelta(days=1),
        next=day + timedelta(days=1),
        night_start=d.params.night_start,
        night_end=d.params.night_end,
        page="nights",
    )
