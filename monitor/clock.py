"""Time as a dependency: the daemon asks a Clock, tests hand it a FakeClock.

Instants are integer milliseconds since the Unix epoch, UTC, everywhere in the
store and the core; local time exists only in night/analysis code.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

# No reading can be older than the software: a Pi without an RTC boots in 1970
# or at its last shutdown time until NTP answers.
RELEASE_DATE_MS = 1_780_272_000_000  # 2026-06-01T00:00:00Z
# How far ahead of this machine's clock a row from elsewhere (an import, the API, another
# room over MQTT) may be stamped: clocks differ a little; more is a wrong clock or a typo,
# and a row in the future would stand for "now" until its time has come.
FUTURE_SLACK_MS = 5 * 60_000


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, until: threading.Event | None = None) -> bool:
        """Sleep, waking early if ``until`` is set; True when woken by the event."""
        if until is not None:
            return until.wait(max(0.0, seconds))
        time.sleep(max(0.0, seconds))
        return False


class FakeClock:
    """A clock that moves only when told to (sleep advances it instantly)."""

    def __init__(self, start_ms: int = RELEASE_DATE_MS + 86_400_000):
        self._now_ms = start_ms
        self._mono = 1000.0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now_ms

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now_ms += round(seconds * 1000)
            self._mono += seconds

    def set_wall(self, ms: int) -> None:
        """Jump the wall clock (an NTP correction) without moving monotonic time."""
        with self._lock:
            self._now_ms = ms

    def sleep(self, seconds: float, until: threading.Event | None = None) -> bool:
        if until is not None and until.is_set():
            return True
        self.advance(max(0.0, seconds))
        return False


def iso_utc(ms: int) -> str:
    """'2026-09-15T10:00:00Z' (milliseconds shown only when present)."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if ms % 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ms: int) -> str:
    """'2026-12-07T06:25:00.000Z': always milliseconds, exact (the evidence's `as_of`)."""
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


# Instants any part of bedside accepts: 1970 to 2200.  Outside that, a timestamp
# is a typo (year 0001, 20260), and some could not even be printed back.
MIN_INSTANT_MS = 0
MAX_INSTANT_MS = 7_258_118_400_000  # 2200-01-01T00:00:00Z


def check_instant(ms: int, text: str = "") -> int:
    """ms unchanged, or InstantError if outside 1970..2200."""
    if not MIN_INSTANT_MS <= ms < MAX_INSTANT_MS:
        raise InstantError(f"timestamp {text or ms!r} is outside the years 1970-2199")
    return ms


class InstantError(ValueError):
    """A timestamp that is not an ISO 8601 instant with an offset."""


def parse_instant(text: str, *, require_offset: bool = True) -> int:
    """Parse ISO 8601 with an offset or Z into epoch milliseconds."""
    s = text.strip()
    if not s:
        raise InstantError("empty timestamp")
    try:
        dt = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        raise InstantError(f"not an ISO 8601 timestamp: {text!r}") from None
    if dt.tzinfo is None:
        if require_offset:
            raise InstantError(f"timestamp has no UTC offset or Z: {text!r}")
        dt = dt.replace(tzinfo=UTC)
    try:
        ms = round(dt.timestamp() * 1000)
    except (OverflowError, ValueError):
        raise InstantError(f"timestamp {text!r} is outside the years 1970-2199") from None
    return check_instant(ms, text)


def future_problem(ts_ms: int, now_ms: int) -> str | None:
    """Why ``ts_ms`` cannot be accepted as already happened, or None."""
    if ts_ms > now_ms + FUTURE_SLACK_MS:
        return (
            f"{iso_utc(ts_ms)} is in the future (more than {FUTURE_SLACK_MS // 60_000} min"
            " after this machine's clock)"
        )
    return None


def live_problem(ts_ms: int, now_ms: int) -> str | None:
    """The one rule for an instant a person logs now (a cramp: CLI, dashboard, API): not
    before this software existed, not in the future.  None when it is fine."""
    if ts_ms < RELEASE_DATE_MS:
        return (
            f"{iso_utc(ts_ms)} is before this software existed"
            f" ({iso_utc(RELEASE_DATE_MS)[:10]}); check the date"
        )
    return future_problem(ts_ms, now_ms)
