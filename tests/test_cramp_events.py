"""Cramps for Home Assistant through a real mosquitto: one event per new cramp (never for an
edit, a deletion or a restore, never replayed after a restart), and the retained
"cramps tonight" and "last cramp" states.

Absence is shown by order, not by waiting: events go out in cramp-id order, so once the
event of a later cramp has arrived, any event an earlier change could have fired has too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.clock import FakeClock, iso_utc
from monitor.mqtt.relay import EVENT_STREAM, Relay
from tests.support import EVENT_TIMEOUT, Subscriber

pytestmark = pytest.mark.broker

NODE = "testroom"
EVENT = f"bedside/{NODE}/cramp/event"
TONIGHT = f"bedside/{NODE}/cramps/tonight"
LAST = f"bedside/{NODE}/cramps/last"
# 03:00 in Berlin, inside the night of 2026-06-02 (night hours 20:00-08:00).
NIGHT_MS = int(datetime(2026, 6, 3, 1, 0, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000


@pytest.fixture
def config(make_config, broker):
    return make_config({"mqtt": {"enabled": True, "host": broker.host, "port": broker.port}})[1]


@pytest.fixture
def clock():
    return FakeClock(NIGHT_MS + 30 * MIN)


@pytest.fixture
def relays(config, store, clock):
    started = []

    def start() -> Relay:
        relay = Relay(config, store, clock=clock)
        relay.start()
        started.append(relay)
        assert relay.connected.wait(EVENT_TIMEOUT)
        return relay

    yield start
    for relay in started:
        if relay._thread is not None:
            relay.stop()


def events(seen) -> list[dict]:
    return [json.loads(p) for t, p, _ in seen if t == EVENT]


def wait_event(sub: Subscriber, cramp_id: int) -> list[dict]:
    """Every event seen once the one of cramp_id has arrived."""
    return sub.wait_for(lambda s: any(e["id"] == cramp_id for e in events(s)) and events(s))


def wait_retained(sub: Subscriber, topic: str, expected) -> None:
    def latest(seen):
        payloads = [p for t, p, _ in seen if t == topic]
        return payloads and (json.loads(payloads[-1]) if payloads[-1] else None) == expected

    sub.wait_for(latest)


def test_one_event_per_new_cramp_none_for_edits_deletions_or_history(store, relays, subscriber):
    old, _ = store.add_cramp(NODE, NIGHT_MS - 2 * 86_400_000, source="cli", now_ms=NIGHT_MS)
    relay = relays()
    first, _ = store.add_cramp(
        NODE, NIGHT_MS, source="button", now_ms=NIGHT_MS, leg="left", severity=4
    )
    relay.wake_outbox()
    seen = wait_event(subscriber, first.id)
    assert seen == [
        {
            "event_type": "cramp",
            "id": first.id,
            "ts": iso_utc(NIGHT_MS),
            "leg": "left",
            "severity": 4,
            "source": "button",
        }
    ]
    wait_retained(subscriber, TONIGHT, {"night": "2026-06-02", "count": 1})
    # An edit, a deletion and a restore of the first cramp, then a second cramp from the web.
    store.update_cramp(first.id, now_ms=NIGHT_MS + MIN, leg="right", remedy="stretch")
    store.delete_cramp(first.id, now_ms=NIGHT_MS + 2 * MIN)
    store.restore_cramp(first.id, now_ms=NIGHT_MS + 3 * MIN)
    second, _ = store.add_cramp(NODE, NIGHT_MS + 5 * MIN, source="web", now_ms=NIGHT_MS + 5 * MIN)
    relay.wake_outbox()
    seen = wait_event(subscriber, second.id)
    assert [e["id"] for e in seen] == [first.id, second.id]  # the history cramp `old` never
    assert old.id not in [e["id"] for e in seen]
    wait_retained(subscriber, TONIGHT, {"night": "2026-06-02", "count": 2})
    wait_retained(
        subscriber,
        LAST,
        {"ts": iso_utc(second.ts_ms), "id": second.id, "leg": None, "severity": None},
    )
    # Deleting the newest cramp: the count drops, the last cramp is the first one again.
    store.delete_cramp(second.id, now_ms=NIGHT_MS + 6 * MIN)
    relay.wake_outbox()
    wait_retained(subscriber, TONIGHT, {"night": "2026-06-02", "count": 1})
    wait_retained(
        subscriber,
        LAST,
        {"ts": iso_utc(first.ts_ms), "id": first.id, "leg": "right", "severity": 4},
    )
    assert not any(r for t, _, r in subscriber.seen if t == EVENT)  # events are never retained


def test_no_replay_after_a_restart_and_a_cramp_from_the_outage_fires_once(
    store, relays, broker, clock
):
    sub = Subscriber(broker, [EVENT])
    try:
        relay = relays()
        a, _ = store.add_cramp(NODE, NIGHT_MS, source="button", now_ms=NIGHT_MS)
        relay.wake_outbox()
        wait_event(sub, a.id)
        relay.stop()
        assert store.outbox_watermark(NODE, EVENT_STREAM) == a.id
        # Logged while the daemon (and so the relay) was down; one deleted before it came back.
        b, _ = store.add_cramp(NODE, NIGHT_MS + 20 * MIN, source="cli", now_ms=clock.now_ms())
        gone, _ = store.add_cramp(NODE, NIGHT_MS + 21 * MIN, source="web", now_ms=clock.now_ms())
        store.delete_cramp(gone.id, now_ms=clock.now_ms())
        c, _ = store.add_cramp(NODE, NIGHT_MS + 22 * MIN, source="web", now_ms=clock.now_ms())
        relays()
        seen = wait_event(sub, c.id)
        assert [e["id"] for e in seen] == [a.id, b.id, c.id]  # a once, b with its own instant
        assert seen[1]["ts"] == iso_utc(NIGHT_MS + 20 * MIN)
    finally:
        sub.close()


def test_imported_cramps_are_history_not_events(store, relays, subscriber):
    relay = relays()
    store.add_cramps(
        NODE,
        [{"ts_ms": NIGHT_MS - i * MIN, "leg": "left"} for i in range(1, 4)],
        source="import",
        now_ms=NIGHT_MS,
    )
    live, _ = store.add_cramp(NODE, NIGHT_MS, source="button", now_ms=NIGHT_MS)
    relay.wake_outbox()
    assert [e["id"] for e in wait_event(subscriber, live.id)] == [live.id]
    wait_retained(subscriber, TONIGHT, {"night": "2026-06-02", "count": 4})  # counted, not fired


def test_cramps_tonight_goes_back_to_zero_when_the_next_night_starts(
    store, relays, subscriber, clock
):
    store.add_cramp(NODE, NIGHT_MS, source="button", now_ms=NIGHT_MS)
    relay = relays()
    wait_retained(subscriber, TONIGHT, {"night": "2026-06-02", "count": 1})
    clock.set_wall(NIGHT_MS + 10 * 3_600_000)  # 13:00: by day it is still last night's count
    relay.wake_outbox()
    clock.set_wall(NIGHT_MS + 19 * 3_600_000)  # 22:00 Berlin: the night of 2026-06-03
    relay.wake_outbox()
    wait_retained(subscriber, TONIGHT, {"night": "2026-06-03", "count": 0})
    wait_retained(
        subscriber, LAST, {"ts": iso_utc(NIGHT_MS), "id": 1, "leg": None, "severity": None}
    )


NO_CRAMP = {"ts": None, "id": None, "leg": None, "severity": None}


def test_last_cramp_says_none_when_the_last_one_is_deleted_also_while_down(
    store, relays, broker, clock
):
    """issue 22: an empty retained payload only deleted the message (Home Assistant kept
    showing the deleted cramp); a well-formed "none" replaces it, also for a deletion made
    while the daemon was down."""
    sub = Subscriber(broker, [LAST])
    try:
        only, _ = store.add_cramp(NODE, NIGHT_MS, source="web", now_ms=NIGHT_MS)
        relay = relays()
        wait_retained(sub, LAST, {"ts": iso_utc(NIGHT_MS), "id": only.id, "leg": None,
                                  "severity": None})  # fmt: skip
        store.delete_cramp(only.id, now_ms=NIGHT_MS + MIN)
        relay.wake_outbox()
        wait_retained(sub, LAST, NO_CRAMP)
        store.restore_cramp(only.id, now_ms=NIGHT_MS + 2 * MIN)
        relay.wake_outbox()
        wait_retained(sub, LAST, {"ts": iso_utc(NIGHT_MS), "id": only.id, "leg": None,
                                  "severity": None})  # fmt: skip
        relay.stop()
        store.delete_cramp(only.id, now_ms=NIGHT_MS + 3 * MIN)
    finally:
        sub.close()
    relays()
    late = Subscriber(broker, [LAST])  # what a Home Assistant starting now ends up with
    try:
        wait_retained(late, LAST, NO_CRAMP)
    finally:
        late.close()
