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


def night_chart(node: str, night: date, *, width: int = 420):
    d = data()
    store = d.reader()
    start, end = nights_mod.night_window(night, d.params)
    readings = store.readings(node, start, end)
    points = charts.downsample([(r.ts_ms, r.temperature_c) for r in readings], 240)
    cramps = store.cramps(node, start, end)
    tz = d.tz

    def label(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).strftime("%H:%M")

    svg = charts.time_chart(
        points,
        x_range=(start, end),
        label_fn=label,
        threshold=config().analysis.cold_below_c,
        marks=[c.ts_ms for c in cramps],
        width=width,
        title=f"Temperature, night of {night.isoformat()}",
    )
    return svg, cramps, readings


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
        page="nights",
    )
