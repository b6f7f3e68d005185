"""Push notifications through apprise, sent off the read loop.

One message when an alert episode starts ("Bedroom is 16.8 °C, below 18 °C
since 02:10", in the node's local time) and one when it ends.  Each URL of
``[alerts] notify`` is tried on a worker thread with apprise's connect and
read timeouts set to ``notify_timeout_s``, retried ``notify_retries`` times
with doubling backoff, and every failure is logged (URL shown with secrets
hidden).  Shutdown abandons pending retries and waits a bounded time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.daemon.alerts import COLD, Transition
from monitor.daemon.worker import SerialWorker

log = logging.getLogger(__name__)


def _hhmm(ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%H:%M")


def _num(value: float) -> str:
    return f"{value:g}"  # 18.0 -> "18", 17.5 -> "17.5"


def format_message(t: Transition, room: str, tz: ZoneInfo, cold_below_c: float) -> tuple[str, str]:
    """(title, body) for a transition; times in the node's local time."""
    limit = _num(cold_below_c)
    if t.kind == COLD and t.active:
        temp = f"{t.temperature_c:.1f}"
        return (
            f"{room} is cold",
            f"{room} is {temp} °C, below {limit} °C since {_hhmm(t.since_ms, tz)}",
        )
    if t.kind == COLD:
        span = f"from {_hhmm(t.since_ms, tz)} to {_hhmm(t.end_ms or t.at_ms, tz)}"
        lowest = f" (lowest {t.min_temp_c:.1f} °C)" if t.min_temp_c is not None else ""
        if t.reason == "stale":
            return (
                f"{room}: cold alert ended, no readings",
                f"{room} was below {limit} °C {span}{lowest}; the sensor has been silent"
                f" since {_hhmm(t.end_ms or t.since_ms, tz)}, so the alert is off",
            )
        return (
            f"{room} is warm again",
            f"{room} is {t.temperature_c:.1f} °C again; it was below {limit} °C {span}{lowest}",
        )
    if t.active:
        return (
            f"{room}: sensor silent",
            f"{room}: no good reading from the sensor since {_hhmm(t.since_ms, tz)}",
        )
    return (
        f"{room}: sensor back",
        f"{room}: the sensor reads again ({t.temperature_c:.1f} °C)",
    )


class Notifier:
    """Delivers messages to apprise URLs on its own thread; ``send`` never blocks."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 2.0,
        max_backoff_s: float = 60.0,
    ):
        import apprise  # heavy import, only when notifications are configured

        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.targets = []
        for url in urls:
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                log.error("[alerts] notify: %r is not a URL apprise understands; skipped", url)
                continue
            plugin.socket_connect_timeout = timeout_s
            plugin.socket_read_timeout = timeout_s
            self.targets.append(plugin)
        self.worker = SerialWorker("notify")
        self.sent = 0  # messages delivered (all attempts counted once per URL)
        self.failed = 0  # messages given up on

    def start(self) -> None:
        self.worker.start()

    def send(self, title: str, body: str) -> None:
        if self.targets:
            self.worker.submit(lambda: self._deliver(title, body))

    def close(self, timeout: float | None = None) -> bool:
        """Abandon retries; wait for a send in flight at most a few seconds (daemon thread)."""
        return self.worker.close(min(self.timeout_s + 1.0, 5.0) if timeout is None else timeout)

    def _deliver(self, title: str, body: str) -> None:
        for plugin in self.targets:
            name = plugin.url(privacy=True)
            for attempt in range(self.retries + 1):
                if attempt and self.worker.stopping.is_set():
                    break
                try:
                    ok = plugin.notify(body=body, title=title)
                except Exception as exc:  # a plugin bug must not kill the worker
                    log.warning("notification to %s raised %s", name, exc)
                    ok = False
                if ok:
                    self.sent += 1
                    break
                if attempt < self.retries:
                    delay = min(self.max_backoff_s, self.backoff_s * 2**attempt)
                    log.warning(
                        "notification to %s failed (attempt %d of %d); retrying in %.0f s",
                        name,
                        attempt + 1,
                        self.retries + 1,
                        delay,
                    )
                    if self.worker.stopping.wait(delay):
                        break
            else:
                self.failed += 1
                log.error("notification to %s failed %d times; giving up", name, self.retries + 1)
                continue
            if not ok:
                self.failed += 1
                log.error("notification to %s abandoned at shutdown", name)
