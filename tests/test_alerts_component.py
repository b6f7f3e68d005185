"""The AlertComponent as the daemon drives it: stored episodes, retained states, LED, restarts."""

from __future__ import annotations

import threading

import pytest

from monitor.daemon.components import AlertComponent, DaemonContext
from monitor.mqtt.payloads import Topics
from monitor.store import Reading
from tests.support import EVENT_TIMEOUT

NODE = "testroom"
COLD, SENSOR = f"bedside/{NODE}/alert/cold", f"bedside/{NODE}/alert/sensor"


class LedProbe:
    def __init__(self):
        self.cold: list[bool] = []

    def set_cold(self, cold: bool) -> None:
        self.cold.append(cold)


class Harness:
    def __init__(self, make_config, store, clock):
        _, self.config = make_config(
            {"sensor": {"interval_s": 30}, "alerts": {"min_duration_s": 90}}
        )
        self.store, self.clock = store, clock
        self.states: list[tuple[str, bytes]] = []
        self.led = LedProbe()
        self.lock = threading.Lock()

        def set_retained(topic, payload):
            with self.lock:
                self.states.append((topic, payload))

        ctx = DaemonContext(
            self.config, store, clock, Topics("bedside", NODE), set_retained, lambda: None
        )
        self.component = AlertComponent(ctx, self.led)

    def cycle(self, temp):
        self.clock.advance(30)
        now = self.clock.now_ms()
        reading = None if temp is None else Reading(now, temp)
        if reading is not None:
            self.store.add_reading(NODE, reading)
        self.component.on_reading(reading, now)

    def settle(self):
        assert self.component.wait_idle(EVENT_TIMEOUT)

    def last(self, topic):
        with self.lock:
            return [p for t, p in self.states if t == topic][-1]


@pytest.fixture
def harness(make_config, store, clock):
    made = []

    def make():
        h = Harness(make_config, store, clock)
        made.append(h)
        return h

    yield make
    for h in made:
        h.component.close()


def test_start_publishes_both_states(harness):
    h = harness()
    h.component.start()
    h.settle()
    assert (h.last(COLD), h.last(SENSOR)) == (b"OFF", b"OFF")


def test_cold_episode_is_stored_published_and_pulsed(harness, store, clock):
    h = harness()
    h.component.start()
    first = clock.now_ms() + 30_000
    for temp in (17.5, 17.0, 16.4, 16.9, 16.1, 17.9, 18.4):
        h.cycle(temp)
    h.settle()
    assert h.last(COLD) == b"ON" and h.led.cold == [True]
    (ep,) = store.episodes(NODE, kind="cold")
    assert (ep.start_ms, ep.end_ms, ep.min_temp_c) == (first, None, 16.1)
    h.cycle(18.5)
    h.settle()
    (ep,) = store.episodes(NODE, kind="cold")
    assert ep.end_ms == clock.now_ms() and ep.min_temp_c == 16.1
    assert h.last(COLD) == b"OFF" and h.led.cold == [True, False]


def test_silent_sensor_episode(harness, store, clock):
    h = harness()
    h.component.start()
    h.cycle(20.0)
    last_good = clock.now_ms()
    for _ in range(5):  # 150 s without a good reading = 5 intervals
        h.cycle(None)
    h.settle()
    assert h.last(SENSOR) == b"ON"
    (ep,) = store.episodes(NODE, kind="sensor")
    assert (ep.start_ms, ep.end_ms) == (last_good, None)
    h.cycle(20.1)
    h.settle()
    assert h.last(SENSOR) == b"OFF"
    (ep,) = store.episodes(NODE, kind="sensor")
    assert ep.end_ms == clock.now_ms()


def test_stale_data_ends_the_cold_alert_and_raises_the_sensor_alert(harness, store, clock):
    h = harness()
    h.component.start()
    for temp in (16.0,) * 5:
        h.cycle(temp)
    last_good = clock.now_ms()
    for _ in range(5):
        h.cycle(None)
    h.settle()
    assert (h.last(COLD), h.last(SENSOR)) == (b"OFF", b"ON")
    (ep,) = store.episodes(NODE, kind="cold")
    assert ep.end_ms == last_good


def test_restart_resumes_an_episode_on_fresh_data(harness, store, clock):
    h = harness()
    h.component.start()
    for temp in (16.0,) * 5:
        h.cycle(temp)
    h.settle()
    h.component.close()
    again = harness()  # the daemon restarts at once
    again.component.start()
    again.settle()
    assert again.last(COLD) == b"ON" and again.led.cold == [True]
    again.cycle(16.0)
    again.cycle(19.0)
    again.settle()
    (ep,) = store.episodes(NODE, kind="cold")  # the same episode, now ended
    assert ep.end_ms == clock.now_ms()


def test_restart_after_a_long_stop_closes_the_episode(harness, store, clock):
    h = harness()
    h.component.start()
    for temp in (16.0,) * 5:
        h.cycle(temp)
    last_good = clock.now_ms()
    h.settle()
    h.component.close()
    clock.advance(3600)  # the daemon was down for an hour
    again = harness()
    again.component.start()
    again.settle()
    assert again.last(COLD) == b"OFF"
    (ep,) = store.episodes(NODE, kind="cold")
    assert ep.end_ms == last_good
    for temp in (16.0,) * 5:  # still cold: a new episode after a full fresh run
        again.cycle(temp)
    again.settle()
    assert again.last(COLD) == b"ON"
    assert len(store.episodes(NODE, kind="cold")) == 2


def test_failing_outputs_do_not_stop_the_others(harness, store, clock):
    h = harness()

    def broken(*_):
        raise ConnectionError("broker gone")

    h.component.ctx.set_retained = broken
    h.component.start()
    for temp in (16.0,) * 5:
        h.cycle(temp)
    h.settle()
    assert h.led.cold == [True]
    assert len(store.episodes(NODE, kind="cold")) == 1
