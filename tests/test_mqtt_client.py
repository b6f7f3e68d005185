"""monitor.mqtt.client: the one builder of paho clients (relay, recorder, doctor).

Most tests look at the built client without a network; the agreement test lets doctor
fail fast against a closed port and compares the client it built with the daemon's.
"""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from monitor.cli import doctor
from monitor.mqtt import client as mqtt_client
from monitor.mqtt.client import MQTTv5, MQTTv311, RelayError, Will, build_client, uses_tls
from monitor.mqtt.recorder import Recorder
from monitor.mqtt.relay import Relay
from tests.support import ROOT


@pytest.fixture(scope="module")
def pem(tmp_path_factory) -> dict[str, str]:
    """A self-signed certificate and its key: usable as ca_file and as cert_file/key_file."""
    d = tmp_path_factory.mktemp("pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2",
            "-subj", "/CN=bedside test client",
        ],
        check=True,
        capture_output=True,
        cwd=d,
    )  # fmt: skip
    (d / "garbage.pem").write_text("not a certificate\n")
    return {
        "cert": str(d / "cert.pem"),
        "key": str(d / "key.pem"),
        "garbage": str(d / "garbage.pem"),
        "missing": str(d / "missing.pem"),
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def mqtt_config(make_config, **mqtt_keys):
    keys = {"enabled": True, "host": "127.0.0.1", "port": closed_port(), **mqtt_keys}
    return make_config({"mqtt": keys})[1]


# The TLS decision: on when asked for, or when any certificate file is given.
TLS_TABLE = [
    ({}, False),
    ({"tls": False}, False),
    ({"tls": True}, True),
    ({"ca_file": "cert"}, True),
    ({"cert_file": "cert", "key_file": "key"}, True),  # the bug: doctor used plaintext
    ({"tls": False, "cert_file": "cert", "key_file": "key"}, True),
    ({"ca_file": "cert", "cert_file": "cert", "key_file": "key"}, True),
]
TLS_IDS = ["none", "tls=false", "tls=true", "ca_file", "client cert", "tls=false+cert", "all"]


def keys_with_files(keys: dict, pem: dict) -> dict:
    return {k: pem[v] if k.endswith("_file") else v for k, v in keys.items()}


def has_tls(client: mqtt.Client) -> bool:
    return client._ssl_context is not None


@pytest.mark.parametrize(("keys", "expected"), TLS_TABLE, ids=TLS_IDS)
def test_tls_decision_table(keys, expected, make_config, pem):
    config = mqtt_config(make_config, **keys_with_files(keys, pem))
    assert uses_tls(config.mqtt) is expected
    assert has_tls(build_client(config)) is expected


@pytest.mark.parametrize(("keys", "expected"), TLS_TABLE, ids=TLS_IDS)
def test_doctor_the_daemon_and_the_recorder_decide_tls_alike(
    keys, expected, make_config, pem, store, monkeypatch
):
    config = mqtt_config(make_config, **keys_with_files(keys, pem))
    built: list[mqtt.Client] = []

    def spy(*args, **kwargs):
        built.append(build_client(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(mqtt_client, "build_client", spy)
    result = doctor.check_broker(config, timeout=2)
    assert result.status == doctor.FAIL and "refused" in result.detail  # a closed port
    (doctors,) = built
    assert has_tls(doctors) is expected
    assert has_tls(Relay(config, store).client) is expected
    assert has_tls(Recorder(config).client) is expected


def test_the_broker_is_verified_by_certificate_and_host_name(make_config, pem):
    client = build_client(mqtt_config(make_config, ca_file=pem["cert"]))
    context = client._ssl_context
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
    assert client._tls_insecure is False


def test_credentials_are_applied(make_config):
    client = build_client(mqtt_config(make_config, username="bedside", password="s3cret"))
    assert client._username == b"bedside" and client._password == b"s3cret"
    anonymous = build_client(mqtt_config(make_config, password="ignored without a user"))
    assert anonymous._username is None and anonymous._password is None


def test_host_port_and_keepalive_come_from_the_config(make_config):
    config = mqtt_config(make_config, host="broker.example", port=8883, keepalive_s=42)
    client = build_client(config)
    assert (client.host, client.port, client.keepalive) == ("broker.example", 8883, 42)


@pytest.mark.parametrize(
    ("key", "value", "culprit"),
    [
        ("ca_file", "missing", "ca_file: No such file or directory"),
        ("ca_file", "garbage", "ca_file: no PEM certificate in it"),
        ("key_file", "missing", "key_file: No such file or directory"),
        ("cert_file", "garbage", "cert_file/key_file: not a PEM certificate"),
    ],
)
def test_a_bad_tls_file_is_one_line_naming_the_key_and_the_file(
    key, value, culprit, make_config, pem
):
    keys = {"cert_file": pem["cert"], "key_file": pem["key"]} if key != "ca_file" else {}
    keys[key] = pem[value]
    with pytest.raises(RelayError) as caught:
        build_client(mqtt_config(make_config, **keys))
    message = str(caught.value)
    assert "\n" not in message
    first = "ca_file" if key == "ca_file" else "cert_file"
    assert message.startswith(f"[mqtt] TLS settings do not work ({first}=")
    assert f"{key}={pem[value]}" in message and culprit in message


def test_doctor_reports_a_bad_tls_file_as_the_daemon_does(make_config, pem):
    config = mqtt_config(make_config, ca_file=pem["missing"])
    result = doctor.check_broker(config)
    assert result.status == doctor.FAIL
    assert result.detail.startswith(f"[mqtt] TLS settings do not work (ca_file={pem['missing']})")
    assert "ca_file" in result.fix


def test_v311_is_a_clean_session_with_the_last_will(make_config):
    config = mqtt_config(make_config)
    client = build_client(config, will=Will("bedside/testroom/status", b"offline"))
    assert client._protocol == MQTTv311 and client._clean_session is True
    assert client._connect_properties is None
    assert client._will_topic == b"bedside/testroom/status" and client._will_payload == b"offline"
    assert client._will_qos == 1 and client._will_retain is True
    assert client._manual_ack is False


def test_v5_persistent_session(make_config):
    config = mqtt_config(make_config)
    client = build_client(
        config,
        client_id="central",
        protocol=MQTTv5,
        session_expiry_s=3600,
        receive_maximum=100,
        manual_ack=True,
    )
    assert client._protocol == MQTTv5 and client._clean_start is False
    props = client._connect_properties
    assert props.SessionExpiryInterval == 3600 and props.ReceiveMaximum == 100
    assert client._manual_ack is True
    assert client._client_id == b"central"


def test_v5_without_a_session_starts_clean(make_config):
    client = build_client(mqtt_config(make_config), protocol=MQTTv5)
    assert client._clean_start is True


def test_a_session_needs_v5(make_config):
    with pytest.raises(ValueError, match="v5"):
        build_client(mqtt_config(make_config), session_expiry_s=60)


def test_client_ids(make_config):
    config = mqtt_config(make_config)
    assert build_client(config)._client_id == b"bedside-testroom"
    assert build_client(config, id_suffix="-doctor-7")._client_id == b"bedside-testroom-doctor-7"
    named = mqtt_config(make_config, client_id="bedroom-pi")
    assert build_client(named)._client_id == b"bedroom-pi"
    assert build_client(named, client_id="other")._client_id == b"other"


def test_userdata_limits_and_reconnect_delays(make_config):
    config = mqtt_config(make_config)
    client = build_client(config, userdata={"room": 1})
    assert client.user_data_get() == {"room": 1}
    assert (client._reconnect_min_delay, client._reconnect_max_delay) == (1, 30)
    assert (client.max_inflight_messages, client.connect_timeout) == (20, 5.0)  # paho's
    tuned = build_client(config, reconnect_max_s=10, max_inflight=52, connect_timeout=2.5)
    assert tuned._reconnect_max_delay == 10
    assert (tuned.max_inflight_messages, tuned.connect_timeout) == (52, 2.5)


def test_callers_build_their_clients_here(make_config, store):
    """The relay keeps v3.1.1 with its will; the recorder a v5 session of its own id."""
    config = make_config(
        {"mqtt": {"enabled": True, "port": closed_port()}, "recorder": {"client_id": "rec"}}
    )[1]
    relay = Relay(config, store).client
    assert relay._protocol == MQTTv311 and relay._client_id == b"bedside-testroom"
    assert relay._will_topic == b"bedside/testroom/status" and relay.max_inflight_messages == 52
    recorder = Recorder(config).client
    assert recorder._protocol == MQTTv5 and recorder._clean_start is False
    assert recorder._client_id == b"rec" and recorder._manual_ack is True
    assert recorder._connect_properties.SessionExpiryInterval == config.recorder.session_expiry_s


def test_only_the_builder_constructs_a_paho_client():
    """`grep -rn "mqtt.Client(" monitor web` finds exactly one place."""
    found = []
    for folder in ("monitor", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(ROOT).as_posix()
            found += [rel for _ in re.finditer(r"mqtt\.Client\(", text)]
            # another spelling of the same constructor
            if rel != "monitor/mqtt/client.py":
                assert "CallbackAPIVersion" not in text, rel
                assert not re.search(r"from paho\.mqtt\.client import .*\bClient\b", text), rel
    assert found == ["monitor/mqtt/client.py"]
    assert Path(mqtt_client.__file__).resolve() == ROOT / "monitor/mqtt/client.py"
