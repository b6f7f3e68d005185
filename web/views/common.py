"""What every view shares: the app's store access, the current room, the display mode,
safe redirects, paging, the template context, and the one guard for writes.

Authentication and CSRF tokens themselves are web.security's; ``write_required``
applies them, the same way for every route that writes.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

from flask import abort, current_app, g, jsonify, redirect, request, url_for

from web import security
from web.data import ROOM_COOKIE

MODE_COOKIE = "bedside_mode"  # auto, night or day (the /mode switch)
COOKIE_AGE = 400 * 86400
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def ext() -> dict:
    return current_app.extensions["bedside"]


def data():
    return ext()["data"]


def config():
    return ext()["config"]


def chosen_room(wanted: str | None = None) -> str:
    """wanted if it is a known room, else the browser's (bedside_room cookie), else the default."""
    return data().choose_node(wanted or request.cookies.get(ROOM_COOKIE))


def room() -> str:
    """The room a page shows: ?room=, else the cookie's; worked out once per request."""
    if "room" not in g:
        g.room = chosen_room(request.args.get("room"))
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


def page_arg() -> int:
    raw = request.args.get("page", "0")
    if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) > 100_000:
        abort(400, "page must be a whole number")
    return int(raw)


def page_context() -> dict:
    """What base.html needs on every page (the app's context processor)."""
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
        "night_hours": f"{config().analysis.night_start}–{config().analysis.night_end}",
    }


# -- the guard for writes ----------------------------------------------------------------------


def _refuse_form_write():
    """A browser form: logged in (when a password is set), else off to the login page;
    then this session's CSRF token, else 400."""
    if not security.logged_in(config()):
        return redirect(url_for("auth.login", next="/"))
    security.check_csrf()
    return None


def _refuse_api_write():
    """The API: the password (when set) as a login session sending its X-CSRF-Token (checked),
    or as Bearer/basic credentials, else 401 JSON with WWW-Authenticate; then a POST needs a
    JSON body or the X-CSRF-Token header, else 415.

    A cross-site HTML form can send a POST, but neither a JSON content type nor a
    custom header without a CORS preflight (which this app never approves).
    """
    cfg = config()
    if security.password_required(cfg):
        browser = security.logged_in(cfg) and request.headers.get("X-CSRF-Token")
        if browser:
            security.check_csrf()
        elif not security.api_credentials_ok(cfg):
            response = jsonify({"error": "this dashboard needs its password for changes"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="bedside"'
            return response
    if request.method == "POST" and not request.is_json and "X-CSRF-Token" not in request.headers:
        abort(415, "send the request as application/json")
    return None


def write_required(view=None, /, *, api: bool = False):
    """Guard a route's writing methods (anything but GET, HEAD and OPTIONS), before the view.

    ``@write_required`` on a form route: not logged in (with a password set) redirects to
    /login?next=/; a missing or wrong CSRF token is a 400 page.
    ``@write_required(api=True)`` on an API route: see _refuse_api_write (401 / 400 / 415 JSON).
    Reads on the same route (the edit form's GET) pass through untouched.
    """
    if view is None:
        return functools.partial(write_required, api=api)
    refuse = _refuse_api_write if api else _refuse_form_write

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if request.method not in READ_METHODS:
            refused = refuse()
            if refused is not None:
                return refused
        return view(*args, **kwargs)

    guarded.write_required = "api" if api else "form"
    return guarded
