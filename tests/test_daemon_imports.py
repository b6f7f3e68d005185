"""`bedside monitor`'s import graph on a Pi Zero 2 W budget (bench/bench_daemon.py: <= 30 MB).

paho imports ssl, hashlib and urllib.request at its top; the daemon uses none of them
without TLS, a proxy or a trial, and monitor.daemon.lean defers them.  The first test runs
the real command (simulated sensor, a real mosquitto, the button on mock pins) until a
reading has reached the broker, stops it with SIGTERM, and asks the process what it loaded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from monitor.daemon import lean
from tests.support import EVENT_TIMEOUT, Subscriber, bedside_env, write_config

# What the daemon no longer loads: every module lean defers, and what they would bring
# (OpenSSL's libcrypto behind _ssl/_hashlib; http.client behind urllib.request).
NOT_LOADED = (*lean.DEFERRED, "_ssl", "_hashlib", "http.client")

_CHILD = """
import json, sys
from monitor.cli.main import main
from monitor.daemon import lean
rc = main(sys.argv[1:])
maps = open("/proc/self/maps").read()
print(json.dumps({"rc": rc, "libcrypto": "libcrypto" in maps,
                  "loaded": {m: lean.loaded(m) for m in NOT_LOADED}}))
""".replace("NOT_LOADED", repr(NOT_LOADED))


def test_the_daemon_with_mqtt_loads_neither_openssl_nor_http(tmp_path, broker):
    config = write_config(
        tmp_path / "config.toml",
        {
            "node": {"id": "lean"},
            "sensor": {"kind": "simulated", "interval_s": 2},
            "storage": {"database": str(tmp_path / "bedside.db")},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "button": {"enabled": True},
        },
    )
    subscriber = Subscriber(broker, "#")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, "--config", str(config), "monitor"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=bedside_env(),
    )
    try:
        subscriber.wait_for(lambda seen: any(t.endswith("lean/reading") for t, _, _ in seen))
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=EVENT_TIMEOUT)
    finally:
        subscriber.close()
        if child.poll() is None:
            child.kill()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["rc"] == 0, err
    assert not any(report["loaded"].values()), report["loaded"]
    assert not report["libcrypto"], "OpenSSL is mapped into the daemon"


_STAND_INS = """
from monitor.daemon import lean
assert lean.defer() == list(lean.DEFERRED)
import paho.mqtt.client as mqtt
import ssl
assert not lean.loaded("ssl") and mqtt.ssl is ssl
# paho's except clauses name these before any SSL socket exists: never-raised stand-ins
assert not issubclass(ssl.SSLWantReadError, OSError)
context = ssl.create_default_context()          # the first real use loads the module
assert lean.loaded("ssl") and isinstance(context, ssl.SSLContext)
assert issubclass(mqtt.ssl.SSLWantReadError, ssl.SSLError)   # paho's global sees it too
from ssl import SSLError
assert SSLError is ssl.SSLError
import hashlib, hmac
SHA256_X = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
assert hashlib.sha256(b"x").hexdigest() == SHA256_X and lean.loaded("hashlib")
HMAC_K_X = "c38edc8815c8489f64738978f44008f8596345545f0baa68ef6fcf5c53e57189"
assert hmac.new(b"k", b"x", "sha256").hexdigest() == HMAC_K_X and lean.loaded("hmac")
import urllib.request
assert not lean.loaded("urllib.request")
assert isinstance(urllib.request.getproxies(), dict) and lean.loaded("urllib.request")
print("ok")
"""


def test_a_deferred_module_is_the_real_one_at_its_first_use():
    """TLS, a trial's commitment and a proxy lookup get the real modules when they need them
    (tests/test_relay.py's TLS test runs the relay behind the same stand-ins via the CLI)."""
    result = subprocess.run(
        [sys.executable, "-c", _STAND_INS],
        capture_output=True,
        text=True,
        timeout=EVENT_TIMEOUT,
        env={**os.environ, **bedside_env()},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
