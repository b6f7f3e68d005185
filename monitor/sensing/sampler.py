"""One good reading per interval: retries, plausibility filter, health, clock guard.

Pure logic around an injected sensor and clock (no store, no network):
- :class:`ReadingFilter` rejects what cannot be true: out of the model's range,
  NaN, and single-read spikes (a jump of more than ``max_jump_c`` from the
  recent median that the next read does not confirm; a confirmed step is a
  real change and is accepted).
- :class:`SensorHealth` counts consecutive failures and the failure rate over
  a window, and remembers the last good reading.
- :class:`Sampler` reads with bounded retries, never faster than every 2 s
  (the DHT's limit), and logs a failure streak once and its recovery once.  A
  sensor that is not open (``SensorUnavailable``) fails the cycle without retries.
- :class:`ClockGuard` refuses instants before the release date or before the
  newest stored reading (a Pi without an RTC boots with a wrong time).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from dataclasses import dataclass

from monitor.clock import RELEASE_DATE_MS, iso_utc
from monitor.sensing.drivers import SensorUnavailable

log = logging.getLogger(__name__)

# The DHT cannot be read more often than every 2 s, and adafruit_dht silently returns
# its cached measurement when asked again within 2 s: keep a little margin.
MIN_READ_GAP_S = 2.1
# (temperature range, humidity range) the sensor can report, from the datasheets.
RANGES = {
    "dht22": ((-40.0, 80.0), (0.0, 100.0)),
    "dht11": ((0.0, 50.0), (20.0, 90.0)),
    "simulated": ((-40.0, 80.0), (0.0, 100.0)),
}


def _median(values) -> float:
    """statistics.median without importing statistics (decimal, fractions: ~2 MB RSS)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True, slots=True)
class Sample:
    ts_ms: int
    temperature_c: float
    humidity_pct: float | None


class ReadingFilter:
    """Accepts or rejects raw values; remembers recent accepted temperatures."""

    def __init__(self, model: str, max_jump_c: float, window: int = 5):
        self.model = model
        self.temp_range, self.hum_range = RANGES[model]
        self.max_jump_c = max_jump_c
        self.recent: deque[float] = deque(maxlen=window)
        self.pending: float | None = None  # a suspected spike awaiting confirmation

    def check(self, temperature, humidity) -> str | None:
        """None when the values are plausible, else the reason they are not."""
        if temperature is None:
            return "the driver returned no value"
        for label, value, (lo, hi), unit in (
            ("temperature", temperature, self.temp_range, "°C"),
            ("humidity", humidity, self.hum_range, "%RH"),
        ):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{label} {value!r} is not a number"
            if math.isnan(value) or math.isinf(value):
                return f"{label} is not a finite number ({value})"
            if not lo <= value <= hi:
                return f"{label} {value:g} {unit} is outside {lo:g}..{hi:g} for a {self.model}"
        if self.recent:
            median = _median(self.recent)
            if abs(temperature - median) > self.max_jump_c:
                pending = self.pending
                if pending is not None and abs(temperature - pending) <= self.max_jump_c:
                    # Two reads agree on the new level: a real change (heating, window).
                    self.recent.clear()
                    self.recent.append(pending)
                    self.pending = None
                    self.recent.append(float(temperature))
                    return None
                self.pending = float(temperature)
                return (
                    f"spike: {temperature:g} °C is {temperature - median:+.1f} from the recent"
                    f" median {median:g} °C (kept only if the next read confirms it)"
                )
        self.pending = None
        self.recent.append(float(temperature))
        return None


@dataclass(frozen=True)
class HealthSnapshot:
    status: str  # starting | ok | degraded | failing
    consecutive_failures: int
    failure_rate: float
    last_good_ms: int | None
    last_error: str | None


class SensorHealth:
    """Read attempts over a sliding window, and the outcome of the last cycle."""

    DEGRADED_RATE = 0.2

    def __init__(self, window: int = 100):
        self.attempts: deque[bool] = deque(maxlen=window)
        self.consecutive_failures = 0
        self.last_good_ms: int | None = None
        self.last_error: str | None = None
        self.last_cycle_ok: bool | None = None

    def attempt(self, ok: bool, error: str | None = None, ts_ms: int | None = None) -> None:
        self.attempts.append(ok)
        if ok:
            self.consecutive_failures = 0
            if ts_ms is not None:
                self.last_good_ms = ts_ms
        else:
            self.consecutive_failures += 1
            self.last_error = error

    def cycle(self, ok: bool) -> None:
        self.last_cycle_ok = ok

    @property
    def failure_rate(self) -> float:
        if not self.attempts:
            return 0.0
        return self.attempts.count(False) / len(self.attempts)

    @property
    def status(self) -> str:
        if self.last_cycle_ok is None:
            return "starting"
        if not self.last_cycle_ok:
            return "failing"
        return "degraded" if self.failure_rate >= self.DEGRADED_RATE else "ok"

    def snapshot(self) -> HealthSnapshot:
        return HealthSnapshot(
            self.status,
            self.consecutive_failures,
            round(self.failure_rate, 4),
            self.last_good_ms,
            self.last_error,
        )


class Sampler:
    """Produces at most one filtered Sample per call, retrying within bounds."""

    def __init__(
        self,
        sensor,
        clock,
        *,
        model: str,
        retries: int,
        max_jump_c: float,
        logger: logging.Logger = log,
    ):
        self.sensor = sensor
        self.clock = clock
        self.retries = retries
        self.filter = ReadingFilter(model, max_jump_c)
        self.health = SensorHealth()
        self.log = logger
        self._last_read_mono: float | None = None
        self._streak_start_ms: int | None = None  # set while a failure streak is logged
        self._streak_reads = 0

    def _wait_for_gap(self, stop: threading.Event | None) -> bool:
        """Sleep until 2 s after the previous read; True if asked to stop."""
        if self._last_read_mono is None:
            return False
        wait = MIN_READ_GAP_S - (self.clock.monotonic() - self._last_read_mono)
        if wait > 0:
            return self.clock.sleep(wait, until=stop)
        return stop is not None and stop.is_set()

    def sample(self, stop: threading.Event | None = None) -> Sample | None:
        """Read up to 1 + retries times; the first plausible reading, or None."""
        result = None
        attempts = 0
        for _attempt in range(1 + self.retries):
            if self._wait_for_gap(stop):
                break
            attempts += 1
            self._last_read_mono = self.clock.monotonic()
            try:
                temperature, humidity = self.sensor.read()
            except SensorUnavailable as exc:  # not open (reopened with backoff): no retries
                self.health.attempt(False, str(exc))
                break
            except (RuntimeError, OSError) as exc:
                self.health.attempt(False, str(exc) or type(exc).__name__)
                self.log.debug("sensor read failed: %s", exc)
                continue
            ts_ms = self.clock.now_ms() // 1000 * 1000  # whole seconds
            reason = self.filter.check(temperature, humidity)
            if reason is not None:
                self.health.attempt(False, reason)
                self.log.debug("sensor read rejected: %s", reason)
                continue
            self.health.attempt(True, ts_ms=ts_ms)
            result = Sample(
                ts_ms,
                round(float(temperature), 2),
                None if humidity is None else round(float(humidity), 2),
            )
            break
        if attempts == 0:
            return None  # asked to stop before reading: not a failed cycle (SIGTERM)
        self.health.cycle(result is not None)
        self._log_streak(result)
        return result

    def _log_streak(self, result: Sample | None) -> None:
        if result is None:
            self._streak_reads = self.health.consecutive_failures
            if self._streak_start_ms is None:
                self._streak_start_ms = self.clock.now_ms()
                self.log.warning(
                    "sensor: no good reading in this interval (last error: %s); retrying every"
                    " interval, the next message is on recovery",
                    self.health.last_error,
                )
        elif self._streak_start_ms is not None:
            minutes = (self.clock.now_ms() - self._streak_start_ms) / 60_000
            self.log.info(
                "sensor: recovered after %d failed reads over %.1f min (last error: %s)",
                self._streak_reads,
                minutes,
                self.health.last_error,
            )
            self._streak_start_ms = None
            self._streak_reads = 0


# The wall clock moved this much more (or less) than the monotonic clock between two
# reads: it was stepped (NTP, a person, a boot-time clock catching up).
CLOCK_STEP_MS = 5 * 60_000
# A step forward that is not undone within this long (monotonic) is taken as the truth.
CONFIRM_STEP_S = 3600.0
# A reading stamped this close before the newest stored one is a restart within the same
# second(s) or a tiny NTP slew, not a wrong clock: skipped without a word.
SAME_INSTANT_MS = 2_000


@dataclass(frozen=True)
class _Step:
    trusted_ms: int | None  # the newest reading stored before the step
    at_ms: int  # the first instant stamped by the stepped clock
    mono: float  # when (monotonic)
    size_ms: int


class ClockGuard:
    """Refuses instants that cannot be now: before the release date or the newest stored.

    It protects against a wrong clock without being captured by one: the floor is the
    newest reading the daemon itself stored (``newest_ms``; the daemon leaves rows stamped
    in the future out of it at start, see ``trusted_ms``).  With the monotonic time of
    each read (``accept(ts, mono)``) it sees the wall clock being stepped: a step forward
    from a plausible clock is provisional for CONFIRM_STEP_S; a step back within that time
    to an instant after the readings stored before the step undoes it, so the readings
    stamped meanwhile are in the future (said once) and storing goes on from there, instead
    of holding off until that future has come.
    """

    def __init__(
        self,
        newest_ms: int | None,
        logger: logging.Logger = log,
        *,
        trusted_ms: int | None = None,
        pending_since_mono: float | None = None,
    ):
        self.newest_ms = newest_ms
        self.log = logger
        self.holding = False
        # The newest reading stored with a clock not under suspicion (the persisted floor).
        self.trusted_ms = newest_ms if trusted_ms is None else trusted_ms
        self._step: _Step | None = None
        if pending_since_mono is not None and self.trusted_ms != newest_ms:
            # Stored after the last trusted reading by a clock that may have jumped (the
            # daemon stopped before that was settled): as provisional as a fresh step.
            size = (newest_ms or 0) - (self.trusted_ms or 0)
            self._step = _Step(self.trusted_ms, newest_ms or 0, pending_since_mono, size)
        self._last: tuple[int, float, bool] | None = None  # (ts, mono, accepted) of the last read
        self.future: list[tuple[int, int]] = []  # (from, to) stamped by an undone step

    def floor_ms(self) -> int:
        if self.newest_ms is None:
            return RELEASE_DATE_MS
        return max(RELEASE_DATE_MS, self.newest_ms + 1)

    def accept(self, ts_ms: int, mono: float | None = None) -> bool:
        if mono is not None:
            self._watch_steps(ts_ms, mono)
            self._last = (ts_ms, mono, False)
        floor = self.floor_ms()
        if ts_ms < floor:
            if floor - ts_ms <= SAME_INSTANT_MS and floor > RELEASE_DATE_MS and not self.holding:
                self.log.debug("clock: %s was already stored; skipping it", iso_utc(ts_ms))
                return False
            if not self.holding:
                self.holding = True
                why = (
                    f"the release date {iso_utc(RELEASE_DATE_MS)}"
                    if floor == RELEASE_DATE_MS
                    else f"the newest stored reading ({iso_utc(self.newest_ms)})"
                )
                self.log.warning(
                    "clock: the system time %s is before %s, so it cannot be right (no RTC,"
                    " NTP not synced yet?); holding off storing readings until it is",
                    iso_utc(ts_ms),
                    why,
                )
            return False
        if self.holding:
            self.holding = False
            self.log.info("clock: time is plausible again (%s); storing readings", iso_utc(ts_ms))
        if mono is not None:
            self._last = (ts_ms, mono, True)
        return True

    def _watch_steps(self, ts_ms: int, mono: float) -> None:
        step = self._step
        if step is not None and mono - step.mono > CONFIRM_STEP_S:
            self._step = None  # a step forward that stayed: the clock was catching up
            self.trusted_ms = self.newest_ms
            step = None
        if self._last is None:
            return
        last_ok = self._last[2]
        moved = self._moved(ts_ms, mono)
        if moved > CLOCK_STEP_MS and last_ok and step is None:
            self._step = _Step(self.trusted_ms, ts_ms, mono, moved)
            self.log.warning(
                "clock: the system time jumped %s ahead of the time that passed (to %s);"
                " storing on, and should it jump back within %d min the readings stamped"
                " meanwhile count as stamped in the future",
                _span(moved),
                iso_utc(ts_ms),
                CONFIRM_STEP_S // 60,
            )
        elif moved < -CLOCK_STEP_MS and step is not None:
            self._step = None
            trusted = step.trusted_ms if step.trusted_ms is not None else RELEASE_DATE_MS - 1
            if ts_ms > trusted and self.newest_ms is not None and ts_ms <= self.newest_ms:
                stamped = (step.at_ms, self.newest_ms)
                self.future.append(stamped)
                self.log.warning(
                    "clock: the system time went back %s, undoing its jump of %s ahead at %s:"
                    " the readings stored meanwhile (stamped %s to %s) are stamped in the future"
                    " (`bedside doctor` lists them, `bedside prune-future` removes them);"
                    " storing readings again from %s",
                    _span(-moved),
                    _span(step.size_ms),
                    iso_utc(step.at_ms),
                    iso_utc(stamped[0]),
                    iso_utc(stamped[1]),
                    iso_utc(ts_ms),
                )
                self.newest_ms = step.trusted_ms
                self.holding = False

    def trusts(self, now_ms: int, mono: float) -> bool:
        """Whether the wall clock can be taken as the truth now (read-only): not holding off,
        not behind the floor, no step ahead awaiting confirmation, and none since the last
        read (a cycle without a reading still sees a jump)."""
        if self.holding or self._step is not None or now_ms < RELEASE_DATE_MS:
            return False
        if self.newest_ms is not None and now_ms < self.newest_ms - SAME_INSTANT_MS:
            return False
        return self._last is None or self._moved(now_ms, mono) <= CLOCK_STEP_MS

    def _moved(self, ts_ms: int, mono: float) -> int:
        """How much further the wall clock went since the last read than the time that
        passed (ms; a step forward is positive)."""
        last_ts, last_mono, _ = self._last
        return ts_ms - last_ts - round((mono - last_mono) * 1000)

    def stored(self, ts_ms: int) -> None:
        self.newest_ms = ts_ms if self.newest_ms is None else max(self.newest_ms, ts_ms)
        if self._step is None:
            self.trusted_ms = self.newest_ms


def _span(ms: int) -> str:
    """'30 days', '1.5 h', '7 min'."""
    if ms >= 2 * 86_400_000:
        return f"{ms / 86_400_000:.0f} days"
    if ms >= 3_600_000:
        return f"{ms / 3_600_000:.1f} h"
    return f"{ms / 60_000:.0f} min"
