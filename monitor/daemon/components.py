"""What the daemon runs besides the read loop: the button, the LED, the alerts.

The daemon (monitor/daemon/loop.py) builds a DaemonContext, calls
``build_components(ctx)`` and then, for each component: ``start()`` once,
``on_reading(reading, now_ms)`` after every read cycle (``reading`` is the
stored Reading, or None when the cycle produced no good reading), and
``close()`` on shutdown.  Components must never block the read loop: slow
work (notifications, LED patterns) runs on their own threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from monitor.clock import SystemClock
from monitor.config import Config
from monitor.mqtt.payloads import Topics
from monitor.store import Reading, Store

log = logging.getLogger(__name__)


@dataclass
class DaemonContext:
    config: Config
    store: Store  # the daemon's writer connection; thread-safe (the store locks its connection)
    clock: SystemClock  # or FakeClock in tests
    topics: Topics
    # Publish a retained state (alerts): sent now if connected, re-sent on every reconnect.
    set_retained: Callable[[str, bytes], None]
    # Ask the relay to send unpublished rows (e.g. a new cramp) now instead of at its next poll.
    wake_outbox: Callable[[], None]
    pin_factory: Any = None  # a gpiozero pin factory (MockFactory in tests/demo), or None
    # Whether the wall clock can be believed now (the daemon's clock guard); announcements
    # that must not run ahead of time (the trial's arm) wait while it says no.
    clock_trusted: Callable[[], bool] = lambda: True


class Component(Protocol):
    def start(self) -> None: ...

    def on_reading(self, reading: Reading | None, now_ms: int) -> None: ...

    def close(self) -> None: ...


def build_components(ctx: DaemonContext) -> list[Component]:
    """The button (if enabled), the alerts, the summary ([summary]), and the LED/buzzer
    they share (closed last)."""
    from monitor.daemon.button import ButtonComponent
    from monitor.daemon.feedback import FeedbackComponent

    feedback = FeedbackComponent(ctx)
    components: list[Component] = []
    if ctx.config.button.enabled:
        components.append(ButtonComponent(ctx, feedback))
    components.append(AlertComponent(ctx, feedback))
    if ctx.config.summary.enabled or ctx.config.summary.trial_reminder:
        from monitor.daemon.summary import SummaryComponent

        components.append(SummaryComponent(ctx))
    components.append(feedback)
    return components


class AlertComponent:
    """The cold and silent-sensor alerts with their outputs.

    ``on_reading`` only steps the pure machines (monitor/daemon/alerts.py) and queues
    the effects; a worker thread then, in order: stores the episode
    (start_episode / update_episode), publishes the retained ON/OFF, sets the
    LED's cold pulse, and hands the notification to the notifier's own thread.
    A failing output is logged and does not stop the others; an episode whose start
    the store refused (a full disk) is stored, start and end, with its OFF.

    On start, an episode left open by a previous run is resumed if the newest
    stored reading is still fresh (cold) — or always (sensor: the next good
    reading ends it) — and otherwise closed at the last good reading.
    """

    def __init__(self, ctx: DaemonContext, feedback=None, notifier=None):
        from monitor.daemon.alerts import ColdRules
        from monitor.daemon.worker import SerialWorker

        self.ctx = ctx
        self.node = ctx.config.node.id
        self.rules = ColdRules.from_config(ctx.config)
        self.feedback = feedback
        self.tz = ZoneInfo(ctx.config.node.timezone)
        self.room = ctx.config.node.name or ctx.config.node.id
        if notifier is None and ctx.config.alerts.notify:
            from monitor.daemon.notify import Notifier

            a = ctx.config.alerts
            notifier = Notifier(a.notify, timeout_s=a.notify_timeout_s, retries=a.notify_retries)
        self.notifier = notifier
        self.worker = SerialWorker("alerts")
        self.machines = None
        self._episode: dict[str, int] = {}  # kind -> open episode id (worker thread only)
        self._unstored: dict = {}  # kind -> ON transition the store refused (worker thread)
        self._cold_min: float | None = None
        self._damaged: str | None = None  # the database was found damaged (storage_damaged)

    def start(self) -> None:
        from monitor.daemon.alerts import COLD, SENSOR, AlertMachines, ColdState, SensorState

        if self.feedback is not None and hasattr(self.feedback, "start"):
            self.feedback.start()
        now = self.ctx.clock.now_ms()
        store = self.ctx.store
        newest = store.newest_reading(self.node)
        cold_state, sensor_state = None, None
        for ep in store.episodes(self.node):
            if ep.end_ms is not None:
                continue
            fresh = newest is not None and 0 <= now - newest.ts_ms < self.rules.silent_ms
            if ep.kind == COLD and fresh and cold_state is None:
                cold_state = ColdState(True, ep.start_ms, ep.min_temp_c, newest.ts_ms)
                self._episode[COLD] = ep.id
                self._cold_min = ep.min_temp_c
            elif ep.kind == SENSOR and sensor_state is None:
                sensor_state = SensorState(last_good_ms=ep.start_ms, active=True)
                self._episode[SENSOR] = ep.id
            else:
                end = max(ep.start_ms, newest.ts_ms) if newest is not None else ep.start_ms
                store.update_episode(ep.id, end_ms=end)
                log.info("closed %s alert episode %d left open by a previous run", ep.kind, ep.id)
        self.machines = AlertMachines(self.rules, now, cold=cold_state, sensor=sensor_state)
        if self.notifier is not None:
            self.notifier.start()
        self.worker.start()
        cold_on, sensor_on = self.machines.cold.active, self.machines.sensor.active
        self.worker.submit(lambda: self._publish(COLD, cold_on))
        self.worker.submit(lambda: self._publish(SENSOR, sensor_on))
        if cold_on and self.feedback is not None:
            self.feedback.set_cold(True)

    def on_reading(self, reading: Reading | None, now_ms: int) -> None:
        """Step the machines and queue what follows; never waits for I/O."""
        if self.machines is None:
            return
        transitions = self.machines.step(reading, now_ms)
        for t in transitions:
            if t.kind == "cold":
                self._cold_min = t.min_temp_c if t.active else None
            self.worker.submit(lambda t=t: self._apply(t))
        lower = reading is not None and (
            self._cold_min is None or reading.temperature_c < self._cold_min
        )
        if self.machines.cold.active and lower and not any(t.active for t in transitions):
            self._cold_min = reading.temperature_c
            self.worker.submit(lambda v=reading.temperature_c: self._lower_min(v))

    def storage_damaged(self, message: str) -> None:
        """The database turned out damaged while running: the "Sensor problem" entity goes
        ON (retained, Home Assistant shows it) and stays on until bedside restarts, and a
        notification says what happened and where the backup is."""
        from monitor.daemon.alerts import SENSOR

        self._damaged = message

        def tell() -> None:
            self._publish(SENSOR, True)
            if self.notifier is not None:
                self.notifier.send(f"bedside {self.room}: the database is damaged", message)

        self.worker.submit(tell)

    def wait_idle(self, timeout: float) -> bool:
        """True once queued effects are done (tests)."""
        return self.worker.wait_idle(timeout)

    def close(self) -> None:
        self.worker.close(5.0)
        if self.notifier is not None:
            self.notifier.close()

    # -- on the worker thread -----------------------------------------------------------

    def _apply(self, t) -> None:
        from monitor.daemon.alerts import COLD
        from monitor.daemon.notify import format_message

        store = self.ctx.store
        try:
            if store.damaged:
                pass  # nothing is written to a damaged file; the alert itself goes on
            elif t.active:
                self._unstored.pop(t.kind, None)
                try:
                    ep = store.start_episode(self.node, t.kind, t.since_ms, t.min_temp_c)
                except Exception:
                    self._unstored[t.kind] = t  # e.g. a full disk: stored with its OFF
                    raise
                self._episode[t.kind] = ep.id
            else:
                start = self._unstored.pop(t.kind, None)
                if start is not None:
                    ep = store.start_episode(self.node, t.kind, start.since_ms, start.min_temp_c)
                    self._episode[t.kind] = ep.id
                if t.kind in self._episode:
                    store.update_episode(
                        self._episode.pop(t.kind),
                        end_ms=t.end_ms or t.at_ms,
                        min_temp_c=t.min_temp_c,
                    )
        except Exception:
            log.exception("could not store the %s alert episode", t.kind)
        log.info("%s alert %s (%s)", t.kind, "ON" if t.active else "OFF", t.reason)
        self._publish(t.kind, t.active)
        if t.kind == COLD and self.feedback is not None:
            self.feedback.set_cold(t.active)
        if self.notifier is not None:
            title, body = format_message(t, self.room, self.tz, self.rules.cold_below_c)
            self.notifier.send(title, body)

    def _publish(self, kind: str, active: bool) -> None:
        from monitor.daemon.alerts import SENSOR

        active = active or (kind == SENSOR and self._damaged is not None)
        try:
            self.ctx.set_retained(self.ctx.topics.alert(kind), b"ON" if active else b"OFF")
        except Exception:
            log.exception("could not publish the %s alert state", kind)

    def _lower_min(self, value: float) -> None:
        ep = self._episode.get("cold")
        if ep is not None and not self.ctx.store.damaged:
            try:
                self.ctx.store.update_episode(ep, min_temp_c=value)
            except Exception:
                log.exception("could not update the cold episode minimum")
