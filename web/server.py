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
    """Let one record through per ``window_s``; the next one says how many were held back.

    waitress warns "Task queue depth is N" on every request that has to wait for a
    thread: under load that was one line per request (27,446 in a minute).
    """

    def __init__(self, window_s: float = 60.0, monotonic=time.monotonic):
        super().__init__()
        self.window_s = window_s
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._last: float | None = None
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.monotonic()
        with self._lock:
            if self._last is not None and now - self._last < self.window_s:
                self._held += 1
                return False
            held, self._held, self._last = self._held, 0, now
        if held:
            record.msg = f"{record.msg} ({held} more such messages in the last %.0f s)"
            record.args = (*(record.args or ()), self.window_s)
        return True


def quiet_waitress(window_s: float = 60.0) -> None:
    """Rate-limit waitress's per-request queue warnings (idempotent)."""
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, OncePerWindow) for f in queue_log.filters):
        queue_log.addFilter(OncePerWindow(window_s))


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
