"""MQTT with a password file and TLS: the daemon and the recorder deliver with the right
credentials and CA, and send nothing to a broker whose certificate does not check out.

The certificates are made here with the openssl CLI: a CA, a server certificate for
127.0.0.1/localhost, a server certificate for "localhost" only signed by the same CA
(dialled as 127.0.0.1 its name does not match), and a
second CA that signed nothing the broker uses.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import paho.mqtt.client as mqtt
import pytest

from monitor.cli import doctor
from monitor.clock import FakeClock
from monitor.daemon.loop import Daemon
from monitor.mqtt.payloads import parse_reading
from monitor.mqtt.recorder import Recorder
from monitor.store import Store
from tests.support import (
    EVENT_TIMEOUT,
    Broker,
    Subscriber,
    bedside_env,
    run_bedside,
    wait_until,
)

pytestmark = pytest.mark.broker

USER, PASSWORD = "bedside", "s3cret"
WATCHER, WATCHER_PASSWORD = "watcher", "w4tch"  # the subscriber's own account
PUBLISHED_AT = "2026-09-15T22:00:00Z"


# -- certificates and the secured broker ----------------------------------------------------


@dataclass(frozen=True)
class Pki:
    dir: Path
    ca: Path  # signed the server certificates
    foreign_ca: Path  # signed nothing the broker presents
    passwd: Path

    def broker_conf(self, server: str = "server", client_certs: bool = False) -> str:
        d = self.dir
        return (
            f"cafile {self.ca}\ncertfile {d / server}.crt\nkeyfile {d / server}.key\n"
            f"require_certificate {'true' if client_certs else 'false'}\n"
            f"allow_anonymous false\npassword_file {self.passwd}\n"
            # connection attempts in the broker's log: how the tests count retries
            "log_type notice\nconnection_messages true\n"
        )


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd)


def _ca(d: Path, name: str) -> None:
    _openssl(
        d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
        "-subj", f"/CN=bedside test {name}",
    )  # fmt: skip


def _server(d: Path, name: str, cn: str, san: str) -> None:
    _openssl(
        d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}",
    )  # fmt: skip
    (d / f"{name}.ext").write_text(f"subjectAltName = {san}\n")
    _openssl(
        d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "foreign")
    _server(d, "server", "127.0.0.1", "IP:127.0.0.1, DNS:localhost")
    # valid for the name "localhost" only: a client dialling 127.0.0.1 must refuse it
    _server(d, "othername", "localhost", "DNS:localhost")
    _server(d, "client", "bedside-testroom", "DNS:bedside-testroom")  # a client certificate
    passwd = d / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), USER, PASSWORD], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), WATCHER, WATCHER_PASSWORD], check=True)
    return Pki(d, d / "ca.crt", d / "foreign.crt", passwd)


@pytest.fixture
def secure_broker(tmp_path_factory, pki):
    """TLS (server certificate for 127.0.0.1 from our CA) and a password file."""
    b = Broker(tmp_path_factory.mktemp("tlsbroker"), extra_conf=pki.broker_conf()).start()
    yield b
    b.kill()


@pytest.fixture
def watcher(secure_broker, pki):
    """A subscriber that authenticates and verifies the broker: sees what was delivered."""
    sub = Subscriber(
        secure_broker, "#", username=WATCHER, password=WATCHER_PASSWORD, ca_file=str(pki.ca)
    )
    yield sub
    sub.close()


def broker_log(broker: Broker) -> str:
    return (broker.workdir / "mosquitto.log").read_text(errors="replace")


# What mosquitto logs once per refused attempt: a failed TLS handshake (either side did
# not trust the other's certificate, or the client had none) or a bad username/password.
REFUSALS = (
    "alert unknown ca",
    "alert bad certificate",
    "peer did not return a certificate",
    "not authorised",
)


def refusals(broker: Broker) -> int:
    return sum(broker_log(broker).count(pattern) for pattern in REFUSALS)


def wait_for_retries(broker: Broker, attempts: int = 2) -> None:
    """The client was turned away `attempts` times: it retried, and logged meanwhile."""
    wait_until(lambda: refusals(broker) >= attempts, what=f"{attempts} refused attempts")


def mqtt_section(broker: Broker, pki: Pki, **overrides) -> dict:
    section = {
        "enabled": True,
        "host": broker.host,
        "port": broker.port,
        "username": USER,
        "password": PASSWORD,
        "tls": True,
        "ca_file": str(pki.ca),
    }
    section.update(overrides)
    return {k: v for k, v in section.items() if v is not None}


# -- the daemon ------------------------------------------------------------------------------


@pytest.fixture
def run_daemon(make_config):
    daemons = []

    def start(mqtt_keys: dict) -> Daemon:
        _, config = make_config(
            {
                "sensor": {"kind": "simulated", "interval_s": 2, "failure_rate": 0.0},
                "mqtt": mqtt_keys,
                "button": {"enabled": False},
            }
        )
        daemon = Daemon(config, clock=FakeClock())
        daemons.append(daemon)
        daemon.start()
        assert daemon.ready.wait(EVENT_TIMEOUT)
        return daemon

    yield start
    for daemon in daemons:
        daemon.stop()


def sentinel_arrives(broker, pki: Pki, sub: Subscriber) -> None:
    """Publish a marker as a good client and wait for it: whatever a client sent before
    this returned has had its chance to reach the subscriber."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.username_pw_set(WATCHER, WATCHER_PASSWORD)
    client.tls_set(ca_certs=str(pki.ca))
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish("sentinel", b"done", qos=1).wait_for_publish(EVENT_TIMEOUT)
        sub.wait_for(lambda seen: any(t == "sentinel" for t, _, _ in seen))
    finally:
        client.loop_stop()
        client.disconnect()


def node_messages(sub: Subscriber) -> list[str]:
    return [t for t, _, _ in list(sub.seen) if t.startswith("bedside/")]


def test_daemon_delivers_with_the_password_and_the_ca(run_daemon, secure_broker, pki, watcher):
    daemon = run_daemon(mqtt_section(secure_broker, pki))
    seen = watcher.wait_for(
        lambda s: [p for t, p, _ in s if t == "bedside/testroom/reading"][:2] or None
    )
    received = [parse_reading(p) for p in seen]
    with Store.open_readonly(daemon.config.storage.database) as s:
        for r in received:  # what arrived is what was stored
            stored = s.readings("testroom", r.ts_ms, r.ts_ms + 1)
            assert [(x.ts_ms, x.temperature_c) for x in stored] == [(r.ts_ms, r.temperature_c)]
    assert watcher.on("bedside/testroom/status")[0] == b"online"


@pytest.mark.parametrize(
    "case",
    ["foreign CA", "system CAs only", "hostname mismatch"],
)
def test_daemon_sends_nothing_when_the_certificate_check_fails(
    case, run_daemon, tmp_path_factory, pki, caplog
):
    server = "othername" if case == "hostname mismatch" else "server"
    broker = Broker(
        tmp_path_factory.mktemp("tlsbroker"), extra_conf=pki.broker_conf(server)
    ).start()
    # the watcher dials the name the certificate is for
    dial = SimpleNamespace(host="localhost", port=broker.port) if server == "othername" else broker
    sub = None
    try:
        sub = Subscriber(
            dial, "#", username=WATCHER, password=WATCHER_PASSWORD, ca_file=str(pki.ca)
        )
        ca = {"foreign CA": str(pki.foreign_ca), "system CAs only": None}.get(case, str(pki.ca))
        with caplog.at_level(logging.INFO):
            daemon = run_daemon(mqtt_section(broker, pki, ca_file=ca))
            wait_for_retries(broker)
            stored_before = daemon.stored
            wait_until(lambda: daemon.stored > stored_before + 3, what="more stored readings")
            assert daemon.error is None and not daemon.relay.connected.is_set()
            daemon.stop()
        sentinel_arrives(dial, pki, sub)
        assert node_messages(sub) == [], f"{case}: the daemon published to an unverified broker"
        assert f"u'{USER}'" not in broker_log(broker), "the daemon logged in to the broker"
        outage = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(outage) == 1, outage  # said once, not per retry
        assert "readings are still stored" in outage[0]
        assert "certificate verify failed" in outage[0], outage  # why, not just "failed"
        with Store.open_readonly(daemon.config.storage.database) as s:
            assert s.count_readings("testroom") == daemon.stored > 0
    finally:
        if sub is not None:
            sub.close()
        broker.kill()


def test_daemon_with_a_wrong_password_publishes_nothing_and_says_why_once(
    run_daemon, secure_broker, pki, watcher, caplog
):
    with caplog.at_level(logging.INFO):
        daemon = run_daemon(mqtt_section(secure_broker, pki, password="Wr0ngPa55"))
        wait_for_retries(secure_broker)
        wait_until(lambda: daemon.stored > 3, what="stored readings")
        daemon.stop()
    sentinel_arrives(secure_broker, pki, watcher)
    assert node_messages(watcher) == []
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and "username/password" in refused[0], refused
    assert "Wr0ngPa55" not in caplog.text  # the password is not logged


# -- the recorder ----------------------------------------------------------------------------


@pytest.fixture
def run_recorder(make_config):
    recorders = []

    def start(mqtt_keys: dict) -> Recorder:
        _, config = make_config(
            {
                "node": {"id": "central"},
                "mqtt": mqtt_keys,
                "recorder": {"client_id": f"rec-{len(recorders)}", "batch_wait_s": 0.05},
            }
        )
        recorder = Recorder(config).start()
        recorders.append(recorder)
        return recorder

    yield start
    for recorder in recorders:
        recorder.stop()


def publish_reading(broker: Broker, pki: Pki, node: str = "kidsroom") -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.username_pw_set(USER, PASSWORD)
    client.tls_set(ca_certs=str(pki.ca))
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        payload = json.dumps({"ts": PUBLISHED_AT, "temperature_c": 17.5, "humidity_pct": 48.0})
        client.publish(f"bedside/{node}/reading", payload, qos=1).wait_for_publish(EVENT_TIMEOUT)
    finally:
        client.loop_stop()
        client.disconnect()


def stored_count(recorder: Recorder, node: str = "kidsroom") -> int:
    with Store.open_readonly(recorder.config.storage.database) as s:
        return s.count_readings(node)


@pytest.mark.parametrize("tls_key", [True, None], ids=["tls=true", "tls implied by ca_file"])
def test_recorder_stores_over_tls_with_the_password(
    tls_key, run_recorder, secure_broker, pki, db_path
):
    recorder = run_recorder(mqtt_section(secure_broker, pki, tls=tls_key))
    assert recorder.ready.wait(EVENT_TIMEOUT), "the recorder did not subscribe"
    publish_reading(secure_broker, pki)
    wait_until(lambda: stored_count(recorder) == 1, what="the reading stored")


@pytest.mark.parametrize(
    "case", ["foreign CA", "system CAs only", "hostname mismatch", "wrong password"]
)
def test_recorder_does_not_connect_when_the_broker_or_password_is_wrong(
    case, run_recorder, tmp_path_factory, pki, caplog
):
    server = "othername" if case == "hostname mismatch" else "server"
    broker = Broker(
        tmp_path_factory.mktemp("tlsbroker"), extra_conf=pki.broker_conf(server)
    ).start()
    try:
        keys = {
            "foreign CA": {"ca_file": str(pki.foreign_ca)},
            "system CAs only": {"ca_file": None},
            "hostname mismatch": {},
            "wrong password": {"password": "wrong"},
        }[case]
        with caplog.at_level(logging.INFO, logger="monitor.mqtt.recorder"):
            recorder = run_recorder(mqtt_section(broker, pki, **keys))
            wait_for_retries(broker)
            assert not recorder.connected.is_set() and not recorder.ready.is_set()
        problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(problems) == 1, problems  # said once, not per retry
        why = "Not authorized" if case == "wrong password" else "certificate verify failed"
        assert why in problems[0], problems
    finally:
        broker.kill()


def test_recorder_with_a_missing_ca_file_is_a_one_line_error(make_config, secure_broker, pki):
    path, _ = make_config(
        {"mqtt": mqtt_section(secure_broker, pki, tls=None, ca_file="/nonexistent/ca.crt")}
    )
    result = run_bedside("recorder", config=path, timeout=EVENT_TIMEOUT)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "[mqtt] TLS settings do not work (ca_file=/nonexistent/ca.crt)" in result.stderr


@pytest.mark.parametrize("with_cert", [True, False], ids=["client certificate", "none"])
def test_daemon_with_a_client_certificate(with_cert, run_daemon, tmp_path_factory, pki, caplog):
    """A broker that requires client certificates (require_certificate true)."""
    broker = Broker(
        tmp_path_factory.mktemp("tlsbroker"), extra_conf=pki.broker_conf(client_certs=True)
    ).start()
    cert = {"cert_file": str(pki.dir / "client.crt"), "key_file": str(pki.dir / "client.key")}
    try:
        with caplog.at_level(logging.INFO):
            daemon = run_daemon(mqtt_section(broker, pki, **(cert if with_cert else {})))
            if with_cert:
                wait_until(daemon.relay.connected.is_set, what="connected with the certificate")
                return
            wait_for_retries(broker)
            assert daemon.error is None and not daemon.relay.connected.is_set()
            wait_until(lambda: daemon.stored > 3, what="stored readings")
        outage = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(outage) == 1 and "readings are still stored" in outage[0], outage
    finally:
        broker.kill()


# -- doctor: the same client as the daemon ---------------------------------------------------


@pytest.fixture
def client_cert_broker(tmp_path_factory, pki):
    """TLS that requires a client certificate (and the password), as on a hardened broker."""
    b = Broker(
        tmp_path_factory.mktemp("tlsbroker"), extra_conf=pki.broker_conf(client_certs=True)
    ).start()
    yield b
    b.kill()


def cert_without_ca(broker: Broker, pki: Pki) -> dict:
    """A client certificate and no ca_file (nor tls = true): the broker is verified against
    the system's CAs, which the tests point at their own CA with SSL_CERT_FILE."""
    return mqtt_section(
        broker,
        pki,
        tls=None,
        ca_file=None,
        cert_file=str(pki.dir / "client.crt"),
        key_file=str(pki.dir / "client.key"),
    )


def test_doctor_with_a_client_certificate_and_no_ca_file_tests_tls(
    make_config, client_cert_broker, pki
):
    """It used to test a plaintext connection (TLS only with tls or ca_file), so a broker
    that the daemon reaches over TLS looked dead: 'never answered as MQTT'."""
    path, _ = make_config({"mqtt": cert_without_ca(client_cert_broker, pki)})
    skip = ["--skip", "sensor", "--skip", "clock", "--skip", "units", "--skip", "button"]
    env = bedside_env(SSL_CERT_FILE=str(pki.ca))  # our CA stands in for the system's
    result = run_bedside("doctor", *skip, config=path, env=env, timeout=EVENT_TIMEOUT)
    line = next(x for x in result.stdout.splitlines() if " broker " in x)
    assert line.startswith("OK"), result.stdout + result.stderr
    assert "with TLS" in line and f"{client_cert_broker.port}" in line
    assert result.returncode == 0


def test_doctor_and_daemon_agree_on_a_client_certificate_without_ca_file(
    make_config, run_daemon, client_cert_broker, pki, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    section = cert_without_ca(client_cert_broker, pki)
    daemon = run_daemon(section)
    wait_until(daemon.relay.connected.is_set, what="the daemon connected with the certificate")
    _, config = make_config({"mqtt": section}, name="doctor.toml")
    result = doctor.check_broker(config, timeout=EVENT_TIMEOUT)
    assert result.status == doctor.OK and "with TLS" in result.detail, result
    # With the system not trusting our CA, doctor's TLS handshake fails, and says so.
    monkeypatch.delenv("SSL_CERT_FILE")
    refused = doctor.check_broker(config, timeout=EVENT_TIMEOUT)
    assert refused.status == doctor.FAIL and "certificate verify failed" in refused.detail
