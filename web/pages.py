"""The HTML pages: Now, Nights, Cramps, Evidence, Export, Rooms, login."""

from __future__ import annotations

import io
import re
import statistics
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from monitor import csvio
from monitor import nights as nights_mod
from monitor.vocabulary import LEGS, REMEDIES
from web import charts, evidence, forms, security
from web.data import ROOM_COOKIE

bp = Blueprint("pages", __name__)

MODE_COOKIE = "bedside_mode"
COOKIE_AGE = 400 * 86400
NIGHTS_PER_PAGE = 14
CRAMPS_PER_PAGE = 30
RESTORABLE_DAYS = 30  # deleted cramps listed for restoring
MAX_ID = 2**63 - 1  # SQLite's largest integer
FIRST_NIGHT, LAST_NIGHT = date(1970, 1, 2), date(2199, 12, 30)


def ext() -> dict:
    return current_app.extensions["bedside"]


def data():
    return ext()["data"]


def config():
    return ext()["config"]


def room() -> str:
    if "room" not in g:
        g.room = data().choose_node(request.args.get("room") or request.cookies.get(ROOM_COOKIE))
    return g.room


def safe_next(default: str = "/") -> str:
    """A local path to go back to, never another site (no scheme, host, '//' or controls)."""
    target = request.values.get("next", "")
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
        and not any(c.isspace() for c in target)
        and not urlsplit(target).netloc
    ):
        return target
    return default


def night_mode() -> bool:
    mode = request.cookies.get(MODE_COOKIE, "auto")
    if mode == "night":
        return True
    if mode == "day":
        return False
    return data().in_night_window(data().now_ms())


@bp.app_context_processor
def common():
    if request.path.startswith("/api/"):
        return {}
    try:
        nodes = data().nodes()
        current_room = room()
        night = night_mode()
    except Exception:  # an error page must render even when the database cannot be read
        nodes, current_room, night = [], config().node.id, False
    return {
        "rooms": nodes if len(nodes) > 1 else [],
        "room": current_room,
        "night": night,
        "mode": request.cookies.get(MODE_COOKIE, "auto"),
        "logged_in": security.logged_in(config()),
        "password_required": security.password_required(config()),
        "threshold": config().analysis.cold_below_c,
    }


def require_write():
    """A browser write: logged in (when a password is set) and a valid CSRF token."""
    if not security.logged_in(config()):
        return redirect(url_for("pages.login", next="/"))
    security.check_csrf()
    return None


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
    return {
        "cur": cur,
        "spark": charts.sparkline([(r.ts_ms, r.temperature_c) for r in hour]),
        "trend": trend,
        "night_date": night,
        "night_svg": svg,
        "night_cramps": cramps,
        "cold_alert_threshold": config().alerts.cold_below_c,
    }


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="icon.svg"), 301)


@bp.get("/")
def now():
    return render_template("now.html", **now_context(room()), page="now")


@bp.get("/now/live")
def now_live():
    """The self-updating part of the Now page (fetched by static/app.js)."""
    return render_template("_now_live.html", **now_context(room()))


@bp.post("/cramps/log")
def log_cramp():
    refused = require_write()
    if refused:
        return refused
    d = data()
    now = d.now_ms()
    cramp, _ = d.writer().add_cramp(room(), now, source="web", now_ms=now)
    return redirect(url_for("pages.edit_cramp", cramp_id=cramp.id, new=1, room=room()))


def _cramp_or_404(cramp_id: int):
    cramp = data().reader().get_cramp(cramp_id) if cramp_id <= MAX_ID else None
    if cramp is None:
        abort(404, "no such cramp")
    return cramp


@bp.route("/cramps/<int:cramp_id>/edit", methods=["GET", "POST"])
def edit_cramp(cramp_id: int):
    cramp = _cramp_or_404(cramp_id)
    d = data()
    error = None
    if request.method == "POST":
        refused = require_write()
        if refused:
            return refused
        try:
            changes = forms.from_form(request.form, d.tz, d.now_ms())
            original = d.local(cramp.ts_ms).strftime("%Y-%m-%dT%H:%M")
            if request.form.get("when", "").strip() == original:
                changes.pop("ts_ms", None)
            updated = d.writer().update_cramp(cramp_id, now_ms=d.now_ms(), **changes)
            if updated is None:
                abort(404, "no such cramp")
            return redirect(url_for("pages.cramps_page", room=updated.node, saved=updated.id))
        except ValueError as exc:
            error = str(exc)
    status = 400 if error else 200
    return (
        render_template(
            "cramp_edit.html",
            cramp=cramp,
            new=request.args.get("new") == "1",
            error=error,
            legs=LEGS,
            remedies=REMEDIES,
            form=request.form if error else None,
            page="cramps",
        ),
        status,
    )


@bp.post("/cramps/<int:cramp_id>/delete")
def delete_cramp(cramp_id: int):
    refused = require_write()
    if refused:
        return refused
    _cramp_or_404(cramp_id)
    d = data()
    d.writer().delete_cramp(cramp_id, now_ms=d.now_ms())
    return redirect(url_for("pages.cramps_page", deleted=cramp_id))


@bp.post("/cramps/<int:cramp_id>/restore")
def restore_cramp(cramp_id: int):
    refused = require_write()
    if refused:
        return refused
    _cramp_or_404(cramp_id)
    d = data()
    d.writer().restore_cramp(cramp_id, now_ms=d.now_ms())
    return redirect(url_for("pages.cramps_page", saved=cramp_id))


def remedy_table(cramps) -> list[dict]:
    """Which remedies brought relief fastest (median minutes), best first."""
    by: dict[str, list[float]] = {}
    for c in cramps:
        if c.remedy and c.relief_min is not None:
            by.setdefault(c.remedy, []).append(c.relief_min)
    rows = [{"remedy": r, "count": len(v), "median": statistics.median(v)} for r, v in by.items()]
    return sorted(rows, key=lambda row: (row["median"], -row["count"]))


@bp.get("/cramps")
def cramps_page():
    page = _page_arg()
    store = data().reader()
    node = room()
    rows = store.cramps(
        node, newest_first=True, limit=CRAMPS_PER_PAGE + 1, offset=page * CRAMPS_PER_PAGE
    )
    deleted = _id_arg("deleted")
    deleted_cramp = store.get_cramp(deleted) if deleted else None
    if deleted_cramp is not None and not deleted_cramp.deleted:
        deleted_cramp = None
    # Deletions (a 3-s hold on the button, or ✕ here) stay restorable: list the recent ones.
    since = data().now_ms() - RESTORABLE_DAYS * 86_400_000
    recently_deleted = [
        c for c in store.cramps(node, since, include_deleted=True, newest_first=True) if c.deleted
    ][:20]
    return render_template(
        "cramps.html",
        recently_deleted=recently_deleted if page == 0 else [],
        cramps=rows[:CRAMPS_PER_PAGE],
        more=len(rows) > CRAMPS_PER_PAGE,
        page_no=page,
        remedies=remedy_table(store.cramps(node)),
        deleted=deleted_cramp,
        saved=_id_arg("saved"),
        page="cramps",
    )


def _id_arg(name: str) -> int | None:
    """An optional cramp id from the query string; anything else is ignored."""
    raw = request.args.get(name, "")
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else None


def _page_arg() -> int:
    raw = request.args.get("page", "0")
    if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) > 100_000:
        abort(400, "page must be a whole number")
    return int(raw)


@bp.get("/nights")
def nights_page():
    page = _page_arg()
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
def night_page(night: str):
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


@bp.get("/evidence")
def evidence_page():
    d = data()
    node = room()
    view = evidence.load(d, ext()["job"], node)
    report = view.report.report if view.report else {}
    key = (view.report.created_ms, view.report.data_version) if view.report else (None, None)
    threshold = config().analysis.cold_below_c

    def build() -> dict:
        inputs = evidence.chart_inputs(d, node)
        groups = [("Cramp nights", inputs["cramp"]), ("Cramp-free nights", inputs["free"])]
        bands = evidence.dose_response(report) or inputs["bands"]
        return {
            "strip": charts.strip_plot(groups, threshold=threshold),
            "bands": charts.band_chart(bands),
        }

    key = (*key, d.reader().data_version(), d.tonight_or_last(d.now_ms()))
    rendered = ext()["charts"].get(node, key, build)
    return render_template(
        "evidence.html",
        view=view,
        r=report,
        strip=rendered["strip"],
        bands=rendered["bands"],
        nights_needed=evidence.nights_needed(report),
        extras=evidence.extra_figures(report),
        page="evidence",
    )


@bp.get("/export")
def export_page():
    return render_template("export.html", page="export")


def _csv_response(kind: str) -> Response:
    store = data().reader()
    out = io.StringIO()
    all_nodes = request.args.get("all") == "1"
    nodes = None if all_nodes else [room()]
    if kind == "readings":
        csvio.export_readings(store, out, nodes)
    else:
        csvio.export_cramps(store, out, nodes)
    name = f"{'all-rooms' if all_nodes else room()}-{kind}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/export/readings.csv")
def export_readings():
    return _csv_response("readings")


@bp.get("/export/cramps.csv")
def export_cramps():
    return _csv_response("cramps")


@bp.get("/rooms")
def rooms_page():
    d = data()
    rows = []
    for node in d.nodes():
        cur = d.current(node["id"])
        rows.append({"node": node, "cur": cur})
    return render_template("rooms.html", rows=rows, page="rooms")


@bp.get("/room")
def choose_room():
    wanted = request.args.get("id", "")
    ids = [n["id"] for n in data().nodes()]
    if wanted not in ids:
        abort(404, "no such room")
    response = redirect(safe_next())
    response.set_cookie(ROOM_COOKIE, wanted, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    return response


@bp.get("/mode")
def set_mode():
    mode = request.args.get("set", "auto")
    if mode not in ("auto", "night", "day"):
        abort(400, "mode must be auto, night or day")
    response = redirect(safe_next())
    response.set_cookie(MODE_COOKIE, mode, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        security.check_csrf()
        if security.login(config(), request.form.get("password", "")):
            return redirect(safe_next())
        error = "That password is not right."
    return render_template("login.html", error=error, next=safe_next(), page="login"), (
        401 if error else 200
    )


@bp.post("/logout")
def logout():
    security.check_csrf()
    session.clear()
    return redirect("/")
