"""MQTT check: connect as the daemon would and explain a refusal."""

from __future__ import annotations

import errno
import os
import socket
import ssl
import threading

from monitor.cli.doctor.common import FAIL, OK, SKIP, Result
from monitor.config import Config

_PASSWD_FIX = (
    "check [mqtt] username and password (on the broker: "
    "`sudo mosquitto_passwd /etc/mosquitto/passwd USER`, then restart mosquitto)"
)
_CONNACK_FIXES = {
    "Bad user name or password": ("the broker rejected the credentials", _PASSWD_FIX),
    "Client identifier not valid": (
        "the broker rejected the client id",
        "set [mqtt] client_id to letters and digits",
    ),
    "Server unavailable": ("the broker says it is unavailable", "restart the broker"),
}


def _explain_refusal(text: str, username: str | None) -> tuple[str, str]:
    """What a CONNACK refusal means here (mosquitto says 'Not authorized' for a bad password)."""
    if text == "Not authorized":
        if username:
            return (
                f"the broker rejected the credentials of {username!r} "
                "(wrong password, or the user is not allowed)",
                _PASSWD_FIX,
            )
        return (
            "the broker requires a username and password",
            "set [mqtt] username and password (or allow_anonymous on the broker)",
        )
    return _CONNACK_FIXES.get(
        text, (f"the broker refused the connection: {text}", "see the broker's log")
    )


def check_broker(config: Config, timeout: float = 10.0) -> Result:
    """Connect with the configured credentials and TLS; explain what went wrong."""
    mq = config.mqtt
    if not mq.enabled:
        return Result("broker", SKIP, "[mqtt] enabled = false")
    from monitor.mqtt.client import RelayError, build_client, uses_tls

    where = f"{mq.host}:{mq.port}"
    tls = uses_tls(mq)  # the daemon's decision: the same client, built the same way
    try:
        # Never the daemon's own client id: connecting with it would kick the daemon off.
        client = build_client(config, id_suffix=f"-doctor-{os.getpid()}", connect_timeout=timeout)
    except RelayError as exc:
        return Result(
            "broker",
            FAIL,
            str(exc),
            "check [mqtt] ca_file, cert_file and key_file (readable by this user)",
        )
    outcome: dict = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        outcome["rc"] = reason_code
        done.set()

    def on_disconnect(client, userdata, flags, reason_code, properties):
        outcome.setdefault("closed", reason_code)
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    # A plain listener resets a TLS hello: that is a settings mismatch, not a network fault.
    tls_resets = (ConnectionResetError, ConnectionAbortedError) if tls else ()
    try:
        client.reconnect()  # connect now, to the host and port build_client set
    except ssl.SSLError as exc:
        return Result(
            "broker",
            FAIL,
            f"TLS handshake with {where} failed: {exc}",
            "check [mqtt] ca_file and that the host name matches the broker's certificate;"
            " a TLS listener is usually port 8883",
        )
    except socket.gaierror:
        return Result(
            "broker",
            FAIL,
            f"cannot resolve the broker host {mq.host!r}",
            "check [mqtt] host (a name this Pi can resolve, or an IP address)",
        )
    except ConnectionRefusedError:
        return Result(
            "broker",
            FAIL,
            f"connection refused at {where}: no broker listens there",
            "start the broker: sudo systemctl enable --now mosquitto "
            "(or set [mqtt] host/port to your broker)",
        )
    except tls_resets:
        return Result(
            "broker",
            FAIL,
            f"{where} closed the connection during the TLS handshake: not a TLS listener?",
            "set [mqtt] tls = false for a plain listener, or use the broker's TLS port "
            "(usually 8883)",
        )
    except TimeoutError:
        return Result(
            "broker",
            FAIL,
            f"{where} is unreachable (no answer in {timeout:g} s)",
            "check the network and any firewall between this Pi and the broker, and [mqtt] host",
        )
    except OSError as exc:
        unreachable = exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT)
        return Result(
            "broker",
            FAIL,
            f"cannot connect to {where}: {'unreachable' if unreachable else exc.strerror or exc}",
            "check the network, [mqtt] host and port, and that the broker runs",
        )
    client.loop_start()
    try:
        answered = done.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    rc = outcome.get("rc")
    if rc is not None and not rc.is_failure:
        how = " with TLS" if tls else ""
        who = f" as {mq.username!r}" if mq.username else ""
        return Result("broker", OK, f"connected to {where}{how}{who}")
    if rc is not None:
        text = str(rc)
        what, fix = _explain_refusal(text, mq.username)
        return Result("broker", FAIL, f"{where}: {what} ({text})", fix)
    if not answered or "closed" in outcome:
        return Result(
            "broker",
            FAIL,
            f"{where} accepted the TCP connection but never answered as MQTT",
            "is it an MQTT port? [mqtt] tls must match the listener (TLS usually on 8883)",
        )
    return Result("broker", FAIL, f"{where}: no answer", "see the broker's log")
