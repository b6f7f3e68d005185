"""The one place that builds a paho-mqtt client from ``[mqtt]``.

The daemon's relay, the recorder and ``bedside doctor`` all connect with
:func:`build_client`, so they cannot disagree about the broker, the credentials or
TLS.  What differs between them is passed in: the client id (or a suffix to the
node's), MQTT v3.1.1 or v5, a persistent v5 session, the last will, userdata.

TLS is on when ``tls`` is true or any of ``ca_file``, ``cert_file``, ``key_file`` is
set (:func:`uses_tls`); the broker's certificate and host name are always verified,
against ``ca_file`` or else the system's CA certificates.  A TLS file that cannot be
used is a :class:`RelayError`: one line naming the key and the file.

The client comes back configured to connect (``connect_async``: no network yet):
``client.loop_start()`` connects in the background and retries with backoff;
``client.reconnect()`` connects now and raises what went wrong.
"""

from __future__ import annotations

import ssl
import sys
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from monitor.config import Config, MqttConfig

MQTTv311 = mqtt.MQTTv311
MQTTv5 = mqtt.MQTTv5
RECONNECT_MIN_S = 1  # paho doubles the wait after each failed attempt ...
RECONNECT_MAX_S = 30  # ... up to this (a node: no hurry, spare the broker)


class RelayError(Exception):
    """The MQTT settings cannot work (e.g. a TLS file is missing)."""


class Will(NamedTuple):
    """The last will the broker publishes when the connection drops without a goodbye."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def build_client(
    config: Config,
    *,
    client_id: str | None = None,
    id_suffix: str = "",
    protocol: int = MQTTv311,
    session_expiry_s: int | None = None,
    receive_maximum: int | None = None,
    will: Will | None = None,
    userdata: Any = None,
    manual_ack: bool = False,
    max_inflight: int | None = None,
    connect_timeout: float | None = None,
    reconnect_max_s: int = RECONNECT_MAX_S,
) -> mqtt.Client:
    """A paho client for ``config.mqtt``, set up to connect to its host and port.

    client_id
        The whole client id; None: the node's (``[mqtt] client_id``, else
        ``bedside-<node id>``).  ``id_suffix`` is appended to either, so a second
        client of the same node never takes over (and kicks off) the daemon's session.
    protocol
        :data:`MQTTv311` (a clean session) or :data:`MQTTv5`.
    session_expiry_s
        v5 only: keep a persistent session (``clean_start`` false) that the broker
        holds this long after a disconnect; None: a clean session on every connect.
    receive_maximum
        v5 only: how many unacknowledged QoS>0 messages the broker may send at once.
    manual_ack
        Acknowledge received messages only when ``client.ack`` is called.
    max_inflight, connect_timeout
        paho's limits (QoS>0 messages sent and not yet acknowledged; seconds to open the
        connection); None: paho's defaults (20; 5 s).
    reconnect_max_s
        The longest wait between reconnection attempts (from 1 s, doubling).

    The client is ready to connect: set only callbacks on it (paho refuses to change
    most settings once ``connect_async`` has run).  RelayError when the TLS files
    cannot be used.
    """
    m = config.mqtt
    if protocol not in (MQTTv311, MQTTv5):
        raise ValueError(f"protocol must be MQTTv311 or MQTTv5, got {protocol!r}")
    v5 = protocol == MQTTv5
    if not v5 and (session_expiry_s is not None or receive_maximum is not None):
        raise ValueError("session_expiry_s and receive_maximum need MQTT v5")
    base = client_id or m.client_id or f"bedside-{config.node.id}"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=base + id_suffix,
        clean_session=None if v5 else True,  # v5: clean_start is a connect() argument
        userdata=userdata,
        protocol=protocol,
        manual_ack=manual_ack,
    )
    if max_inflight is not None:
        client.max_inflight_messages_set(max_inflight)
    if connect_timeout is not None:
        client.connect_timeout = connect_timeout
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    if m.username:
        client.username_pw_set(m.username, m.password)
    if uses_tls(m):
        client.tls_set_context(tls_context(m))
    client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=reconnect_max_s)
    properties = None
    clean_start: bool | int = mqtt.MQTT_CLEAN_START_FIRST_ONLY  # paho's only v3.1.1 value
    if v5:
        properties = Properties(PacketTypes.CONNECT)
        if session_expiry_s is not None:
            properties.SessionExpiryInterval = session_expiry_s
        if receive_maximum is not None:
            properties.ReceiveMaximum = receive_maximum
        clean_start = session_expiry_s is None
    client.connect_async(
        m.host, m.port, keepalive=m.keepalive_s, clean_start=clean_start, properties=properties
    )
    return client


def uses_tls(m: MqttConfig) -> bool:
    """TLS when asked for, or when any certificate file is given."""
    return bool(m.tls or m.ca_file or m.cert_file or m.key_file)


def tls_context(m: MqttConfig) -> ssl.SSLContext:
    """Verify the broker (certificate and host name) against ca_file or the system CAs;
    present cert_file/key_file when given.  RelayError names the file that fails."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    try:
        if m.ca_file:
            context.load_verify_locations(cafile=m.ca_file)
        else:
            context.load_default_certs()
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise _tls_error(m, ["ca_file"], exc, "no PEM certificate in it") from None
    if m.cert_file:
        try:
            context.load_cert_chain(m.cert_file, m.key_file)
        except (OSError, ssl.SSLError, ValueError) as exc:
            hint = "not a PEM certificate and its private key"
            raise _tls_error(m, ["cert_file", "key_file"], exc, hint) from None
    return context


def _tls_files(m: MqttConfig) -> list[tuple[str, str]]:
    keys = ("ca_file", "cert_file", "key_file")
    return [(k, getattr(m, k)) for k in keys if getattr(m, k)]


def _tls_error(m: MqttConfig, keys: list[str], exc: Exception, hint: str) -> RelayError:
    """``[mqtt] TLS settings do not work (ca_file=...): ca_file: <why>``, on one line."""
    files = _tls_files(m)
    listed = ", ".join(f"{k}={v}" for k, v in files) or "system CA certificates"
    involved = [(k, v) for k, v in files if k in keys]
    culprit = "/".join(k for k, _ in involved) or "system CA certificates"
    why = f"{culprit}: {hint} ({exc})" if isinstance(exc, ssl.SSLError) else f"{culprit}: {exc}"
    for key, path in involved:  # a file that cannot even be opened: say which one
        try:
            with open(path, "rb"):
                pass
        except OSError as err:
            why = f"{key}: {err.strerror or err}"
            break
    return RelayError(f"[mqtt] TLS settings do not work ({listed}): {' '.join(why.split())}")


def connect_failure() -> str:
    """Why paho's connection attempt failed ("certificate verify failed: ...", "Connection
    refused"): paho calls on_connect_fail inside its ``except OSError`` block."""
    exc = sys.exc_info()[1]
    return str(exc) if exc is not None else "connection failed"
