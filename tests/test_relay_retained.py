"""Retained states through the relay: an older state that paho re-sends after a reconnect
must not stay on the broker over the current one (alerts, the trial's arm)."""

from __future__ import annotations

from monitor.mqtt.relay import Relay

TOPIC = "bedside/testroom/trial/tonight"


def sent(relay: Relay, payload: bytes) -> int:
    """set_retained, then what the outbox thread does with it: the mid it went out with."""
    relay.set_retained(TOPIC, payload)
    before = set(relay._retained_mids)
    relay._pump_retained()
    (mid,) = set(relay._retained_mids) - before
    return mid


def test_an_older_state_acknowledged_after_the_current_one_is_sent_again(make_config, store):
    _, config = make_config()
    relay = Relay(config, store)  # never connected: paho queues what it is given
    old = sent(relay, b"old")
    new = sent(relay, b"new")
    assert not relay._retained_dirty
    relay._acked(new)
    relay._acked(old)  # the broker processed the re-sent old state last
    assert relay._retained_dirty == {TOPIC}  # so the current one goes again
    again = set(relay._retained_mids)
    relay._pump_retained()
    (mid,) = set(relay._retained_mids) - again
    relay._acked(mid)
    assert not relay._retained_dirty and not relay._retained_mids


def test_states_acknowledged_in_order_are_not_sent_again(make_config, store):
    _, config = make_config()
    relay = Relay(config, store)
    old, new = sent(relay, b"old"), sent(relay, b"new")
    relay._acked(old)
    relay._acked(new)
    assert not relay._retained_dirty and not relay._retained_mids
