"""Helpers for the warm-night trial's tests: local instants, nights of stored readings,
a scripted draw, and the trial's announcer with its retained states captured."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from monitor.daemon.components import DaemonContext
from monitor.daemon.trial import TrialComponent
from monitor.mqtt.payloads import Topics
from monitor.store import Reading, Store
from monitor.trial.design import Protocol

NODE = "testroom"
TZ = "Europe/Berlin"
FIRST = date(2026, 6, 10)
TOPIC = f"bedside/{NODE}/trial/tonight"


def local_ms(day: date, hhmm: str, tz: str = TZ) -> int:
    h, m = map(int, hhmm.split(":"))
    dt = datetime.combine(day, time(h, m), tzinfo=ZoneInfo(tz))
    return int(dt.astimezone(UTC).timestamp() * 1000)


class Script:
    """An rng for draw_arms: pair k gets (warm, usual) when orders[k] is 0, else
    (usual, warm)."""

    def __init__(self, orders):
        self.orders = list(orders)

    def randrange(self, n):
        assert n == 2
        return self.orders.pop(0)


def orders_for(arms: list[str]) -> list[int]:
    return [0 if arms[i] == "warm" else 1 for i in range(0, len(arms), 2)]


def fill_night(
    store: Store, protocol: Protocol, night: date, temp: float, coverage: float = 1.0
) -> None:
    """A reading every 5 minutes over the first ``coverage`` share of the night."""
    start, end = protocol.window(night)
    stop = start + int((end - start) * coverage)
    store.add_readings(NODE, [Reading(ts, temp, 50.0) for ts in range(start, stop, 300_000)])


def add_cramp(store: Store, protocol: Protocol, night: date, hours: float = 4.0) -> None:
    start, _ = protocol.window(night)
    at = start + int(hours * 3_600_000)
    store.add_cramp(NODE, at, source="button", now_ms=at)


class Announcer:
    """The daemon's TrialComponent with set_retained captured."""

    def __init__(self, config, store: Store, clock):
        self.states: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.clock = clock

        def set_retained(topic, payload):
            with self.lock:
                self.states.append((topic, payload))

        self.ctx = DaemonContext(
            config, store, clock, Topics("bedside", NODE), set_retained, lambda: None
        )
        self.component = TrialComponent(self.ctx)

    def start(self) -> None:
        self.component.start()

    def cycle(self) -> None:
        self.component.on_reading(None, self.clock.now_ms())

    def payloads(self) -> list[bytes]:
        with self.lock:
            return [p for t, p in self.states if t == TOPIC]

    def last(self) -> bytes | None:
        got = self.payloads()
        return got[-1] if got else None
