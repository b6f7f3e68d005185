"""Round 2, item 12: a daemon clock that jumps two days ahead must not announce a future
night's arm on the retained trial topic (a real mosquitto, the real daemon loop with a
FakeClock that is stepped under it)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from monitor.clock import FakeClock
from monitor.daemon.loop import Daemon
from monitor.mqtt.payloads import parse_trial_tonight
from monitor.store import Store
from monitor.trial import service
from tests.fault_support import ScriptedSensor, captured_logs
from tests.support import Subscriber, wait_until
from tests.trial_support import FIRST, NODE, TOPIC, local_ms

pytestmark = pytest.mark.broker

DAY_MS = 86_400_000


def settled(relay) -> bool:
    return relay.connected.is_set() and not relay._retained_dirty and not relay._retained_mids


def test_a_clock_two_days_ahead_never_announces_a_future_night(make_config, broker, db_path):
    _, config = make_config(
        {
            "sensor": {"kind": "dht22", "interval_s": 30, "retries": 0},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "button": {"enabled": False},
        }
    )
    clock = FakeClock(local_ms(FIRST, "10:00"))
    with Store.open(db_path) as store:
        service.start_trial(store, config, clock.now_ms(), nights=12)
        loaded = service.load(store, NODE)
    assert loaded.protocol.first_night == FIRST
    clock.set_wall(local_ms(FIRST, "22:00"))  # the first night runs: its arm is announced
    sub = Subscriber(broker, TOPIC)
    stop = threading.Event()
    daemon: Daemon

    def before_read(n):
        if n == 3:  # tonight's arm reached the broker before the jump
            wait_until(lambda: sub.on(TOPIC) and b'"night"' in sub.on(TOPIC)[-1])
        if n == 4:
            clock.set_wall(clock.now_ms() + 2 * DAY_MS)
        if n == 30:  # 13 minutes after the jump (not yet confirmed): what did it publish?
            wait_until(lambda: settled(daemon.relay), what="retained states acknowledged")
            stop.set()

    daemon = Daemon(config, clock=clock, sensor=ScriptedSensor(lambda n: (20.0, 50.0), before_read))
    with captured_logs() as logs:
        daemon.run(stop)
    sub.close()
    nights = [parse_trial_tonight(p).get("night") for p in sub.on(TOPIC)]
    future = (FIRST + timedelta(days=2)).isoformat()
    assert FIRST.isoformat() in nights
    assert future not in nights, nights
    late = Subscriber(broker, TOPIC)  # what the broker retains for a newcomer
    try:
        got = late.wait_for(lambda s: [p for t, p, r in s if r])
        assert parse_trial_tonight(got[-1])["night"] == FIRST.isoformat()
    finally:
        late.close()
    with Store.open_readonly(db_path) as reader:  # nor stored as announced
        assert [a.night for a in reader.trial_announcements(loaded.trial.id)] == [FIRST.isoformat()]
    assert logs.count("tonight's arm waits") == 1
