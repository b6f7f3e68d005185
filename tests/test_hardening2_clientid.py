"""Client ids are bound to accounts (issue 21, #4): with the files `bedside broker-config`
writes, a node account that connects as ``bedside-recorder`` does not knock the recorder
off (nor take over its persistent session), and our own clients (the daemon's relay, the
recorder, doctor) still connect.  A real mosquitto serves the generated files.
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from monitor.cli.doctor import OK, check_broker
from monitor.clock import FakeClock
from monitor.mqtt.payloads import Topics, reading_payload
from monitor.mqtt.recorder import Recorder
from monitor.store import Reading, Store
from tests import test_broker_acl
from tests.support import EVENT_TIMEOUT, wait_until
from tests.test_broker_acl import NOW, client, publish

acl_broker = test_broker_acl.acl_broker  # the generated files, served by a real mosquitto

pytestmark = pytest.mark.broker


def recorder_config(port, creds, config, tmp_path):
    return config.replace(
        mqtt={"enabled": True, "host": "127.0.0.1", "port": port, **creds["bedside-recorder"]},
        storage={"database": str(tmp_path / "central.db")},
        recorder={"batch_wait_s": 0.05},  # its default client id: bedside-recorder
    )


def watch_disconnects(rec: Recorder) -> list:
    """Record every disconnect of the recorder's client (its own handler still runs)."""
    seen: list = []
    own = rec.client.on_disconnect

    def on_disconnect(client, userdata, flags, reason_code, properties):
        seen.append(str(reason_code))
        own(client, userdata, flags, reason_code, properties)

    rec.client.on_disconnect = on_disconnect
    return seen


def connack(port, creds, client_id, *, clean_start=True) -> mqtt.ReasonCode:
    """Connect as ``creds`` with ``client_id`` and return the CONNACK's reason code."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.username_pw_set(creds["username"], creds["password"])
    got: dict = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        got["rc"] = reason_code
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port, clean_start=clean_start)
    c.loop_start()
    try:
        assert done.wait(EVENT_TIMEOUT), "no CONNACK"
    finally:
        c.disconnect()
        c.loop_stop()
    return got["rc"]


def stored(db, node) -> int:
    with Store.open_readonly(db) as s:
        return len(s.readings(node))


def test_a_node_connecting_as_the_recorder_does_not_knock_it_off(acl_broker, tmp_path):
    port, creds, config, _d = acl_broker
    rec = Recorder(recorder_config(port, creds, config, tmp_path), clock=FakeClock())
    disconnects = watch_disconnects(rec)
    rec.start()
    parents = None
    try:
        assert rec.ready.wait(EVENT_TIMEOUT)
        # The kid's account claims the recorder's client id, with a persistent session
        # (to inherit its subscriptions) and then with a clean one (to wipe it).
        assert not connack(port, creds["kid"], "bedside-recorder", clean_start=False).is_failure
        assert not connack(port, creds["kid"], "bedside-recorder").is_failure
        # A reading published after the attack still reaches the recorder's database ...
        parents = client(port, creds["parents"], "parents")
        p = Topics("bedside", "parents")
        assert publish(parents, p.reading, reading_payload(Reading(NOW, 19.0, 40.0))) == 0
        db = tmp_path / "central.db"
        wait_until(lambda: stored(db, "parents") == 1, what="the reading in the recorder's db")
        # ... over the connection it had before: it was never disconnected.
        assert disconnects == []
    finally:
        if parents is not None:
            parents.loop_stop()
            parents.disconnect()
        rec.stop()


def test_our_clients_connect_and_the_recorders_session_persists(acl_broker, tmp_path):
    port, creds, config, _d = acl_broker
    rec_config = recorder_config(port, creds, config, tmp_path)
    rec = Recorder(rec_config, clock=FakeClock()).start()
    try:
        assert rec.ready.wait(EVENT_TIMEOUT)
    finally:
        rec.stop()
    # While the recorder is away, the broker keeps its messages (a persistent session,
    # still keyed by the same client id) ...
    parents = client(port, creds["parents"], "parents")
    try:
        p = Topics("bedside", "parents")
        assert publish(parents, p.reading, reading_payload(Reading(NOW, 19.5, 41.0))) == 0
    finally:
        parents.loop_stop()
        parents.disconnect()
    rec = Recorder(rec_config, clock=FakeClock()).start()
    disconnects = watch_disconnects(rec)
    try:
        db = tmp_path / "central.db"
        wait_until(lambda: stored(db, "parents") == 1, what="the queued reading")
        # doctor, with the recorder's own config, checks the account without taking over
        # the recorder's session.
        result = check_broker(rec_config, timeout=EVENT_TIMEOUT)
        assert result.status == OK, result
        node = config.replace(
            node={"id": "kid"},
            mqtt={"enabled": True, "host": "127.0.0.1", "port": port, **creds["kid"]},
        )
        assert check_broker(node, timeout=EVENT_TIMEOUT).status == OK
        assert disconnects == []
    finally:
        rec.stop()
