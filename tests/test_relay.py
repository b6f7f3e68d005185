"""The MQTT relay against a real mosquitto: topics, payloads, discovery, the outbox."""

from __future__ import annotations

import json

import pytest

from monitor.clock import RELEASE_DATE_MS, iso_utc
from monitor.mqtt.payloads import parse_reading
from monitor.mqtt.relay import Relay
from monitor.store import Reading
from tests.support import EVENT_TIMEOUT, Broker, Subscriber, wait_until

pytestmark = pytest.mark.broker

T0 = RELEASE_DATE_MS + 30 * 86_400_000


def readings(n: int, start: int = T0) -> list[Reading]:
    return [Reading(start + i * 30_000, 18.0 + i / 10, 50.0 + i / 10) for i in range(n)]


def mqtt_config(make_config, broker: Broker, **mqtt):
    _, config = make_config(
        {"mqtt": {"enabled": True, "host": broker.host, "port": broker.port, **mqtt}}
    )
    return config


def reading_ts(seen) -> list[int]:
    return [parse_reading(p).ts_ms for t, p, _ in seen if t == "bedside/testroom/reading"]


@pytest.fixture
def relay_factory(store):
    relays = []

    def make(config) -> Relay:
        relay = Relay(config, store)
        relay.start()
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        if relay._thread is not None:
            relay.stop()


def test_topics_payloads_status_discovery_and_state(
    make_config, broker, subscriber, store, relay_factory
):
    config = mqtt_config(make_config, broker)
    relay = relay_factory(config)
    assert relay.connected.wait(EVENT_TIMEOUT)
    rows = readings(5)
    store.add_readings("testroom", rows)
    relay.wake_outbox()
    seen = subscriber.wait_for(lambda s: len(reading_ts(s)) >= 5 and s)
    assert reading_ts(seen) == [r.ts_ms for r in rows]  # in order, each once
    first = json.loads(subscriber.on("bedside/testroom/reading")[0])
    assert first == {"ts": iso_utc(T0), "temperature_c": 18.0, "humidity_pct": 50.0}
    subscriber.wait_for(lambda s: any(t == "bedside/testroom/state" for t, _, _ in s))
    state = [(p, r) for t, p, r in subscriber.seen if t == "bedside/testroom/state"][-1]
    assert parse_reading(state[0]) == rows[-1]
    assert ("bedside/testroom/status", b"online", False) in subscriber.seen or any(
        t == "bedside/testroom/status" and p == b"online" for t, p, _ in subscriber.seen
    )
    # The retained view a newcomer (Home Assistant) gets:
    late = Subscriber(broker, ["bedside/#", "homeassistant/#"])
    try:
        wanted = {
            "bedside/testroom/status",
            "bedside/testroom/state",
            "homeassistant/sensor/testroom_temperature/config",
            "homeassistant/sensor/testroom_humidity/config",
        }  # by name: a count of retained topics was met early once info joined them
        late.wait_for(lambda s: wanted <= {t for t, _, r in s if r})
        retained = {t: p for t, p, r in late.seen if r}
        assert retained["bedside/testroom/status"] == b"online"
        assert parse_reading(retained["bedside/testroom/state"]) == rows[-1]
        temp = json.loads(retained["homeassistant/sensor/testroom_temperature/config"])
        hum = json.loads(retained["homeassistant/sensor/testroom_humidity/config"])
        assert temp["device_class"] == "temperature" and temp["unit_of_measurement"] == "°C"
        assert hum["device_class"] == "humidity" and hum["unit_of_measurement"] == "%"
        for cfg in (temp, hum):
            assert cfg["state_class"] == "measurement"
            assert cfg["state_topic"] == "bedside/testroom/state"
            assert cfg["availability_topic"] == "bedside/testroom/status"
            assert cfg["unique_id"].startswith("bedside_testroom_")
            assert cfg["device"]["identifiers"] == ["bedside_testroom"]
        assert temp["value_template"] == "{{ value_json.temperature_c }}"
        assert not any(t == "bedside/testroom/reading" for t, _, _ in late.seen)  # not retained
    finally:
        late.close()


def test_first_start_does_not_flood_imported_history(
    make_config, broker, subscriber, store, relay_factory
):
    history = readings(50, start=T0 - 86_400_000)
    store.add_readings("testroom", history)
    relay = relay_factory(mqtt_config(make_config, broker))
    assert store.outbox_watermark("testroom") == history[-1].ts_ms  # persisted at once
    assert relay.connected.wait(EVENT_TIMEOUT)
    new = readings(2)
    store.add_readings("testroom", new)
    relay.wake_outbox()
    subscriber.wait_for(lambda s: len(reading_ts(s)) >= 2)
    assert reading_ts(subscriber.seen) == [r.ts_ms for r in new]


def test_watermark_is_saved_on_stop_and_a_restart_sends_only_new_rows(
    make_config, broker, subscriber, store
):
    config = mqtt_config(make_config, broker)
    relay = Relay(config, store)
    relay.start()
    first = readings(3)
    store.add_readings("testroom", first)
    relay.wake_outbox()
    subscriber.wait_for(lambda s: len(reading_ts(s)) >= 3)
    relay.stop()
    assert store.outbox_watermark("testroom") == first[-1].ts_ms
    assert subscriber.wait_for(
        lambda s: [p for t, p, _ in s if t == "bedside/testroom/status"][-1:] == [b"offline"]
    )
    relay = Relay(config, store)
    relay.start()
    try:
        later = readings(2, start=first[-1].ts_ms + 30_000)
        store.add_readings("testroom", later)
        relay.wake_outbox()
        subscriber.wait_for(lambda s: len(reading_ts(s)) >= 5)
        assert reading_ts(subscriber.seen) == [r.ts_ms for r in first + later]
    finally:
        relay.stop()


def test_broker_stopped_mid_run_then_every_stored_reading_arrives(
    make_config, broker, store, relay_factory
):
    sub = Subscriber(broker, "bedside/#", client_id="outage-test", clean_session=False)
    try:
        relay = relay_factory(mqtt_config(make_config, broker))
        before = readings(3)
        store.add_readings("testroom", before)
        relay.wake_outbox()
        sub.wait_for(lambda s: len(reading_ts(s)) >= 3)
        broker.stop()
        wait_until(lambda: not relay.connected.is_set())
        during = readings(20, start=before[-1].ts_ms + 30_000)
        for r in during:  # the daemon keeps storing while the broker is away
            store.add_reading("testroom", r)
            relay.wake_outbox()
        broker.start()
        expected = {r.ts_ms for r in before + during}
        sub.wait_for(lambda s: expected <= set(reading_ts(s)))
        wait_until(lambda: relay.acked_ms == during[-1].ts_ms)
    finally:
        sub.close()


def test_retained_states_and_discovery_are_resent_on_reconnect(
    make_config, tmp_path, store, relay_factory
):
    broker = Broker(tmp_path / "volatile", persistence=False)
    (tmp_path / "volatile").mkdir()
    broker.start()
    try:
        relay = relay_factory(mqtt_config(make_config, broker))
        assert relay.connected.wait(EVENT_TIMEOUT)
        relay.set_retained("bedside/testroom/alert/cold", b"ON")
        broker.stop()  # forgets every retained message
        wait_until(lambda: not relay.connected.is_set())
        broker.start()
        sub = Subscriber(broker, ["bedside/#", "homeassistant/#"])
        try:
            # The restarted broker knows nothing: whatever arrives was re-sent by the relay.
            sub.wait_for(
                lambda s: (
                    {
                        "bedside/testroom/alert/cold",
                        "bedside/testroom/status",
                        "homeassistant/sensor/testroom_temperature/config",
                    }
                    <= {t for t, _, _ in s}
                )
            )
            assert sub.on("bedside/testroom/alert/cold")[-1] == b"ON"
        finally:
            sub.close()
    finally:
        broker.kill()


def test_discovery_is_resent_when_home_assistant_comes_online(
    make_config, broker, subscriber, relay_factory
):
    relay = relay_factory(mqtt_config(make_config, broker))
    topic = "homeassistant/sensor/testroom_temperature/config"
    subscriber.wait_for(lambda s: sum(t == topic for t, _, _ in s) >= 1)
    wait_until(lambda: relay.connected.is_set())
    subscriber.client.publish("homeassistant/status", b"online", qos=1)
    subscriber.wait_for(lambda s: sum(t == topic for t, _, _ in s) >= 2)


def test_custom_discovery_prefix_and_discovery_off(
    make_config, broker, subscriber, store, relay_factory
):
    relay = relay_factory(mqtt_config(make_config, broker, discovery_prefix="ha"))
    subscriber.wait_for(lambda s: any(t == "ha/sensor/testroom_humidity/config" for t, _, _ in s))
    assert relay.connected.is_set()
    assert not any(t.startswith("homeassistant/") for t, _, _ in subscriber.seen)


def test_cramps_are_published_and_marked_on_puback(
    make_config, broker, subscriber, store, relay_factory
):
    relay = relay_factory(mqtt_config(make_config, broker))
    cramp, _ = store.add_cramp("testroom", T0, source="web", now_ms=T0, leg="left", severity=3)
    relay.wake_outbox()
    subscriber.wait_for(lambda s: any(t == "bedside/testroom/cramp" for t, _, _ in s))
    body = json.loads(subscriber.on("bedside/testroom/cramp")[0])
    assert body["id"] == cramp.id and body["leg"] == "left" and body["deleted"] is False
    wait_until(lambda: store.get_cramp(cramp.id).published)
    store.delete_cramp(cramp.id, now_ms=T0 + 1000)  # an undo is published too
    relay.wake_outbox()
    subscriber.wait_for(lambda s: len([1 for t, _, _ in s if t == "bedside/testroom/cramp"]) >= 2)
    assert json.loads(subscriber.on("bedside/testroom/cramp")[-1])["deleted"] is True
    wait_until(lambda: store.get_cramp(cramp.id).published)
    assert store.unpublished_cramps("testroom") == []


def test_broker_down_from_the_start_is_logged_once(
    make_config, tmp_path, store, caplog, relay_factory
):
    broker = Broker(tmp_path / "late")
    (tmp_path / "late").mkdir()
    config = mqtt_config(make_config, broker)
    with caplog.at_level("INFO", logger="monitor.mqtt.relay"):
        relay = relay_factory(config)
        wait_until(lambda: any("cannot reach" in r.getMessage() for r in caplog.records))
        store.add_readings("testroom", readings(2))
        broker.start()
        try:
            sub = Subscriber(broker, "bedside/#")
            try:
                relay.wake_outbox()
                sub.wait_for(lambda s: any(t == "bedside/testroom/state" for t, _, _ in s))
            finally:
                sub.close()
            wait_until(lambda: relay.acked_ms == readings(2)[-1].ts_ms)
        finally:
            broker.kill()
    outage = [r for r in caplog.records if "cannot reach" in r.getMessage()]
    recovered = [r for r in caplog.records if "connected again" in r.getMessage()]
    assert len(outage) == 1 and len(recovered) == 1


def test_watermark_is_due_at_most_every_60_s_of_the_injected_clock(
    make_config, broker, subscriber, store
):
    from monitor.clock import FakeClock

    # Now is after the readings: the relay holds back rows stamped in the future.
    clock = FakeClock(T0 + 10 * 30_000)
    relay = Relay(mqtt_config(make_config, broker), store, clock=clock)
    relay.piggyback = True
    relay.start()
    try:
        rows = readings(3)
        store.add_readings("testroom", rows)
        relay.wake_outbox()
        wait_until(lambda: relay.acked_ms == rows[-1].ts_ms)
        assert relay.watermark_due() is None  # acknowledged, but saved less than 60 s ago
        assert store.outbox_watermark("testroom") == 0
        clock.advance(61)
        due = relay.watermark_due()
        assert due == rows[-1].ts_ms
        store.set_outbox_watermark("testroom", due)  # what the daemon does with its reading
        relay.watermark_saved(due)
        assert relay.watermark_due() is None
        more = readings(2, start=rows[-1].ts_ms + 30_000)
        store.add_readings("testroom", more)
        relay.wake_outbox()
        wait_until(lambda: relay.acked_ms == more[-1].ts_ms)
        assert store.outbox_watermark("testroom") == rows[-1].ts_ms
    finally:
        relay.stop()
    assert store.outbox_watermark("testroom") == more[-1].ts_ms  # flushed on stop


def test_username_and_password(make_config, tmp_path, store, caplog, relay_factory):
    import subprocess

    workdir = tmp_path / "auth"
    workdir.mkdir()
    passwd = workdir / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "bedside", "s3cret"], check=True)
    auth = f"allow_anonymous false\npassword_file {passwd}\n"
    broker = Broker(workdir, extra_conf=auth).start()
    try:
        good = relay_factory(
            mqtt_config(make_config, broker, username="bedside", password="s3cret")
        )
        store.add_readings("testroom", readings(2))
        good.wake_outbox()
        wait_until(lambda: good.acked_ms == readings(2)[-1].ts_ms)  # the broker PUBACKed
        with caplog.at_level("WARNING", logger="monitor.mqtt.relay"):
            bad = Relay(
                mqtt_config(make_config, broker, username="bedside", password="wrong"),
                store,
                client_id="bedside-wrong",
            )
            bad.start()
            try:
                wait_until(lambda: any("refused" in r.getMessage() for r in caplog.records))
                assert not bad.connected.is_set()
            finally:
                bad.stop()
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == 1 and "username/password" in refused[0].getMessage()
    finally:
        broker.kill()


def test_tls_with_a_private_ca(make_config, tmp_path, store, relay_factory):
    import subprocess

    d = tmp_path / "tls"
    d.mkdir()

    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    ssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=bedside test CA",
    )
    ssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    ssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    broker = Broker(
        d,
        extra_conf=f"cafile {d}/ca.crt\ncertfile {d}/server.crt\nkeyfile {d}/server.key\n",
    ).start()
    try:
        relay = relay_factory(mqtt_config(make_config, broker, tls=True, ca_file=str(d / "ca.crt")))
        store.add_readings("testroom", readings(2))
        relay.wake_outbox()
        wait_until(lambda: relay.acked_ms == readings(2)[-1].ts_ms)
    finally:
        broker.kill()


def test_missing_ca_file_is_a_clear_error(make_config, broker, store):
    from monitor.mqtt.relay import RelayError

    config = mqtt_config(make_config, broker, ca_file="/nonexistent/ca.crt")
    with pytest.raises(RelayError, match=r"\[mqtt\] TLS settings do not work \(ca_file="):
        Relay(config, store)


def test_a_cramp_written_by_another_process_is_found_by_polling(
    make_config, broker, subscriber, store, db_path, relay_factory
):
    from monitor.store import Store

    relay_factory(mqtt_config(make_config, broker))
    with Store.open(db_path) as web:  # the web process's own connection, no wake-up call
        cramp, _ = web.add_cramp("testroom", T0, source="web", now_ms=T0, leg="both")
    subscriber.wait_for(lambda s: any(t == "bedside/testroom/cramp" for t, _, _ in s))
    assert json.loads(subscriber.on("bedside/testroom/cramp")[0])["id"] == cramp.id
    wait_until(lambda: store.get_cramp(cramp.id).published)


def test_a_locked_database_on_a_puback_does_not_end_publishing(
    make_config, broker, subscriber, store, relay_factory, monkeypatch, caplog
):
    import sqlite3

    real_mark = store.mark_cramp_published
    failures = []

    def locked_once(cramp_id, updated_ms):
        if not failures:
            failures.append(cramp_id)
            raise sqlite3.OperationalError("database is locked")
        return real_mark(cramp_id, updated_ms)

    monkeypatch.setattr(store, "mark_cramp_published", locked_once)
    relay = relay_factory(mqtt_config(make_config, broker))
    first, _ = store.add_cramp("testroom", T0, source="web", now_ms=T0)
    relay.wake_outbox()
    wait_until(lambda: failures)
    second, _ = store.add_cramp("testroom", T0 + 60_000, source="web", now_ms=T0)
    relay.wake_outbox()
    # Both end up acknowledged: the first is simply sent again after the failed mark.
    wait_until(lambda: store.get_cramp(first.id).published and store.get_cramp(second.id).published)
    assert relay._thread.is_alive()
    assert "database is locked" in caplog.text


def test_a_reading_stamped_in_the_future_waits_and_a_rewind_sends_what_sorts_before_it(
    make_config, broker, subscriber, store
):
    """A clock that jumped ahead stamped one reading a month ahead; the readings after the
    correction sort before it. The outbox must not let it hide them: it waits for its time,
    and after the daemon's rewind everything stamped after the last trusted reading goes out."""
    from monitor.clock import FakeClock

    clock = FakeClock(T0 + 10 * 30_000)
    config = mqtt_config(make_config, broker)
    relay = Relay(config, store, clock=clock)
    relay.start()
    try:
        assert relay.connected.wait(EVENT_TIMEOUT)
        before = readings(10)
        future = Reading(T0 + 30 * 86_400_000, 18.0, 50.0)
        store.add_readings("testroom", [*before, future])
        relay.wake_outbox()
        subscriber.wait_for(lambda s: len(reading_ts(s)) >= 10)
        after = readings(5, start=T0 + 11 * 30_000)
        store.add_readings("testroom", after)
        relay.rewind(before[-1].ts_ms)
        wanted = {r.ts_ms for r in before + after}
        seen = subscriber.wait_for(lambda s: wanted <= set(reading_ts(s)) and s)
        sent = reading_ts(seen)
        assert future.ts_ms not in sent
        assert set(sent) == {r.ts_ms for r in before + after}
        wait_until(lambda: relay.acked_ms == after[-1].ts_ms, what="acknowledged")
    finally:
        relay.stop()
    assert store.outbox_watermark("testroom") == after[-1].ts_ms
