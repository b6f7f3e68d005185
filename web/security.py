"""Who may write, CSRF tokens, security headers and the session secret.

Rules: with ``[web] password`` every write (form or API) needs it — a login
session for browsers, ``Authorization: Bearer <password>`` or basic auth for
the API.  Forms carry a per-session CSRF token.  Without a password (loopback,
or ``allow_anonymous_writes``) writes are open but forms still need the token.

Guessing: after ``GUESS_LIMIT`` wrong passwords from one client within
``GUESS_WINDOW_MS`` every password check from it (right or wrong) is answered
429 with ``Retry-After`` until the window has passed (:class:`Guesses`, on the
app's injected clock).  Sessions: a login session carries the server-side
session generation (bumped by every logout, kept beside the database) and a
fingerprint of the password, so logging out or changing the password revokes
every session cookie issued before.  Hosts: a dashboard answers only to its own
names (DNS rebinding), see :func:`register`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections import OrderedDict, deque
from pathlib import Path

from flask import Flask, abort, current_app, request, session
from werkzeug.exceptions import TooManyRequests

from monitor.config import Config
from web.hosts import LOOPBACK_NAMES, allowed_host, default_allowed_hosts, host_name, is_loopback

log = logging.getLogger(__name__)

GUESS_LIMIT = 10  # wrong passwords from one client ...
GUESS_WINDOW_MS = 15 * 60_000  # ... within this window lock it out of password checks
MIN_RETRY_AFTER_S = 60
MAX_CLIENTS_TRACKED = 10_000  # a flood of addresses cannot grow the table without bound

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


class Guesses:
    """Wrong passwords per client; a client with GUESS_LIMIT of them inside the window is
    refused every password check until the oldest of them leaves the window."""

    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.Lock()
        self._wrong: OrderedDict[str, deque[int]] = OrderedDict()
        self._logged: set[str] = set()  # clients whose lock-out was logged (once each)

    def _recent(self, client: str, now: int) -> deque[int]:
        times = self._wrong.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - GUESS_WINDOW_MS:
            times.popleft()
        if not times:
            del self._wrong[client]
            self._logged.discard(client)
        return times

    def retry_after_s(self, client: str) -> int | None:
        """Seconds until ``client`` may try a password again; None when it may now."""
        now = self.clock.now_ms()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < GUESS_LIMIT:
                return None
            left_ms = times[-GUESS_LIMIT] + GUESS_WINDOW_MS - now
        return max(MIN_RETRY_AFTER_S, -(-left_ms // 1000))

    def wrong(self, client: str) -> None:
        now = self.clock.now_ms()
        with self._lock:
            times = self._recent(client, now)
            if not times:
                self._wrong[client] = times
            self._wrong.move_to_end(client)
            times.append(now)
            while len(times) > GUESS_LIMIT:
                times.popleft()
            while len(self._wrong) > MAX_CLIENTS_TRACKED:
                old, _ = self._wrong.popitem(last=False)
                self._logged.discard(old)
            lock_out = len(times) >= GUESS_LIMIT and client not in self._logged
            if lock_out:
                self._logged.add(client)
        if lock_out:
            log.warning(
                "web: %d wrong passwords from %s within %d min; refusing its password checks"
                " (429) until they are older than that",
                GUESS_LIMIT,
                client,
                GUESS_WINDOW_MS // 60_000,
            )


class SessionGeneration:
    """The server-side session generation: every logout bumps it, revoking all sessions.

    Kept in a file beside the database so a restart does not bring old cookies back;
    where that file cannot be written (a read-only directory) it lives in memory.
    """

    def __init__(self, config: Config):
        db = Path(config.storage.database).expanduser()
        self.path = db.with_name(db.name + ".web-sessions")
        self._lock = threading.Lock()
        try:
            self.value = int(self.path.read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            self.value = 0

    def bump(self) -> None:
        with self._lock:
            self.value += 1
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as f:
                    f.write(f"{self.value}\n")
                os.replace(tmp, self.path)
            except OSError as exc:
                log.warning(
                    "web: cannot record the logout in %s (%s): sessions issued before it"
                    " stay revoked only until the dashboard restarts",
                    self.path,
                    exc.strerror or exc,
                )


def _state() -> dict:
    return current_app.extensions["bedside_security"]


def client_address() -> str:
    """Who is guessing: the peer address (the proxy's client with [web] behind_proxy)."""
    return request.remote_addr or "unknown"


def _matches(config: Config, candidate: str | None) -> bool:
    """Compare a candidate password, counting wrong ones per client.

    A client locked out by too many wrong passwords gets 429 (Retry-After) instead,
    whether this one is right or not.
    """
    if not config.web.password:
        return False
    guesses: Guesses = _state()["guesses"]
    client = client_address()
    wait = guesses.retry_after_s(client)
    if wait is not None:
        raise TooManyRequests(
            f"too many wrong passwords from {client}; try again in {wait} s",
            retry_after=wait,
        )
    if candidate and hmac.compare_digest(candidate.encode(), config.web.password.encode()):
        return True
    guesses.wrong(client)
    return False


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
            decoded = ""
        return _matches(config, decoded.partition(":")[2])
    return False


def _password_mark(config: Config) -> str:
    """A fingerprint of the password (keyed by the app secret): a new password, new mark."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, (config.web.password or "").encode(), hashlib.sha256).hexdigest()[:32]


def logged_in(config: Config) -> bool:
    if not password_required(config):
        return True
    return (
        bool(session.get("auth"))
        and session.get("gen") == _state()["generation"].value
        and hmac.compare_digest(str(session.get("pw", "")), _password_mark(config))
    )


def login(config: Config, password: str) -> bool:
    if _matches(config, password):
        session.clear()
        session["auth"] = True
        session["gen"] = _state()["generation"].value
        session["pw"] = _password_mark(config)
        session["csrf"] = secrets.token_urlsafe(32)
        return True
    return False


def logout(config: Config) -> None:
    """End this session and every other one issued so far (copied cookies included)."""
    if password_required(config) and session.get("auth"):
        _state()["generation"].bump()
    session.clear()


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


def register(app: Flask, config: Config, clock) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.extensions["bedside_security"] = {
        "guesses": Guesses(clock),
        "generation": SessionGeneration(config),
    }
    if is_loopback(config.web.host) and not config.web.behind_proxy:

        @app.before_request
        def only_loopback_names():
            # A dashboard bound to loopback answers only to loopback names: a web page
            # elsewhere cannot reach it by re-pointing its own DNS name at 127.0.0.1.
            if host_name(request.host.lower()) not in LOOPBACK_NAMES:
                abort(400, "this dashboard answers only to localhost / 127.0.0.1")

    else:
        # Off loopback (or behind a proxy) the same holds for the machine's own names:
        # [web] allowed_hosts, by default its host name, <host>.local, localhost and any
        # address literal (a rebinding attack needs a name of its own).
        names = {n.lower() for n in config.web.allowed_hosts} or default_allowed_hosts()
        wanted = ", ".join(sorted(names)) if config.web.allowed_hosts else "its own names"

        @app.before_request
        def only_own_names():
            if not allowed_host(host_name(request.host.lower()), names, config.web.allowed_hosts):
                abort(400, f"this dashboard answers only to {wanted} ([web] allowed_hosts)")

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response
