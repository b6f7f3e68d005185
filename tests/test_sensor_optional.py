"""`bedside monitor` for real (a subprocess, a real mosquitto): the sensor is a dependency
that may fail, and no sensor driver can take SIGTERM away from the daemon.

- A DHT22 configured on this machine, which has none: the daemon stays up, a press of the
  (mock) button logs a cramp that is stored and published, the sensor alert turns ON, and
  SIGTERM ends it with exit 0 and ``offline``.
- A driver stack whose ``pulseio`` installs its own SIGTERM handler on import, exactly as
  Blinka's bcm283x PulseIn does (tests/fakes/blinka_sigterm): SIGTERM still exits 0 with
  ``offline`` published.

The button is gpiozero's MockFactory inside the daemon; tests/fakes/mock_button presses it
when the test writes ``press`` into a FIFO.
"""

from __future__ import annotations

import errno
import json
import os

import pytest

from monitor.sensing.drivers import is_raspberry_pi
from monitor.store import Store
from tests.support import (
    ROOT,
    Subscriber,
    bedside_env,
    start_bedside,
    stop_process,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.broker

NODE = "testroom"
FAKES = ROOT / "tests" / "fakes"


def monitor_config(tmp_path, broker, sensor: dict) -> tuple:
    db = tmp_path / "bedside.db"
    path = write_config(
        tmp_path / "config.toml",
        {
            "node": {"id": NODE, "timezone": "Europe/Berlin"},
            "storage": {"database": str(db)},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "sensor": {"interval_s": 2, "retries": 0, **sensor},
            "button": {"pin": 17, "merge_s": 5},
            "alerts": {"sensor_silent_s": 5},
        },
    )
    return path, db


def env_with(*dirs, **extra) -> dict:
    env = bedside_env(**extra)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, dirs), env["PYTHONPATH"]])
    return env


def press(fifo) -> None:
    """Write `press` to the daemon's FIFO once its listener has it open."""

    def open_writer():
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no reader yet
                return None
            raise

    fd = wait_until(open_writer, what="the daemon's press FIFO to be open")
    try:
        os.write(fd, b"press\n")
    finally:
        os.close(fd)


def test_no_sensor_keeps_button_alerts_and_mqtt_working(tmp_path, broker):
    if is_raspberry_pi():
        pytest.skip("this machine is a Raspberry Pi (it may have the sensor)")
    path, db = monitor_config(tmp_path, broker, {"kind": "dht22", "pin": 4})
    fifo = tmp_path / "press.fifo"
    os.mkfifo(fifo)
    sub = Subscriber(broker, f"bedside/{NODE}/#")
    log = tmp_path / "monitor.log"
    env = env_with(FAKES / "mock_button", BEDSIDE_TEST_PRESS_FIFO=str(fifo))
    proc = start_bedside("monitor", config=path, env=env, log=log)
    try:
        status = f"bedside/{NODE}/status"
        alert = f"bedside/{NODE}/alert/sensor"
        # The alerts publish their first state after the button has started.
        sub.wait_for(lambda seen: (alert, b"OFF") in [(t, p) for t, p, _ in seen])
        press(fifo)
        cramp_topic = f"bedside/{NODE}/cramp"
        (message,) = sub.wait_for(lambda seen: [p for t, p, _ in seen if t == cramp_topic])
        cramp = json.loads(message)
        assert cramp["source"] == "button" and cramp["deleted"] is False
        with Store.open_readonly(db) as store:
            stored = store.cramps(NODE)
        assert [c.id for c in stored] == [cramp["id"]]
        sub.wait_for(lambda seen: (alert, b"ON") in [(t, p) for t, p, _ in seen])
        assert proc.poll() is None, "the daemon must stay up without its sensor"
    finally:
        rc = stop_process(proc)
        sub.close()
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert sub.on(status)[-1] == b"offline"
    assert "Traceback" not in text
    # The reason, logged once (the next line would come after 5 minutes at the earliest).
    assert "cannot open the DHT22 on GPIO4" in text
    assert text.count("cannot open the sensor") == 1, text[-3000:]
    with Store.open_readonly(db) as store:
        assert store.count_readings() == 0


def test_a_driver_that_takes_sigterm_on_import_cannot_stop_a_clean_exit(tmp_path, broker):
    path, db = monitor_config(tmp_path, broker, {"kind": "dht22", "pin": 4, "driver": "blinka"})
    sub = Subscriber(broker, f"bedside/{NODE}/#")
    log = tmp_path / "monitor.log"
    proc = start_bedside("monitor", config=path, env=env_with(FAKES / "blinka_sigterm"), log=log)
    try:
        reading = f"bedside/{NODE}/reading"
        sub.wait_for(lambda seen: [p for t, p, _ in seen if t == reading])  # driver loaded
        assert proc.poll() is None
    finally:
        rc = stop_process(proc)
        sub.close()
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert sub.on(f"bedside/{NODE}/status")[-1] == b"offline"
    assert "shutting down" in text  # the daemon's own shutdown ran, not the driver's exit
    with Store.open_readonly(db) as store:
        newest = store.newest_reading(NODE)
    assert (newest.temperature_c, newest.humidity_pct) == (20.5, 48.0)
