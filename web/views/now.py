"""Now: the bedside page (and its self-updating part), the night/day display mode, the icon."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from web import charts
from web.views.api import database_damage
from web.views.common import (
    COOKIE_AGE,
    MODE_COOKIE,
    config,
    data,
    night_mode,
    room,
    safe_next,
)
from web.views.nights import night_chart
from web.views.trial import tonight as trial_tonight

bp = Blueprint("now", __name__)


def now_context(node: str) -> dict:
    d = data()
    cur = d.current(node)
    now = d.now_ms()
    hour = d.reader().readings(node, now - 3_600_000, now + 1)
    trend = None
    if len(hour) >= 2:
        trend = hour[-1].temperature_c - hour[0].temperature_c
    night = d.tonight_or_last(now)
    svg, cramps, _ = night_chart(node, night)
    health = cur.health or {}
    # The health row is written every few minutes; the newest reading is newer good news.
    last_good = max(filter(None, (health.get("last_good_ms"), cur.ts_ms)), default=None)
    return {
        "cur": cur,
        "last_good_ms": last_good,
        "spark": charts.sparkline([(r.ts_ms, r.temperature_c) for r in hour]),
        "trend": trend,
        "night_date": night,
        "night_svg": svg,
        "night_cramps": cramps,
        "cold_alert_threshold": config().alerts.cold_below_c,
        "trial_tonight": trial_tonight(node),
        # What /healthz says too (a request that met the damage, or quick_check every 10 min).
        "damaged": database_damage(),
    }


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="icon.svg"), 301)


@bp.get("/")
def now():
    return render_template("now.html", **now_context(room()), page="now")


@bp.get("/now/live")
def live():
    """The self-updating part of the Now page (fetched by static/app.js)."""
    return render_template("_now_live.html", **now_context(room()))


@bp.get("/mode")
def mode():
    """Night, day or auto (night hours) display, kept in a cookie."""
    mode = request.args.get("set", "auto")
    if mode not in ("auto", "night", "day"):
        abort(400, "mode must be auto, night or day")
    in_night = data().in_night_window(data().now_ms())
    if mode == "day" and in_night and night_mode() and request.args.get("confirm") != "1":
        # One mis-tap at 3 am must not light the room (and the choice lasts): ask first.
        return render_template("mode_confirm.html", back=safe_next())
    response = redirect(safe_next())
    response.set_cookie(MODE_COOKIE, mode, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    return response
