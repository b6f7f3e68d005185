"""Export: the page, readings or cramps as CSV (this room's, or every room's with ?all=1),
optionally for a range of local dates (?from=&to=, as the CLI's --from/--to), and the nights
of a range as a printable one-page table."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request

from monitor import csvio
from monitor import nights as nights_mod
from web.views.common import config, data, room

bp = Blueprint("export", __name__)

PRINT_DAYS = 31  # the printable nights view without a range: the last month
MAX_PRINT_NIGHTS = 31  # a month of nights fits one A4 page at the print style's size


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, f"{name} must be a date as YYYY-MM-DD, got {raw[:40]!r}")


def date_range() -> tuple[date | None, date | None]:
    """?from= and ?to= (local dates, both inclusive); 400 naming the field when wrong."""
    lo, hi = _date_arg("from"), _date_arg("to")
    if lo and hi and lo > hi:
        abort(400, "from must not be after to")
    return lo, hi


def _local_ms(day: date) -> int:
    tz = ZoneInfo(config().node.timezone)
    return round(datetime.combine(day, time(0), tzinfo=tz).timestamp() * 1000)


@bp.get("/export")
def index():
    lo, hi = date_range()
    return render_template("export.html", page="export", lo=lo, hi=hi)


def _csv_response(kind: str) -> Response:
    lo, hi = date_range()
    from_ms = _local_ms(lo) if lo else None
    to_ms = _local_ms(hi + timedelta(days=1)) if hi else None
    store = data().reader()
    out = io.StringIO()
    all_nodes = request.args.get("all") == "1"
    nodes = None if all_nodes else [room()]
    if kind == "readings":
        csvio.export_readings(store, out, nodes, from_ms, to_ms)
    else:
        csvio.export_cramps(store, out, nodes, from_ms, to_ms)
    span = "".join(f"-{d.isoformat()}" for d in (lo, hi) if d)
    name = f"{'all-rooms' if all_nodes else room()}-{kind}{span}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/export/readings.csv")
def readings():
    return _csv_response("readings")


@bp.get("/export/cramps.csv")
def cramps():
    return _csv_response("cramps")


@bp.get("/export/nights")
def nights():
    """The nights of a date range (by their evening) on one printable page."""
    d = data()
    now = d.now_ms()
    lo, hi = date_range()
    hi = hi or nights_mod.local_date(now, d.params)
    lo = lo or hi - timedelta(days=PRINT_DAYS - 1)
    if (hi - lo).days + 1 > MAX_PRINT_NIGHTS:
        abort(400, f"at most {MAX_PRINT_NIGHTS} nights fit one page: choose a shorter range")
    node = room()
    book = nights_mod.NightBook(d.reader(), node, d.params, now)
    rows = []
    day = lo
    while day <= hi:
        start, _ = nights_mod.night_window(day, d.params)
        if start <= now:
            summary = book.night(day)
            if summary.n_readings:
                rows.append(summary)
        day += timedelta(days=1)
    book.save()
    return render_template(
        "export_nights.html",
        rows=rows,
        lo=lo,
        hi=hi,
        morning=hi + timedelta(days=1),
        node=node,
        threshold=config().analysis.cold_below_c,
        cold=sum(1 for r in rows if r.cold),
        cramp_nights=sum(1 for r in rows if r.cramp_night),
        cramps=sum(r.cramps for r in rows),
    )
