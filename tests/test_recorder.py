"""The recorder against a real mosquitto and real SQLite files: nothing lost, nothing twice."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.clock import FakeClock, SystemClock, iso_utc
from monitor.mqtt.ingest import (
    AlertAction,
    CrampAction,
    ReadingAction,
    SkipAction,
    StatusAction,
    decode,
)
from monitor.mqtt.payloads import (
    PayloadError,
    Topics,
    alert_payload,
    cramp_payload,
    reading_payload,
)
from monitor.mqtt.recorder import Recorder
from monitor.store import Reading, Store
from tests.support import EVENT_TIMEOUT, run_bedside, start_bedside, stop_process, wait_until

PREFIX = "bedside/siteA"
OWN = "recorder-host"
T0 = FakeClock().now_ms() - 3_600_000  # an hour before the fake clock's "now"

pytestmark = pytest.mark.broker


# -- helpers ----------------------------------------------------------------------------


def query(db, sql, *args):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # not created/migrated yet
        return []
    finally:
        conn.close()


def count(db, node=None):
    sql = "SELECT count(*) FROM readings" + (" WHERE node = ?" if node else "")
    rows = query(db, sql, *([node] if node else []))
    return rows[0][0] if rows else 0


class Publisher:
    """A node's MQTT side, speaking the payload contract, QoS 1, waiting for PUBACK."""

    def __init__(self, broker, node: str, prefix: str = PREFIX):
        self.topics = Topics(prefix, node)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{node}", protocol=mqtt.MQTTv5
        )
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(EVENT_TIMEOUT)
        assert info.is_published(), f"broker did not acknowledge {topic}"

    def reading(self, ts_ms: int, temp: float = 18.5, hum: float | None = 50.0) -> None:
        self.send(self.topics.reading, reading_payload(Reading(ts_ms, temp, hum)))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def cramp_message(ts_ms: int, deleted: bool = False, **fields) -> bytes:
    body = {
        "id": 1,
        "ts": iso_utc(ts_ms),
        "leg": None,
        "severity": None,
        "source": "button",
        "note": None,
        "remedy": None,
        "relief_min": None,
        "deleted": deleted,
    }
    body.update(fields)
    return json.dumps(body).encode()


@pytest.fixture
def rec_config(make_config, broker, db_path):
    _, config = make_config(
        {
            "node": {"id": OWN},
            "mqtt": {
                "enabled": True,
                "host": broker.host,
                "port": broker.port,
                "topic_prefix": PREFIX,
            },
            "recorder": {"client_id": "test-recorder", "batch_wait_s": 0.05},
        }
    )
    return config


@pytest.fixture
def recorder_factory(rec_config, clock):
    running = []

    def start(config=None, clock=clock):
        rec = Recorder(config or rec_config, clock=clock).start()
        running.append(rec)
        assert rec.ready.wait(EVENT_TIMEOUT), "recorder did not subscribe"
        return rec

    yield start
    for rec in running:
        rec.stop()


@pytest.fixture
def publishers(broker):
    made = []

    def make(node, prefix=PREFIX):
        p = Publisher(broker, node, prefix)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


# -- decode (pure) --------------------------------------------------------------------


def decode_one(topic, payload, own=OWN, received=T0 + 1000):
    return decode(PREFIX, topic, payload, received, own_node=own, max_bytes=4096)


def test_decode_turns_each_topic_into_its_action():
    r = decode_one(f"{PREFIX}/kid/reading", reading_payload(Reading(T0, 17.25, 40.0)))
    assert r == ReadingAction("kid", Reading(T0, 17.25, 40.0))
    c = decode_one(f"{PREFIX}/kid/cramp", cramp_message(T0, leg="left", severity=3))
    assert isinstance(c, CrampAction) and c.fields["leg"] == "left" and not c.fields["deleted"]
    a = decode_one(f"{PREFIX}/kid/alert/cold", b"ON")
    assert a == AlertAction("kid", "cold", True, T0 + 1000)
    s = decode_one(f"{PREFIX}/kid/status", b"offline")
    assert s == StatusAction("kid", "offline", T0 + 1000)
    assert decode_one(f"{PREFIX}/{OWN}/reading", reading_payload(Reading(T0, 18))) == SkipAction(
        OWN
    )


MALFORMED = [
    ("kid/reading", b"{not json"),
    ("kid/reading", b"[1, 2]"),
    ("kid/reading", b'{"ts": "2026-06-02T00:00:00Z"}'),  # missing temperature
    ("kid/reading", b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": "cold"}'),
    ("kid/reading", b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": NaN}'),
    ("kid/reading", b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": 1e308}'),
    ("kid/reading", b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": true}'),
    ("kid/reading", b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": 20, "humidity_pct": 140}'),
    ("kid/reading", b'{"ts": "yesterday", "temperature_c": 20}'),
    ("kid/reading", b'{"ts": "2026-06-02T00:00:00", "temperature_c": 20}'),  # no offset
    ("kid/reading", b'{"ts": "1970-01-01T00:00:00Z", "temperature_c": 20}'),  # Pi without RTC
    ("kid/reading", b'{"ts": "2099-01-01T00:00:00Z", "temperature_c": 20}'),  # far future
    ("kid/reading", b'{"ts": 1780358400000, "temperature_c": 20}'),
    (
        "kid/reading",
        b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": 20, "pad": "' + b"x" * 5000 + b'"}',
    ),
    ("kid/reading", b"\xff\xfe\x00garbage"),
    ("kid/reading", b"[" * 3000),  # nested deeper than Python's recursion limit
    ("kid/reading", b""),
    ("kid/cramp", b'{"ts": "2026-06-02T00:00:00Z", "severity": 9}'),
    ("kid/cramp", b'{"ts": "2026-06-02T00:00:00Z", "leg": "arm"}'),
    ("kid/cramp", b'{"ts": "2026-06-02T00:00:00Z", "deleted": "yes"}'),
    ("kid/cramp", b'{"ts": "2026-06-02T00:00:00Z", "severity": 2.5}'),
    ("kid/cramp", b'{"ts": "2026-06-02T00:00:00Z", "id": "7", "created": "2026-06-02T00:00:00Z"}'),
    ("kid/cramp", b'{"ts": "2026-06-02T00:00:00Z", "id": 7, "created": "noon"}'),
    ("kid/alert/cold", b"MAYBE"),
    ("kid/alert/flood", b"ON"),
    ("kid/status", b"sleeping"),
    ("kid/state", b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": 20}'),
    ("kid/whatever/else", b"ON"),
    ("kid with space/reading", b'{"ts": "2026-06-02T00:00:00Z", "temperature_c": 20}'),
]


@pytest.mark.parametrize(("leaf", "payload"), MALFORMED)
def test_decode_rejects_off_contract_messages_naming_why(leaf, payload):
    with pytest.raises(PayloadError) as err:
        decode_one(f"{PREFIX}/{leaf}", payload)
    assert str(err.value)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    leaf=st.sampled_from(["reading", "cramp", "alert/cold", "alert/sensor", "status", "x"]),
    payload=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(["ts", "temperature_c", "humidity_pct", "leg", "severity", "deleted"]),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=30),
            ),
        ).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_decode_either_returns_a_valid_action_or_raises_payload_error(leaf, payload):
    try:
        action = decode_one(f"{PREFIX}/kid/{leaf}", payload)
    except PayloadError:
        return
    if isinstance(action, ReadingAction):
        r = action.reading
        assert math.isfinite(r.temperature_c) and -40 <= r.temperature_c <= 80
        assert r.humidity_pct is None or 0 <= r.humidity_pct <= 100
        assert isinstance(r.ts_ms, int)
    else:
        assert isinstance(action, CrampAction | AlertAction | StatusAction)


# -- against a real broker ----------------------------------------------------------------


def test_every_reading_of_every_node_arrives_exactly_once(recorder_factory, publishers, db_path):
    recorder_factory()
    nodes = {name: publishers(name) for name in ("kid", "parents", "guest")}
    expected = {}
    for i in range(40):
        for k, (name, pub) in enumerate(nodes.items()):
            ts = T0 + i * 2000 + k
            temp = round(15 + k + i * 0.01, 2)
            pub.reading(ts, temp, 40.0 + k)
            expected[(name, ts)] = temp
    # at-least-once: a replayed stretch (a node's relay resending after a lost PUBACK)
    for i in range(10):
        nodes["kid"].reading(T0 + i * 2000, 15 + i * 0.01, 40.0)
    wait_until(lambda: count(db_path) >= len(expected), what="all readings stored")
    rows = query(db_path, "SELECT node, ts_ms, temperature_c FROM readings")
    assert len(rows) == len(expected) == 120
    assert {(n, ts): t for n, ts, t in rows} == expected
    seen = {n["id"] for n in Store.open_readonly(db_path).nodes()}
    assert seen == {"kid", "parents", "guest"}  # new nodes appear on their own


def test_stopping_the_recorder_loses_nothing(recorder_factory, publishers, db_path):
    rec = recorder_factory()
    pub = publishers("kid")
    pub.reading(T0)
    wait_until(lambda: count(db_path) == 1, what="first reading")
    rec.stop()
    for i in range(1, 200):  # while it is down, the broker holds them in its session
        pub.reading(T0 + i * 2000)
    assert count(db_path) == 1
    recorder_factory()
    wait_until(lambda: count(db_path) == 200, what="backlog delivered after restart")
    assert query(db_path, "SELECT count(DISTINCT ts_ms) FROM readings")[0][0] == 200


def test_broker_restart_loses_nothing_that_was_acknowledged(
    recorder_factory, publishers, broker, db_path
):
    rec = recorder_factory()
    pub = publishers("kid")
    for i in range(50):
        pub.reading(T0 + i * 2000)
    wait_until(lambda: count(db_path) == 50, what="readings before the restart")
    rec.stop()
    for i in range(50, 120):  # acknowledged by the broker, queued for the recorder
        pub.reading(T0 + i * 2000)
    broker.restart()  # graceful: mosquitto persists sessions and queued messages
    rec = recorder_factory()
    wait_until(lambda: count(db_path) == 120, what="queued readings after broker restart")
    broker.restart()  # and once more while the recorder is running
    wait_until(lambda: rec.ready.is_set(), what="recorder resubscribed")
    wait_until(lambda: pub.client.is_connected(), what="publisher reconnected")
    for i in range(120, 150):
        pub.reading(T0 + i * 2000)
    wait_until(lambda: count(db_path) == 150, what="readings after the second restart")
    assert query(db_path, "SELECT count(DISTINCT ts_ms) FROM readings")[0][0] == 150


def test_a_broker_restart_in_mid_stream_loses_no_acknowledged_reading(
    recorder_factory, publishers, broker, db_path
):
    recorder_factory()
    pub = publishers("kid")
    infos = {}
    for i in range(300):  # not waiting for PUBACKs: the restart hits messages in flight
        ts = T0 + i * 2000
        infos[ts] = pub.client.publish(pub.topics.reading, reading_payload(Reading(ts, 18)), qos=1)
        if i == 150:
            broker.restart()
    for info in infos.values():
        info.wait_for_publish(EVENT_TIMEOUT)  # paho resends unacknowledged ones
    acknowledged = {ts for ts, info in infos.items() if info.is_published()}
    assert len(acknowledged) > 150  # the test exercised the restart, not a dead broker

    def stored_ts():
        return {ts for (ts,) in query(db_path, "SELECT ts_ms FROM readings WHERE node = 'kid'")}

    wait_until(lambda: acknowledged <= stored_ts(), what="every acknowledged reading stored")
    assert count(db_path) == len(stored_ts())  # and each once


def test_a_fuzzed_stream_of_malformed_messages_is_survived(recorder_factory, publishers, db_path):
    rec = recorder_factory()
    bad = publishers("fuzzer")
    for leaf, payload in MALFORMED:
        bad.send(f"{PREFIX}/{leaf}", payload)
    rnd = __import__("random").Random(7)
    for _ in range(200):
        leaf = rnd.choice(["reading", "cramp", "alert/cold", "status"])
        bad.send(f"{PREFIX}/kid/{leaf}", rnd.randbytes(rnd.randrange(0, 64)))
    bad.send(f"{PREFIX}/kid/reading", b"x" * 100_000)  # huge
    good = publishers("kid")
    good.reading(T0, 19.0, 45.0)
    wait_until(lambda: count(db_path) == 1, what="the good reading after the garbage")
    assert query(db_path, "SELECT node, ts_ms, temperature_c, humidity_pct FROM readings") == [
        ("kid", T0, 19.0, 45.0)
    ]
    assert query(db_path, "SELECT count(*) FROM cramps") == [(0,)]
    assert query(db_path, "SELECT count(*) FROM alert_episodes") == [(0,)]
    assert rec._writer.is_alive()
    unsubscribed = 2  # kid/state and kid/whatever/else never reach the recorder
    assert rec.stats.malformed == len(MALFORMED) - unsubscribed + 200 + 1


def test_cramp_state_is_applied_idempotently(recorder_factory, publishers, db_path):
    recorder_factory()
    pub = publishers("kid")
    topic = pub.topics.cramp
    pub.send(topic, cramp_message(T0, leg="left", severity=3))
    pub.send(topic, cramp_message(T0, leg="left", severity=3))  # redelivered
    pub.send(topic, cramp_message(T0 + 60_000, leg="right"))
    pub.send(topic, cramp_message(T0 + 60_000, leg="right", deleted=True))  # undo
    pub.send(topic, cramp_message(T0, leg="left", severity=4, note="calf"))  # edit
    pub.send(f"{PREFIX}/kid/status", b"online")  # a marker: the batch before it is done

    def state():
        return query(
            db_path,
            "SELECT ts_ms, leg, severity, note, deleted_ms IS NOT NULL,"
            " source FROM cramps ORDER BY ts_ms",
        )

    wait_until(lambda: query(db_path, "SELECT status FROM nodes") == [("online",)], what="marker")
    assert state() == [
        (T0, "left", 4, "calf", 0, "mqtt"),
        (T0 + 60_000, "right", None, None, 1, "mqtt"),
    ]
    pub.send(topic, cramp_message(T0 + 60_000, leg="right", deleted=False))  # restore
    pub.send(topic, cramp_message(T0 + 60_000, leg="right", deleted=False))
    wait_until(lambda: state()[1][4] == 0, what="restored")
    assert len(state()) == 2


def test_a_cramp_moved_in_time_on_its_node_moves_on_the_recorder(
    recorder_factory, publishers, db_path, tmp_path
):
    recorder_factory()
    pub = publishers("kid")
    with Store.open(tmp_path / "kid.db") as node:
        cramp, _ = node.add_cramp("kid", T0, source="button", now_ms=T0, leg="left")
        pub.send(pub.topics.cramp, cramp_payload(cramp))
        cramp = node.update_cramp(cramp.id, now_ms=T0 + 1, ts_ms=T0 - 600_000, severity=2)
        pub.send(pub.topics.cramp, cramp_payload(cramp))
        pub.send(pub.topics.cramp, cramp_payload(cramp))  # redelivered
    with Store.open(tmp_path / "reflashed.db") as node:  # ids start at 1 again
        other, _ = node.add_cramp("kid", T0 + 3_600_000, source="web", now_ms=T0 + 3_600_000)
        assert other.id == cramp.id
        pub.send(pub.topics.cramp, cramp_payload(other))
    pub.send(pub.topics.status, b"online")  # a marker: everything before it is applied
    wait_until(lambda: query(db_path, "SELECT status FROM nodes") == [("online",)], what="marker")
    assert query(
        db_path, "SELECT ts_ms, leg, severity, deleted_ms IS NULL FROM cramps ORDER BY ts_ms"
    ) == [(T0 - 600_000, "left", 2, 1), (T0 + 3_600_000, None, None, 1)]


def test_alerts_open_and_close_episodes_and_status_is_tracked(
    recorder_factory, publishers, db_path, clock
):
    recorder_factory()
    pub = publishers("kid")
    cold = pub.topics.alert("cold")
    pub.send(pub.topics.status, b"online", retain=True)
    pub.send(cold, alert_payload(True))
    wait_until(lambda: query(db_path, "SELECT count(*) FROM alert_episodes") == [(1,)])
    clock.advance(600)
    pub.reading(clock.now_ms() - 1000, 14.5)
    pub.reading(clock.now_ms() - 500, 15.5)
    pub.send(cold, alert_payload(True))  # a repeat does not open a second episode
    pub.send(cold, alert_payload(False))
    pub.send(cold, alert_payload(False))
    pub.send(pub.topics.status, b"offline", retain=True)
    wait_until(lambda: query(db_path, "SELECT status FROM nodes") == [("offline",)])
    episodes = query(db_path, "SELECT node, kind, start_ms, end_ms, min_temp_c FROM alert_episodes")
    assert len(episodes) == 1
    node, kind, start, end, min_temp = episodes[0]
    assert (node, kind) == ("kid", "cold") and end - start == 600_000
    assert min_temp == 14.5  # the coldest reading while the alert was on


def test_own_node_is_not_stored_twice_when_sharing_the_daemons_database(
    recorder_factory, publishers, db_path
):
    # The daemon on this Pi stores its readings first, then publishes them.
    with Store.open(db_path) as daemon_store:
        daemon_store.add_readings(OWN, [Reading(T0 + i * 2000, 18.0) for i in range(5)])
    recorder_factory()
    own, other = publishers(OWN), publishers("kid")
    for i in range(5):
        own.reading(T0 + i * 2000, 18.0)
    own.reading(T0 + 99_000, 18.0)  # never stored by "the daemon": proves the skip
    other.reading(T0, 20.0)
    # sent after the node's own messages: once it is stored, those were processed
    wait_until(lambda: count(db_path, "kid") == 1, what="the other room's reading")
    assert count(db_path, OWN) == 5
    assert query(
        db_path, "SELECT count(*) FROM readings WHERE node = ? AND ts_ms = ?", OWN, T0 + 99_000
    ) == [(0,)]


def test_a_crash_between_receipt_and_commit_redelivers(broker, rec_config, tmp_path, db_path):
    """SIGKILL the recorder while its batch cannot commit: the broker redelivers it."""
    from tests.support import write_config

    cfg = write_config(
        tmp_path / "rec.toml",
        {
            "node": {"id": OWN, "timezone": "UTC"},
            "storage": {"database": str(db_path)},
            "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": PREFIX},
            "recorder": {"client_id": "crash-recorder", "batch_wait_s": 0.05},
        },
    )
    log = tmp_path / "recorder.log"
    proc = start_bedside("recorder", config=cfg, log=log)
    try:
        wait_until(lambda: "connected to" in log.read_text(errors="replace"), what="connect")
        wait_until(lambda: query(db_path, "SELECT count(*) FROM nodes") == [(0,)], what="db")
        lock = sqlite3.connect(db_path, timeout=30, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # the recorder receives but cannot commit
        pub = Publisher(broker, "kid")
        now = int(time.time() * 1000)
        for i in range(20):
            pub.reading(now - 60_000 + i * 2000)
        wait_until(lambda: "not committed" in log.read_text(errors="replace"), what="stuck")
        stop_process(proc, 9)
        lock.execute("ROLLBACK")
        lock.close()
        assert count(db_path) == 0
        proc = start_bedside("recorder", config=cfg, log=log)
        wait_until(lambda: count(db_path) == 20, what="redelivered after the crash")
        assert stop_process(proc) == 0
        pub.close()
    finally:
        if proc.poll() is None:
            stop_process(proc, 9)


def test_a_recorder_started_before_its_broker_connects_when_it_comes_up(
    rec_config, clock, tmp_path_factory, db_path
):
    from tests.support import Broker

    late = Broker(tmp_path_factory.mktemp("late"))
    config = rec_config.replace(mqtt={"port": late.port})
    rec = Recorder(config, clock=clock).start()
    try:
        assert not rec.ready.is_set()
        late.start()
        assert rec.ready.wait(EVENT_TIMEOUT), "recorder did not connect once the broker was up"
        pub = Publisher(late, "kid")
        pub.reading(T0)
        wait_until(lambda: count(db_path) == 1, what="reading through the late broker")
        pub.close()
    finally:
        rec.stop()
        late.kill()


def test_a_failing_writer_is_reported_and_leaves_the_message_with_the_broker(
    recorder_factory, publishers, db_path
):
    rec = recorder_factory()

    def broken_ack(mid, qos):
        raise RuntimeError("simulated bug")

    rec.client.ack = broken_ack
    pub = publishers("kid")
    pub.reading(T0)
    assert rec.failed.wait(EVENT_TIMEOUT)
    rec.stop()
    del rec.client.ack
    again = recorder_factory()  # a restart: the unacknowledged message comes again
    pub.reading(T0 + 2000)
    wait_until(lambda: again.stats.received == 2, what="redelivered and new message")
    assert count(db_path) == 2  # stored once


def test_recorder_refuses_to_run_without_mqtt(make_config):
    path, _ = make_config({"mqtt": {"enabled": False}})
    result = run_bedside("recorder", config=path, timeout=60)
    assert result.returncode == 1
    assert "recorder needs a broker" in result.stderr
    assert "Traceback" not in result.stderr


# -- three real daemons ---------------------------------------------------------------------


def _daemon_available() -> bool:
    try:
        import monitor.daemon.loop as daemon
    except Exception:
        return False
    return hasattr(daemon, "Daemon")


@pytest.mark.slow
@pytest.mark.skipif(
    not _daemon_available(), reason="monitor.daemon.loop has no Daemon class yet (daemon branch)"
)
def test_three_daemons_one_recorder_every_reading_exactly_once(
    broker, recorder_factory, tmp_path, db_path
):
    from tests.support import write_config

    procs, dbs = [], {}
    try:
        for name in ("kid", "parents", "guest"):
            dbs[name] = tmp_path / f"{name}.db"
            cfg = write_config(
                tmp_path / f"{name}.toml",
                {
                    "node": {"id": name, "timezone": "UTC"},
                    "sensor": {"kind": "simulated", "interval_s": 2, "failure_rate": 0.0},
                    "storage": {"database": str(dbs[name])},
                    "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": PREFIX},
                    "button": {"enabled": False},
                },
            )
            procs.append(start_bedside("monitor", config=cfg, log=tmp_path / f"{name}.log"))
        recorder = recorder_factory(None, SystemClock())  # daemons stamp real time
        wait_until(lambda: all(count(db_path, n) >= 3 for n in dbs), what="three readings each")
        recorder.stop()  # down for a while: the broker holds its session
        wait_until(
            lambda: all(count(dbs[n], n) >= count(db_path, n) + 2 for n in dbs),
            what="daemons kept reading while the recorder was down",
        )
        recorder = recorder_factory(None, SystemClock())
        before = {n: count(dbs[n], n) for n in dbs}
        broker.restart()  # mid-run: sessions and queued messages persist
        wait_until(
            lambda: all(count(dbs[n], n) >= before[n] + 2 for n in dbs),
            what="daemons kept reading across the broker restart",
        )
        wait_until(lambda: recorder.ready.is_set(), what="recorder resubscribed")
        for p in procs:
            assert stop_process(p) == 0
        for name, path in dbs.items():
            own = query(path, "SELECT ts_ms, temperature_c FROM readings WHERE node = ?", name)
            wait_until(lambda n=name, o=own: count(db_path, n) >= len(o), what=f"{name} caught up")
            got = query(db_path, "SELECT ts_ms, temperature_c FROM readings WHERE node = ?", name)
            assert sorted(got) == sorted(own)
    finally:
        for p in procs:
            if p.poll() is None:
                stop_process(p, 9)


# -- past one broker ----------------------------------------------------------------------


def test_a_bridged_site_broker_reaches_the_central_recorder(
    broker, recorder_factory, tmp_path_factory, db_path
):
    """docs/many-rooms.md's bridge (without TLS): site broker -> central broker -> recorder."""
    from tests.support import Broker

    bridge = (
        "connection central\n"
        f"address {broker.host}:{broker.port}\n"
        "bridge_protocol_version mqttv311\n"
        "remote_clientid bridge-siteA\n"
        "topic bedside/# out 1\n"
        "cleansession false\n"
        "local_clientid bridge-siteA-local\n"
        "try_private true\n"
        "notifications false\n"
        "restart_timeout 1 5\n"
    )
    site = Broker(tmp_path_factory.mktemp("site"), extra_conf=bridge).start()
    try:
        recorder_factory()
        room = Publisher(site, "kid")
        try:
            for i in range(30):
                room.reading(T0 + i * 2000)
            wait_until(lambda: count(db_path, "kid") == 30, what="bridged readings")
        finally:
            room.close()
    finally:
        site.kill()


def test_recorder_with_a_missing_ca_file_is_one_clear_line(make_config, tmp_path):
    path, _ = make_config(
        {"mqtt": {"enabled": True, "port": 1, "ca_file": str(tmp_path / "missing-ca.pem")}}
    )
    result = run_bedside("recorder", config=path, timeout=60)
    assert result.returncode == 1
    assert "[mqtt] TLS settings do not work (ca_file=" in result.stderr
    assert "Traceback" not in result.stderr


def test_recorder_ca_file_implies_tls_like_the_daemon(make_config):
    from pathlib import Path

    from monitor.mqtt.recorder import Recorder

    bundle = Path("/etc/ssl/certs/ca-certificates.crt")  # Debian's ca-certificates
    if not bundle.exists():
        pytest.skip("no system CA bundle to point ca_file at")
    _, config = make_config({"mqtt": {"enabled": True, "ca_file": str(bundle)}})
    rec = Recorder(config)
    assert rec.client._ssl_context is not None  # TLS on although tls = false


def test_a_bad_cramp_is_one_warning_in_words_not_a_traceback_per_batch(
    recorder_factory, publishers, db_path, caplog
):
    """A note no database can hold (a lone surrogate) or should hold (control characters)
    used to pass decoding and blow up the batch with a traceback; a reading stamped 23 h
    ahead used to be stored and stand for 'now' for a day."""
    caplog.set_level(logging.DEBUG, logger="monitor")
    rec = recorder_factory()
    pub = publishers("kid")
    pub.send(pub.topics.cramp, cramp_message(T0, note="\ud800"))
    pub.send(pub.topics.cramp, cramp_message(T0 + 1000, note="bell\x07"))
    pub.reading(T0 + 23 * 3_600_000 + 3_600_000)  # 23 h after the recorder's now
    pub.reading(T0, 19.0, 45.0)
    pub.send(f"{PREFIX}/kid/status", b"online")
    wait_until(lambda: query(db_path, "SELECT status FROM nodes") == [("online",)], what="marker")
    assert query(db_path, "SELECT ts_ms FROM readings") == [(T0,)]
    assert query(db_path, "SELECT count(*) FROM cramps") == [(0,)]
    assert not [r for r in caplog.records if r.exc_info], "a traceback in the log"
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 3 and any("in the future" in m for m in skipped)
    assert any("control characters" in m for m in skipped)
    assert rec.stats.malformed == 3


def test_new_node_ids_stop_at_max_nodes(rec_config, recorder_factory, publishers, db_path):
    """10,000 invented rooms used to put 10,000 entries in every page's room picker."""
    config = rec_config.replace(recorder={"max_nodes": 2})
    rec = recorder_factory(config)
    for i in range(5):
        publishers(f"room{i}").reading(T0 + i * 1000)
    marker = publishers("room0")
    marker.send(f"{PREFIX}/room0/status", b"online")
    wait_until(lambda: query(db_path, "SELECT status FROM nodes WHERE id='room0'"), what="marker")
    assert query(db_path, "SELECT DISTINCT node FROM readings ORDER BY node") == [
        ("room0",),
        ("room1",),
    ]
    assert rec.stats.malformed == 3


def test_a_message_the_broker_says_came_from_another_user_is_refused(
    recorder_factory, publishers, db_path
):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    rec = recorder_factory()
    pub = publishers("kid")
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("bedside-sender", "parents")
    info = pub.client.publish(
        pub.topics.reading, reading_payload(Reading(T0, 30.0, 10.0)), qos=1, properties=props
    )
    info.wait_for_publish(EVENT_TIMEOUT)
    pub.reading(T0 + 1000, 19.0, 40.0)
    wait_until(lambda: count(db_path) == 1, what="the honest reading")
    assert query(db_path, "SELECT ts_ms FROM readings") == [(T0 + 1000,)]
    assert rec.stats.malformed == 1
