"""`bedside broker-config` against a real mosquitto running the files it wrote: one room
cannot speak for another, the recorder stores nothing spoofed, and writes nothing."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest

from monitor.clock import FakeClock, iso_utc
from monitor.mqtt.brokerconf import mosquitto_hash
from monitor.mqtt.payloads import Topics, reading_payload
from monitor.mqtt.recorder import Recorder
from monitor.store import Reading, Store
from tests.support import (
    EVENT_TIMEOUT,
    broker_credentials,
    start_generated_broker,
    wait_until,
)

pytestmark = pytest.mark.broker

NOW = FakeClock().now_ms()


@pytest.fixture
def acl_broker(make_config, tmp_path):
    """The files `bedside broker-config` writes, served by mosquitto on a free port."""
    path, config = make_config({"node": {"id": "central"}})
    proc, port = start_generated_broker(tmp_path, path, "kid,parents", log_all=True)
    yield port, broker_credentials(tmp_path), config, tmp_path / "mosquitto"
    proc.kill()
    proc.wait()


def client(port, creds=None, client_id=""):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if creds:
        c.username_pw_set(creds["username"], creds["password"])
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def publish(c, topic, payload) -> int:
    """Publish QoS 1 and return the PUBACK's reason code (0 accepted, 135 not authorized)."""
    codes = {}

    def on_publish(client, userdata, mid, reason_code, properties):
        codes[mid] = reason_code.value

    c.on_publish = on_publish
    info = c.publish(topic, payload, qos=1)
    wait_until(lambda: info.mid in codes, what=f"PUBACK for {topic}")
    return codes[info.mid]


def cramp(ts_ms: int, **fields) -> bytes:
    body = {"id": 7, "ts": iso_utc(ts_ms), "leg": "left", "severity": 2, "note": None,
            "remedy": None, "relief_min": None, "source": "button", "deleted": False}  # fmt: skip
    body.update(fields)
    return json.dumps(body).encode()


def test_the_files_it_writes(acl_broker):
    _port, creds, _config, d = acl_broker
    assert set(creds) == {"kid", "parents", "bedside-recorder", "homeassistant"}
    assert oct((d / "passwd").stat().st_mode & 0o777) in ("0o600", "0o640")
    acl = (d / "acl").read_text()
    assert "user kid\ntopic write bedside/kid/#\n" in acl
    assert "user bedside-recorder\ntopic read bedside/#\n\n" in acl  # reads, writes nothing
    assert "allow_anonymous false" in (d / "mosquitto.conf").read_text()


def test_a_node_cannot_speak_for_another_and_the_recorder_stores_nothing_spoofed(
    acl_broker, tmp_path
):
    port, creds, config, _d = acl_broker
    rec_config = config.replace(
        mqtt={"enabled": True, "host": "127.0.0.1", "port": port, **creds["bedside-recorder"]},
        storage={"database": str(tmp_path / "central.db")},
        recorder={"client_id": "central-recorder", "batch_wait_s": 0.05},
    )
    rec = Recorder(rec_config, clock=FakeClock()).start()
    kid = client(port, creds["kid"], "kid")
    parents = client(port, creds["parents"], "parents")
    try:
        assert rec.ready.wait(EVENT_TIMEOUT)
        k, p = Topics("bedside", "kid"), Topics("bedside", "parents")
        # Each writes its own: accepted.
        assert publish(parents, p.cramp, cramp(NOW - 60_000)) == 0
        assert publish(kid, k.reading, reading_payload(Reading(NOW - 30_000, 19.0, 40.0))) == 0
        # The kid's client tries to speak for the parents' room: refused by the broker.
        spoofs = [
            (p.cramp, cramp(NOW - 60_000, deleted=True)),  # soft-delete their cramp
            (p.cramp, cramp(NOW - 50_000, id=8)),  # inject one
            (p.reading, reading_payload(Reading(NOW - 20_000, 35.0, 10.0))),
            (p.alert("cold"), b"ON"),
            (p.status, b"offline"),
            ("bedside/fake-room-1/reading", reading_payload(Reading(NOW, 1.0, 1.0))),
        ]
        for topic, payload in spoofs:
            assert publish(kid, topic, payload) == 135, topic  # Not authorized
        # The recorder reads; it cannot write anywhere.
        reader = client(port, creds["bedside-recorder"], "recorder-probe")
        assert publish(reader, k.status, b"offline") == 135
        reader.loop_stop()
        # An anonymous client is not let in at all.
        anon = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        answers = []
        anon.on_connect = lambda client, userdata, flags, rc, props: answers.append(rc)
        anon.connect("127.0.0.1", port)
        anon.loop_start()
        wait_until(lambda: answers, what="the broker's answer to an anonymous client")
        anon.loop_stop()
        assert answers[0].is_failure
        # A marker from the parents' own client: everything before it has been applied.
        assert publish(parents, p.status, b"online") == 0
        db = tmp_path / "central.db"
        wait_until(lambda: _status(db, "parents") == "online", what="marker stored")
        with Store.open_readonly(db) as s:
            (c,) = s.cramps("parents", include_deleted=True)
            assert not c.deleted and c.ts_ms == NOW - 60_000
            assert s.readings("parents") == []
            assert [r.ts_ms for r in s.readings("kid")] == [NOW - 30_000]
            assert s.episodes("parents") == []
            assert {n["id"] for n in s.nodes()} == {"kid", "parents"}
    finally:
        kid.loop_stop()
        parents.loop_stop()
        rec.stop()


def _status(db, node):
    try:
        with Store.open_readonly(db) as s:
            return {n["id"]: n["status"] for n in s.nodes()}.get(node)
    except Exception:
        return None


def test_the_hash_is_what_mosquitto_passwd_writes():
    """mosquitto_passwd's PBKDF2-SHA512 '$7$' format, pinned (the broker accepting every
    account's login in the test above is what shows mosquitto reads it)."""
    line = mosquitto_hash("s3cret", salt=b"0123456789ab")
    assert line.startswith("$7$101$MDEyMzQ1Njc4OWFi$") and len(line.split("$")[-1]) == 88


def _discovery_seen(port, creds, publisher, messages) -> tuple[list[int], dict[str, bytes]]:
    """``publisher`` sends ``messages`` (retained, QoS 1); Home Assistant's account (or an
    anonymous client on an open broker), subscribed to ``homeassistant/#`` before, and a
    marker after, says what it received."""
    received: dict[str, bytes] = {}
    ha = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if creds:
        ha.username_pw_set(creds["username"], creds["password"])
    subscribed = []
    ha.on_subscribe = lambda *a: subscribed.append(1)
    ha.on_message = lambda c, u, msg: received.__setitem__(msg.topic, msg.payload)
    ha.connect("127.0.0.1", port)
    ha.subscribe([("homeassistant/#", 1), ("bedside/+/status", 1)])
    ha.loop_start()
    try:
        wait_until(lambda: subscribed, what="Home Assistant's SUBACK")
        codes = [publish(publisher, topic, payload) for topic, payload in messages]
        # The marker goes last on one connection: everything before it has been delivered.
        assert publish(publisher, "bedside/kid/status", b"online") == 0
        wait_until(lambda: "bedside/kid/status" in received, what="the marker")
    finally:
        ha.loop_stop()
        ha.disconnect()
    return codes, {t: p for t, p in received.items() if t.startswith("homeassistant/")}


def test_home_assistant_receives_every_discovery_message_a_node_sends(acl_broker, broker):
    """issue 21 item 3: the ACL came from a hand-kept list of 4 topics and refused 5 of the 9
    entities in silence.  Every message the daemon sends for discovery gets through the
    generated ACL, as on an open broker."""
    from monitor.mqtt.payloads import discovery_messages

    port, creds, _config, _d = acl_broker
    sent = discovery_messages(Topics("bedside", "kid"), "homeassistant", "Kid")
    assert len(sent) >= 9
    kid = client(port, creds["kid"], "kid")
    open_node = client(broker.port, None, "kid-open")
    try:
        codes, through_acl = _discovery_seen(port, creds["homeassistant"], kid, sent)
        _, on_open_broker = _discovery_seen(broker.port, None, open_node, sent)
        # Another room's discovery stays refused.
        other = discovery_messages(Topics("bedside", "parents"), "homeassistant")[0]
        assert publish(kid, *other) == 135
    finally:
        kid.loop_stop()
        open_node.loop_stop()
    refused = [t for (t, _), code in zip(sent, codes, strict=True) if code != 0]
    assert refused == []
    assert through_acl == on_open_broker == dict(sent)
