"""The morning summary and the trial's evening reminder ([summary], opt-in).

Morning: once the night is over and the local clock has passed ``[summary] at``, last
night's lowest temperature, time below ``[alerts] cold_below_c`` and cramps go out through
``[alerts] notify`` (apprise) and as the retained ``<prefix>/<node>/summary`` (Home
Assistant's "Last night's lowest" sensor).  During a trial (``trial_reminder``): tonight's
instruction through apprise once it is announced (``[trial] announce_at``), before the
night starts, for people without Home Assistant.  Each is sent once per night: the last
night sent is kept in the database (``outbox_state`` streams ``summary`` and
``trial_reminder``, as a date ordinal), so a restart does not send it again.  Times come
from the injected clock; the wording is pure (``summary_message``, ``reminder_message``)
and the work runs on a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor import nights
from monitor.mqtt.payloads import summary_payload
from monitor.store import Reading
from monitor.vocabulary import parse_clock, plural

log = logging.getLogger(__name__)

SUMMARY_STREAM = "summary"
REMINDER_STREAM = "trial_reminder"


@dataclass(frozen=True)
class NightFacts:
    night: date  # the evening the night starts on
    min_temp_c: float | None  # None: no reading that night
    below_ms: int
    cramps: int
    coverage: float  # share of the night's 5-minute bins with a reading


def time_below_ms(
    points: Sequence[tuple[int, float]], limit_c: float, end_ms: int, max_gap_ms: int
) -> int:
    """How long the room was below ``limit_c``: a reading below it counts until the next
    reading (or the night's end), at most ``max_gap_ms`` (a silent sensor is no evidence)."""
    total = 0
    for i, (ts, temp) in enumerate(points):
        if temp >= limit_c:
            continue
        following = points[i + 1][0] if i + 1 < len(points) else end_ms
        total += max(0, min(following, end_ms, ts + max_gap_ms) - ts)
    return total


night_label = nights.night_dates  # 'Sat 05 → Sun 06 Dec': a morning reader is never contradicted


def _duration(ms: int) -> str:
    minutes = round(ms / 60_000)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _cramps(n: int) -> str:
    return "no cramps" if n == 0 else plural(n, "cramp")


def summary_message(f: NightFacts, room: str, limit_c: float) -> tuple[str, str]:
    """(title, body) of the morning summary."""
    title = f"{room}: the night of {night_label(f.night)}"
    if f.min_temp_c is None:
        return title, f"No readings from {room} last night; {_cramps(f.cramps)}."
    limit = f"{limit_c:g} °C"
    below = f"below {limit} for {_duration(f.below_ms)}" if f.below_ms else f"never below {limit}"
    body = f"Lowest {f.min_temp_c:.1f} °C, {below}; {_cramps(f.cramps)}."
    if f.coverage < 0.8:
        body += f" (The sensor covered only {f.coverage:.0%} of the night.)"
    return title, body


def reminder_message(night: date, arm: str, warm_min_c: float, room: str) -> tuple[str, str]:
    """(title, body) of the trial's evening reminder for ``night``."""
    label = night_label(night)
    if arm == "warm":
        return (
            f"Tonight is a warm night ({room})",
            f"Trial night {label}: keep {room} at or above {warm_min_c:g} °C all night.",
        )
    return (
        f"Tonight is a usual night ({room})",
        f"Trial night {label}: heat {room} as you usually do.",
    )


class SummaryComponent:
    """A daemon component (monitor/daemon/components.py): checks the clock every cycle."""

    def __init__(self, ctx, notifier=None):
        from monitor.daemon.worker import SerialWorker

        self.ctx = ctx
        self.config = ctx.config
        self.node = ctx.config.node.id
        self.room = ctx.config.node.name or ctx.config.node.id
        self.params = nights.NightParams.from_config(ctx.config)
        self.tz = ZoneInfo(self.params.timezone)
        self.limit_c = ctx.config.alerts.cold_below_c
        if notifier is None and ctx.config.alerts.notify:
            from monitor.daemon.notify import Notifier

            a = ctx.config.alerts
            notifier = Notifier(a.notify, timeout_s=a.notify_timeout_s, retries=a.notify_retries)
        self.notifier = notifier
        self.worker = SerialWorker("summary")
        self._busy: set[str] = set()  # streams with a send queued (on_reading's thread)

    def start(self) -> None:
        if self.notifier is not None:
            self.notifier.start()
        self.worker.start()
        sent = self.ctx.store.outbox_watermark(self.node, SUMMARY_STREAM)
        if self.config.summary.enabled and sent:
            # Re-publish the last summary (a broker that lost it); not notified again.
            self.worker.submit(lambda: self._publish(date.fromordinal(sent)))
        self.on_reading(None, self.ctx.clock.now_ms())

    def on_reading(self, reading: Reading | None, now_ms: int) -> None:
        """Queue what is due; never waits for I/O.  Nothing while the clock guard doubts the
        clock: a clock two days ahead would otherwise tell a future night's arm (as the
        trial's MQTT announcer waits, monitor/daemon/trial.py) and mark a future morning
        sent, so the real ones would never go."""
        if not self.ctx.clock_trusted():
            return
        if self.config.summary.enabled and SUMMARY_STREAM not in self._busy:
            night = self._morning_due(now_ms)
            if night is not None:
                self._busy.add(SUMMARY_STREAM)
                self.worker.submit(lambda: self._send_summary(night, now_ms))
        reminding = self.config.summary.trial_reminder and self.notifier is not None
        if reminding and REMINDER_STREAM not in self._busy:
            self._busy.add(REMINDER_STREAM)
            self.worker.submit(lambda: self._send_reminder(now_ms))

    def wait_idle(self, timeout: float) -> bool:
        return self.worker.wait_idle(timeout)

    def close(self) -> None:
        self.worker.close(5.0)
        if self.notifier is not None:
            self.notifier.close()

    def _morning_due(self, now_ms: int) -> date | None:
        """Last night, once it has ended and ``[summary] at`` has passed (before the next
        night starts); None otherwise."""
        local = datetime.fromtimestamp(now_ms / 1000, self.tz)
        night = local.date() - timedelta(days=1)
        _start, end = nights.night_window(night, self.params)
        tonight, _ = nights.night_window(local.date(), self.params)
        if now_ms < end or now_ms >= tonight or local.time() < parse_clock(self.config.summary.at):
            return None
        return night

    # -- on the worker thread -----------------------------------------------------------

    def facts(self, night: date) -> NightFacts:
        store = self.ctx.store
        start, end = nights.night_window(night, self.params)
        points = store.temperatures(self.node, start, end)
        max_gap = int(max(3 * self.config.sensor.interval_s, 300) * 1000)
        s = nights.summarize(store, self.node, night, self.params, end)
        return NightFacts(
            night=night,
            min_temp_c=s.min_temp_c,
            below_ms=time_below_ms(points, self.limit_c, end, max_gap),
            cramps=s.cramps,
            coverage=s.coverage,
        )

    def _publish(self, night: date) -> tuple[str, str]:
        f = self.facts(night)
        title, body = summary_message(f, self.room, self.limit_c)
        payload = summary_payload(
            night.isoformat(), f.min_temp_c, round(f.below_ms / 60_000), self.limit_c,
            f.cramps, f.coverage, body,
        )  # fmt: skip
        self.ctx.set_retained(self.ctx.topics.summary, payload)
        return title, body

    def _send_summary(self, night: date, now_ms: int) -> None:
        try:
            sent = self.ctx.store.outbox_watermark(self.node, SUMMARY_STREAM) or 0
            if sent >= night.toordinal():
                return
            title, body = self._publish(night)
            if self.notifier is not None:
                self.notifier.send(title, body)
            self.ctx.store.set_outbox_watermark(self.node, night.toordinal(), SUMMARY_STREAM)
            log.info("summary: sent the night of %s (%s)", night.isoformat(), body)
        except Exception:
            log.exception("summary: could not send the night of %s", night.isoformat())
        finally:
            self._busy.discard(SUMMARY_STREAM)

    def _send_reminder(self, now_ms: int) -> None:
        from monitor.trial import service

        try:
            current = service.tonight_of(self.ctx.store, self.node, now_ms)
            if current is None:
                return
            loaded, night, arm = current
            start, _end = loaded.protocol.window(night)
            sent = self.ctx.store.outbox_watermark(self.node, REMINDER_STREAM) or 0
            if now_ms >= start or sent >= night.toordinal():  # never a message in the night
                return
            warm = loaded.protocol.warm_min_c
            self.notifier.send(*reminder_message(night, arm, warm, self.room))
            self.ctx.store.set_outbox_watermark(self.node, night.toordinal(), REMINDER_STREAM)
            log.info("trial: reminded of the night of %s", night.isoformat())
        except Exception:
            log.exception("trial: could not send tonight's reminder")
        finally:
            self._busy.discard(REMINDER_STREAM)
