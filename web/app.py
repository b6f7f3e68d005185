"""create_app(config): the dashboard's Flask application.

Nothing here opens a database or a socket at import time; the factory only
wires the blueprints (web.views, one per feature), the security layer and the
per-request store access.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from monitor.clock import SystemClock
from monitor.config import Config
from monitor.store import StoreError, corruption_message, is_corruption, is_disk_full
from monitor.store.seal import SealError
from web import filters, security
from web.data import DataAccess
from web.evidence import ChartCache
from web.reportjob import ReportJob
from web.views import (
    api,
    auth,
    common,
    cramps,
    evidence,
    export,
    nights,
    now,
    rooms,
    study,
    trends,
    trial,
)

BLUEPRINTS = (now.bp, nights.bp, cramps.bp, evidence.bp, export.bp, rooms.bp, auth.bp, api.bp)
BLUEPRINTS += (trial.bp,)  # the warm-night trial (docs/trial.md)
BLUEPRINTS += (trends.bp,)  # nights by week or month
BLUEPRINTS += (study.bp,)  # the pooled study across rooms (docs/many-rooms.md)

MAX_BODY_BYTES = 64 * 1024


def create_app(config: Config, *, clock=None, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the dashboard for one config (and one injected clock, for tests)."""
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="bedside_session",
        JSON_SORT_KEYS=False,
        REPORT_JOB_ENABLED=True,
    )
    app.config["SECRET_KEY"] = security.secret_key(config)
    if test_config:
        app.config.update(test_config)
    app.jinja_env.autoescape = True  # every template, whatever its extension
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    clock = clock or SystemClock()
    data = DataAccess(config, clock)
    job = ReportJob(config, enabled=app.config["REPORT_JOB_ENABLED"], clock=clock)
    app.extensions["bedside"] = {
        "config": config,
        "clock": clock,
        "data": data,
        "job": job,
        "charts": ChartCache(),  # evidence chart inputs, per app (and so per database)
    }

    if config.web.behind_proxy:
        # A reverse proxy (Caddy, nginx) on this machine terminates TLS: waitress
        # believes its X-Forwarded-For/-Proto/-Host (web.server.proxy_settings), and
        # the session cookie goes only over HTTPS.  See docs/security.md.
        app.config["SESSION_COOKIE_SECURE"] = True
    filters.register(app, config)
    security.register(app, config, clock)
    app.context_processor(common.page_context)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.teardown_appcontext(data.close_request)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.response is not None:
            return exc.response
        if request.path.startswith("/api/") or request.path == "/healthz":
            response = jsonify({"error": exc.description or exc.name})
            response.status_code = exc.code or 500
            if exc.code == 405 and exc.valid_methods:
                response.headers["Allow"] = ", ".join(exc.valid_methods)
        else:
            response = app.make_response(
                (render_template("error.html", code=exc.code, message=exc.description), exc.code)
            )
        for name, value in exc.get_headers():
            if name in ("Retry-After", "WWW-Authenticate"):
                response.headers[name] = value
        return response

    @app.errorhandler(sqlite3.DatabaseError)
    @app.errorhandler(StoreError)
    def storage_error(exc: Exception):
        """A full disk (507), a damaged file or a database this process cannot write (503):
        said in words, with what was not saved."""
        path = config.storage.database
        if is_disk_full(exc, path) and request.method in ("GET", "HEAD"):
            code = 503  # nothing was being saved: only reading failed
            message = f"the disk holding {path} is full; free some space on it"
        elif is_disk_full(exc, path):
            code, message = 507, "the disk is full; nothing was saved (the cramp was NOT saved)"
        elif is_corruption(exc):
            ext_state = app.extensions["bedside"]
            ext_state["damaged"] = corruption_message(path, exc)
            code, message = 503, ext_state["damaged"]
        elif request.method not in ("GET", "HEAD") and _unwritable(exc):
            code = 503
            message = (
                f"the dashboard cannot write to {path} ({exc}); nothing was saved."
                " Reading works; check that the database's directory belongs to the"
                " service's group (docs/operations.md)"
            )
        else:
            return unexpected(exc)
        app.logger.error("%s %s: %s", request.method, request.path, message)
        if request.path.startswith("/api/") or request.path == "/healthz":
            return jsonify({"error": message}), code
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(SealError)
    def sealed(exc: SealError):
        """A trial's schedule whose key this process cannot read (docs/trial.md)."""
        app.logger.error("%s %s: %s", request.method, request.path, exc)
        if request.path.startswith("/api/"):
            return jsonify({"error": str(exc)}), 503
        return render_template("error.html", code=503, message=str(exc)), 503

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error on %s", request.path)
        if request.path.startswith("/api/") or request.path == "/healthz":
            return jsonify({"error": "internal error (see the server log)"}), 500
        return render_template("error.html", code=500, message="Something went wrong."), 500

    return app


def _unwritable(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("readonly", "read-only", "unable to open", "permission"))
