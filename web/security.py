"""Who may write, CSRF tokens, security headers and the session secret.

Rules: with ``[web] password`` every write (form or API) needs it — a login
session for browsers, ``Authorization: Bearer <password>`` or basic auth for
the API.  Forms carry a per-session CSRF token.  Without a password (loopback,
or ``allow_anonymous_writes``) writes are open but forms still need the token.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from pathlib import Path

from flask import Flask, abort, request, session

from monitor.config import Config
from web.hosts import LOOPBACK_NAMES, host_name, is_loopback

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


def secret_key(config: Config) -> str:
    """[web] secret_key, else one generated once and kept next to the database."""
    if config.web.secret_key:
        return config.web.secret_key
    db = Path(config.storage.database).expanduser()
    path = db.with_name(db.name + ".web-secret")
    try:
        return path.read_text(encoding="ascii").strip() or _new_secret(path)
    except FileNotFoundError:
        return _new_secret(path)
    except OSError:
        return secrets.token_hex(32)  # unreadable: sessions last until restart


def _new_secret(path: Path) -> str:
    key = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
    except OSError:
        pass
    return key


def password_required(config: Config) -> bool:
    return bool(config.web.password)


def _matches(config: Config, candidate: str | None) -> bool:
    if not candidate or not config.web.password:
        return False
    return hmac.compare_digest(candidate.encode(), config.web.password.encode())


def api_credentials_ok(config: Config) -> bool:
    """Bearer token or basic auth (any user name) carrying the password."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return _matches(config, value.strip())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return _matches(config, decoded.partition(":")[2])
    return False


def logged_in(config: Config) -> bool:
    return not password_required(config) or bool(session.get("auth"))


def login(config: Config, password: str) -> bool:
    if _matches(config, password):
        session.clear()
        session["auth"] = True
        session["csrf"] = secrets.token_urlsafe(32)
        return True
    return False


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Abort 400 unless the form (or X-CSRF-Token header) carries this session's token."""
    expected = session.get("csrf")
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not expected or not given or not hmac.compare_digest(expected, given):
        abort(400, "the form expired or did not come from this dashboard; reload and try again")


def register(app: Flask, config: Config) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    if is_loopback(config.web.host):

        @app.before_request
        def only_loopback_names():
            # A dashboard bound to loopback answers only to loopback names: a web page
            # elsewhere cannot reach it by re-pointing its own DNS name at 127.0.0.1.
            if host_name(request.host.lower()) not in LOOPBACK_NAMES:
                abort(400, "this dashboard answers only to localhost / 127.0.0.1")

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response
