"""`bedside web`: the dashboard served by waitress (never Flask's debug server)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from monitor.config import Config
from monitor.errors import EXIT_USAGE, UserError
from web.hosts import is_loopback

log = logging.getLogger(__name__)


def check_exposure(config: Config, host: str) -> None:
    """Refuse to serve the network with open writes unless the config says so."""
    if is_loopback(host) or config.web.password or config.web.allow_anonymous_writes:
        return
    raise UserError(
        f"refusing to serve {host} without [web] password "
        "(set one, or allow_anonymous_writes = true to accept writes from anyone on the network)",
        EXIT_USAGE,
    )


class OncePerWindow(logging.Filter):
    """Let one record of each message through per ``window_s``; the next one of that
    message says how many were held back.  With ``only``, messages that start with none
    of those prefixes pass untouched.

    waitress warns "Task queue depth is N" on every request that has to wait for a
    thread: under load that was one line per request (27,446 in a minute); and a server
    at its connection limit flips between "reached the connection limit" and "dropped
    below" (3,372 lines in a minute).
    """

    def __init__(
        self,
        window_s: float = 60.0,
        monotonic=time.monotonic,
        only: tuple[str, ...] | None = None,
    ):
        super().__init__()
        self.window_s = window_s
        self.monotonic = monotonic
        self.only = only
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        if self.only is not None and not key.startswith(self.only):
            return True
        now = self.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.window_s:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            held = self._held.pop(key, 0)
            self._last[key] = now
        if held:
            record.msg = f"{record.msg} ({held} more such messages in the last %.0f s)"
            record.args = (*(record.args or ()), self.window_s)
        return True


# waitress closes a channel idle this long (no request in progress), looking every
# CLEANUP_INTERVAL_S.  Its defaults (120 s, every 30 s) let 100 idle sockets keep the
# dashboard from accepting anyone for up to 150 s.  A browser reopens a closed idle
# connection without a sign.
CHANNEL_TIMEOUT_S = 15
CLEANUP_INTERVAL_S = 2
# Open channels at once.  Each may hold up to 3 descriptors (socket, spooled request
# and response bodies); 3 x 250 stays well under a service's 1,024 soft limit with the
# database's own files.  A household's browsers use a few dozen.
CONNECTION_LIMIT = 250
_CONNECTION_LINES = ("total open connections",)


def quiet_waitress(window_s: float = 60.0) -> None:
    """Rate-limit waitress's per-request queue warnings and its connection-limit
    lines (idempotent)."""
    for name, only in (("waitress.queue", None), ("waitress", _CONNECTION_LINES)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePerWindow) for f in logger.filters):
            logger.addFilter(OncePerWindow(window_s, only=only))


PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})


def proxy_settings(app) -> dict:
    """waitress's trusted proxy for an app with ``[web] behind_proxy``: the headers of
    one hop, believed only from ``[web] trusted_proxy``; from any other peer they are
    removed (``clear_untrusted_proxy_headers``), so a client that reaches waitress
    directly cannot pick the address its wrong passwords are counted against.

    waitress does this itself, before the app: a WSGI middleware such as werkzeug's
    ProxyFix would only ever see headers waitress had already cleared."""
    config = getattr(app, "extensions", {}).get("bedside", {}).get("config")
    if config is None or not config.web.behind_proxy:
        return {}
    return {
        "trusted_proxy": config.web.trusted_proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": set(PROXY_HEADERS),
    }


def create_server(app, host: str, port: int, threads: int):
    """waitress, as every bedside server runs it (tests and `bedside web` alike)."""
    from waitress.server import create_server as waitress_server

    quiet_waitress()

    return waitress_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="bedside",
        clear_untrusted_proxy_headers=True,
        channel_timeout=CHANNEL_TIMEOUT_S,
        cleanup_interval=CLEANUP_INTERVAL_S,
        connection_limit=CONNECTION_LIMIT,
        **proxy_settings(app),
    )


class ServerThread:
    """The real app over HTTP in a background thread (tests, the demo, benchmarks)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int = 4):
        self.server = create_server(app, host, port, threads)
        self.host = host
        self.port = self.server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:  # the socket closed under asyncore's loop on shutdown
            pass

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.close()
        task_dispatcher = getattr(self.server, "task_dispatcher", None)
        if task_dispatcher is not None:
            task_dispatcher.shutdown(timeout=5)
        self._thread.join(10)


def serve(app, host: str, port: int, threads: int, ready: Callable[[str], None] | None = None):
    try:
        server = create_server(app, host, port, threads)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    url = f"http://{host if ':' not in host else f'[{host}]'}:{server.effective_port}"
    if ready:
        ready(url)
    try:
        server.run()
    finally:
        server.close()
