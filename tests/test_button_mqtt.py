"""End to end: the real daemon, a mock button, a real mosquitto and subscriber.

A press arrives on <prefix>/<node>/cramp with the contract JSON, an undo
arrives as the same cramp with deleted=true, and a cold room sets the
retained alert/cold to ON.
"""

from __future__ import annotations

import json
import threading

import pytest
from gpiozero.pins.mock import MockFactory

from monitor.clock import FakeClock, parse_instant
from monitor.daemon.loop import Daemon
from tests.support import EVENT_TIMEOUT, Subscriber

pytestmark = pytest.mark.broker

BUTTON_PIN = 17
PREFIX, NODE = "bedside", "testroom"


class ColdRoom:
    """A sensor in a 16 °C room. Each read takes a moment, as a DHT's does, so the daemon
    (on a FakeClock, whose sleeps return at once) does not spin the CPU flat out."""

    def __init__(self, temperature=16.0):
        self.temperature = temperature
        self._pace = threading.Event()  # never set: wait() is just the read's duration

    def read(self):
        self._pace.wait(0.02)
        return self.temperature, 45.0

    def close(self):
        pass


@pytest.fixture
def running(make_config, broker):
    _, config = make_config(
        {
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "sensor": {"interval_s": 30},
            # Fake time races ahead (30 s per cycle), so the undo window is made wide.
            "button": {"pin": BUTTON_PIN, "hold_s": 0.3, "undo_window_s": 1e9, "merge_s": 5},
            "alerts": {"min_duration_s": 300},
        }
    )
    factory = MockFactory()
    sub = Subscriber(broker, f"{PREFIX}/#")
    daemon = Daemon(config, clock=FakeClock(), sensor=ColdRoom(), pin_factory=factory)
    daemon.start()
    assert daemon.ready.wait(EVENT_TIMEOUT) and daemon.error is None, daemon.error
    yield daemon, factory.pin(BUTTON_PIN), sub
    daemon.stop()
    sub.close()


def cramp_messages(seen):
    return [json.loads(p) for t, p, _ in seen if t == f"{PREFIX}/{NODE}/cramp"]


def test_press_and_undo_are_published(running):
    daemon, pin, sub = running
    pin.drive_low()
    daemon.clock.advance(0.2)  # a finger's press, not contact bounce
    pin.drive_high()
    (msg,) = sub.wait_for(lambda seen: cramp_messages(seen) or None)
    assert msg["source"] == "button" and msg["leg"] is None and msg["severity"] is None
    assert msg["deleted"] is False and isinstance(msg["id"], int)
    parse_instant(msg["ts"])  # an ISO instant with Z
    pin.drive_low()  # hold: undo
    try:
        undone = sub.wait_for(
            lambda seen: [m for m in cramp_messages(seen) if m["deleted"]] or None
        )
    finally:
        pin.drive_high()
    assert [(m["id"], m["ts"]) for m in undone] == [(msg["id"], msg["ts"])]


def test_cold_room_alert_is_retained(running, broker):
    *_, sub = running
    topic = f"{PREFIX}/{NODE}/alert/cold"
    sub.wait_for(lambda seen: (topic, b"ON") in [(t, p) for t, p, _ in seen])
    late = Subscriber(broker, topic)  # joins afterwards: gets the retained state
    try:
        late.wait_for(lambda seen: (topic, b"ON", True) in seen)
    finally:
        late.close()
