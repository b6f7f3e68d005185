"""The morning summary and the trial's evening reminder ([summary]): the wording (pure),
then the component with the injected clock, a real mosquitto (the relay's retained
state) and apprise delivering to a real HTTP endpoint on loopback."""

from __future__ import annotations

import json
from datetime import date

import pytest

from monitor.clock import FakeClock
from monitor.config import ConfigError, parse
from monitor.daemon.components import DaemonContext
from monitor.daemon.summary import (
    NightFacts,
    SummaryComponent,
    night_label,
    reminder_message,
    summary_message,
    time_below_ms,
)
from monitor.mqtt.payloads import Topics, discovery_messages, summary_payload
from monitor.mqtt.relay import Relay
from monitor.store import Reading
from monitor.trial import service
from tests.support import EVENT_TIMEOUT, Subscriber
from tests.test_notify import Endpoint
from tests.trial_support import Script, local_ms, orders_for

MIN = 60_000
NODE = "testroom"
NIGHT = date(2026, 6, 2)  # Tue 02 -> Wed 03 Jun, Berlin, night 20:00-08:00


# -- what to say (pure) ----------------------------------------------------------------------


def test_time_below_counts_until_the_next_reading_and_not_across_a_silence():
    points = [(0, 19.0), (MIN, 17.0), (2 * MIN, 17.5), (3 * MIN, 18.0), (4 * MIN, 16.0)]
    # 17.0 and 17.5 count a minute each; 18.0 is not below 18; 16.0 counts to the end
    assert time_below_ms(points, 18.0, end_ms=5 * MIN, max_gap_ms=10 * MIN) == 3 * MIN
    # a reading followed by an hour of silence counts for at most max_gap
    assert time_below_ms([(0, 15.0), (60 * MIN, 15.0)], 18.0, 61 * MIN, 5 * MIN) == 6 * MIN
    assert time_below_ms([], 18.0, MIN, MIN) == 0


def test_the_summary_in_words():
    facts = NightFacts(NIGHT, 16.84, 125 * MIN, 2, 0.97)
    title, body = summary_message(facts, "Bedroom", 18.0)
    assert title == "Bedroom: the night of Tue 02 → Wed 03 Jun"
    assert body == "Lowest 16.8 °C, below 18 °C for 2 h 05 min; 2 cramps."
    warm = summary_message(NightFacts(NIGHT, 19.2, 0, 1, 0.5), "Bedroom", 18.5)[1]
    assert warm == (
        "Lowest 19.2 °C, never below 18.5 °C; 1 cramp. (The sensor covered only 50% of the night.)"
    )
    silent = summary_message(NightFacts(NIGHT, None, 0, 0, 0.0), "Kid", 18.0)[1]
    assert silent == "No readings from Kid last night; no cramps."
    assert night_label(date(2026, 5, 31)) == "Sun 31 May → Mon 01 Jun"


def test_the_reminder_in_words():
    assert reminder_message(NIGHT, "warm", 19.0, "Bedroom") == (
        "Tonight is a warm night (Bedroom)",
        "Trial night Tue 02 → Wed 03 Jun: keep Bedroom at or above 19 °C all night.",
    )
    assert reminder_message(NIGHT, "usual", 19.0, "Bedroom")[1] == (
        "Trial night Tue 02 → Wed 03 Jun: heat Bedroom as you usually do."
    )


def test_summary_payload_and_its_home_assistant_sensor():
    import jinja2

    payload = summary_payload("2026-06-02", 16.84, 125, 18.0, 2, 0.972, "Lowest 16.8 °C")
    assert json.loads(payload) == {
        "night": "2026-06-02", "min_temp_c": 16.8, "minutes_below": 125, "cold_below_c": 18.0,
        "cramps": 2, "coverage": 0.97, "text": "Lowest 16.8 °C",
    }  # fmt: skip
    topics = Topics("bedside", "bedroom")
    configs = dict(discovery_messages(topics, "homeassistant", summary=True))
    sensor = json.loads(configs["homeassistant/sensor/bedroom_summary/config"])
    assert sensor["state_topic"] == topics.summary
    value = jinja2.Template(sensor["value_template"]).render(value_json=json.loads(payload))
    assert value == "16.8"
    assert "homeassistant/sensor/bedroom_summary/config" not in dict(
        discovery_messages(topics, "homeassistant", summary=False)
    )


def test_config_is_validated():
    assert not parse("").summary.enabled
    c = parse('[summary]\nenabled = true\nat = "09:15"\ntrial_reminder = true\n')
    assert c.summary.at == "09:15" and c.summary.trial_reminder
    for bad, key in (('at = "7am"', "[summary] at"), ('at = "02:00"', "[summary] at"),
                     ("enabled = 1", "[summary] enabled")):  # fmt: skip
        with pytest.raises(ConfigError) as exc:
            parse(f"[summary]\n{bad}\n")
        assert key in str(exc.value), exc.value


# -- the component: real broker, real apprise, injected clock ---------------------------------


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.close()


@pytest.mark.broker
def test_morning_summary_once_through_apprise_and_mqtt_and_not_again_after_a_restart(
    make_config, store, broker, endpoint
):
    _, config = make_config(
        {
            "node": {"name": "Bedroom"},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "alerts": {"notify": [endpoint.url], "notify_retries": 0},
            "summary": {"enabled": True, "at": "08:30"},
        }
    )
    start = local_ms(NIGHT, "20:00")
    # A reading a minute: 19 °C, but 17.2-17.6 °C from 02:00 to 04:00 (2 h); one cramp.
    cold = range(local_ms(date(2026, 6, 3), "02:00"), local_ms(date(2026, 6, 3), "04:00"), MIN)
    store.add_readings(
        NODE,
        [Reading(ts, 17.2 + (ts // MIN % 5) / 10 if ts in cold else 19.0, 50.0)
         for ts in range(start, start + 12 * 60 * MIN, MIN)],
    )  # fmt: skip
    store.add_cramp(NODE, local_ms(date(2026, 6, 3), "03:10"), source="button", now_ms=start)
    clock = FakeClock(local_ms(date(2026, 6, 3), "08:10"))
    sub = Subscriber(broker, f"bedside/{NODE}/summary")
    relay = Relay(config, store, clock=clock)
    relay.start()
    assert relay.connected.wait(EVENT_TIMEOUT)

    def component():
        ctx = DaemonContext(
            config, store, clock, relay.topics, relay.set_retained, relay.wake_outbox
        )
        return SummaryComponent(ctx)

    try:
        first = component()
        first.start()
        assert first.wait_idle(EVENT_TIMEOUT)  # 08:10: not yet
        clock.set_wall(local_ms(date(2026, 6, 3), "08:31"))
        first.on_reading(None, clock.now_ms())
        assert endpoint.wait_for(lambda e: len(e.received) == 1)
        (message,) = endpoint.received
        assert message["title"] == "Bedroom: the night of Tue 02 → Wed 03 Jun"
        assert message["message"] == "Lowest 17.2 °C, below 18 °C for 2 h 00 min; 1 cramp."
        got = sub.wait_for(lambda s: s and json.loads(s[-1][1]))
        assert got["night"] == "2026-06-02" and got["minutes_below"] == 120 and got["cramps"] == 1
        assert got["min_temp_c"] == 17.2 and got["text"] == message["message"]
        for _ in range(3):  # every later cycle that morning: nothing more
            clock.advance(30)
            first.on_reading(None, clock.now_ms())
        assert first.wait_idle(EVENT_TIMEOUT)
        first.close()
        second = component()  # a restart the same morning: not sent again
        second.start()
        assert second.wait_idle(EVENT_TIMEOUT)
        # The next morning (no readings that night): the next summary, and it is the second.
        clock.set_wall(local_ms(date(2026, 6, 4), "08:45"))
        second.on_reading(None, clock.now_ms())
        assert endpoint.wait_for(lambda e: len(e.received) >= 2)
        assert [m["message"] for m in endpoint.received][1:] == [
            "No readings from Bedroom last night; no cramps."
        ]
        second.close()
    finally:
        relay.stop()
        sub.close()


def test_trial_reminder_at_the_announcement_once_and_never_in_the_night(
    make_config, store, endpoint
):
    _, config = make_config(
        {
            "node": {"name": "Bedroom"},
            "alerts": {"notify": [endpoint.url], "notify_retries": 0},
            "summary": {"trial_reminder": True},
        }
    )
    arms = ["warm", "usual"] * 6
    clock = FakeClock(local_ms(date(2026, 6, 9), "12:00"))
    trial = service.start_trial(
        store, config, clock.now_ms(), nights=12, first_night=date(2026, 6, 10),
        rng=Script(orders_for(arms)),
    )  # fmt: skip
    assert trial is not None
    ctx = DaemonContext(config, store, clock, Topics("bedside", NODE), lambda t, p: None, None)
    c = SummaryComponent(ctx)
    c.start()
    clock.set_wall(local_ms(date(2026, 6, 10), "17:59"))  # before the announcement: nothing
    c.on_reading(None, clock.now_ms())
    assert c.wait_idle(EVENT_TIMEOUT)
    clock.set_wall(local_ms(date(2026, 6, 10), "18:00"))
    c.on_reading(None, clock.now_ms())
    assert endpoint.wait_for(lambda e: len(e.received) == 1)
    assert endpoint.received[0]["title"] == "Tonight is a warm night (Bedroom)"
    for hhmm in ("18:30", "19:59"):  # once per night
        clock.set_wall(local_ms(date(2026, 6, 10), hhmm))
        c.on_reading(None, clock.now_ms())
    assert c.wait_idle(EVENT_TIMEOUT)
    c.close()
    # The daemon was down at 18:00 on the 11th and starts at 22:00: no message in the night;
    # on the 12th it is up at 18:00 again.
    clock.set_wall(local_ms(date(2026, 6, 11), "22:00"))
    c = SummaryComponent(ctx)
    c.start()
    assert c.wait_idle(EVENT_TIMEOUT)
    clock.set_wall(local_ms(date(2026, 6, 12), "18:01"))
    c.on_reading(None, clock.now_ms())
    assert endpoint.wait_for(lambda e: len(e.received) >= 2)
    assert [m["title"] for m in endpoint.received] == [
        "Tonight is a warm night (Bedroom)",
        "Tonight is a warm night (Bedroom)",  # 12 Jun: the second pair's warm night
    ]
    c.close()


def test_nothing_is_sent_while_the_clock_guard_doubts_the_clock(make_config, store, endpoint):
    """A clock two days ahead: no reminder of a future night's arm and no summary of a
    future morning (which would also mark it sent, silencing the real ones)."""
    _, config = make_config(
        {
            "node": {"name": "Bedroom"},
            "alerts": {"notify": [endpoint.url], "notify_retries": 0},
            "summary": {"enabled": True, "trial_reminder": True},
        }
    )
    clock = FakeClock(local_ms(date(2026, 6, 9), "12:00"))
    service.start_trial(store, config, clock.now_ms(), nights=12, first_night=date(2026, 6, 10))
    trusted = [False]
    ctx = DaemonContext(
        config, store, clock, Topics("bedside", NODE), lambda t, p: None, None,
        clock_trusted=lambda: trusted[0],
    )  # fmt: skip
    c = SummaryComponent(ctx)
    c.start()
    clock.set_wall(local_ms(date(2026, 6, 12), "18:01"))  # two days ahead, after 18:00
    c.on_reading(None, clock.now_ms())
    assert c.wait_idle(EVENT_TIMEOUT)
    assert endpoint.received == []
    assert store.outbox_watermark(NODE, "summary") is None
    trusted[0] = True  # the guard believes the clock again: the due messages go
    c.on_reading(None, clock.now_ms())
    assert endpoint.wait_for(lambda e: len(e.received) >= 1)
    c.close()


@pytest.mark.broker
def test_turning_the_summary_off_removes_its_home_assistant_sensor(make_config, broker, store):
    """A retained discovery config outlives the setting: off, the daemon clears it."""
    sections = {"mqtt": {"enabled": True, "host": broker.host, "port": broker.port}}
    topic = f"homeassistant/sensor/{NODE}_summary/config"
    sub = Subscriber(broker, topic)
    try:
        for enabled, wanted in ((True, lambda p: p.startswith(b"{")), (False, lambda p: p == b"")):
            _, config = make_config({**sections, "summary": {"enabled": enabled}})
            relay = Relay(config, store, clock=FakeClock(local_ms(NIGHT, "12:00")))
            relay.start()
            try:
                sub.wait_for(lambda s, w=wanted: s and w(s[-1][1]))
            finally:
                relay.stop()
        late = Subscriber(broker, "homeassistant/#")  # a Home Assistant starting now
        try:
            late.wait_for(lambda s: any(t.endswith("_temperature/config") for t, _, _ in s))
            assert topic not in {t for t, _, r in late.seen if r}
        finally:
            late.close()
    finally:
        sub.close()
