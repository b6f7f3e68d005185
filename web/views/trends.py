"""Trends: the nights by week or month (night minimum, cramp nights, cold alerts), as charts
and a table, for the question "is it getting colder, and do the cramps follow?"."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from monitor import nights as nights_mod
from monitor import trends
from web import charts
from web.views.common import config, data, room

bp = Blueprint("trends", __name__)


def _alert_nights(node: str, since_ms: int | None):
    """The night (or, by day, the date) each cold-room alert started in."""
    d = data()
    for e in d.reader().episodes(node, since_ms, None, kind="cold"):
        yield nights_mod.night_of(e.start_ms, d.params) or nights_mod.local_date(
            e.start_ms, d.params
        )


@bp.get("/trends")
def index():
    by = request.args.get("by", "week")
    if by not in trends.PERIODS:
        abort(400, "by must be week or month")
    d = data()
    node = room()
    # The shown periods' nights only (a page view reads a few months, not all history):
    # at most this many nights with readings fall in the newest SHOWN weeks or months.
    days = trends.SHOWN[by] * (7 if by == "week" else 31) + 1
    newest_first = nights_mod.list_nights(d.reader(), node, d.params, d.now_ms(), limit=days)
    summaries = list(reversed(newest_first))
    since = summaries[0].start_ms if summaries else None
    rows = trends.group(summaries, _alert_nights(node, since), by, shown=trends.SHOWN[by])
    labels = [r.label(by) for r in rows]
    threshold = config().analysis.cold_below_c
    span = f"{labels[0]} to {labels[-1]}" if len(rows) > 1 else labels[0] if rows else ""
    minimum_svg = charts.minimum_chart(
        labels,
        [r.mean_min_c for r in rows],
        [r.lowest_c for r in rows],
        threshold=threshold,
        title=f"Night minimum by {by}",
        description=(
            "; ".join(
                f"{r.label(by)}: average {r.mean_min_c:.1f} °C, coldest {r.lowest_c:.1f} °C"
                for r in rows
                if r.mean_min_c is not None
            )
        ),
    )
    cramp_svg = charts.count_chart(
        labels,
        [r.cramp_nights for r in rows],
        title=f"Nights with a cramp by {by}, {span}",
        description="; ".join(f"{r.label(by)}: {r.cramp_nights} of {r.nights}" for r in rows),
    )
    alert_svg = charts.count_chart(
        labels,
        [r.alerts for r in rows],
        title=f"Cold-room alerts by {by}, {span}",
        description="; ".join(f"{r.label(by)}: {r.alerts}" for r in rows),
        noun="alert",
    )
    return render_template(
        "trends.html",
        by=by,
        rows=list(reversed(rows)),
        minimum_svg=minimum_svg,
        cramp_svg=cramp_svg,
        alert_svg=alert_svg,
        shown=trends.SHOWN[by],
        page="trends",
    )
