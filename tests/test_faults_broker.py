"""Fault: the MQTT broker goes away, is not there at start, or refuses the credentials.

A real `bedside monitor` (simulated sensor, 2-s interval) against a real mosquitto.
Nothing accepted may be lost: every reading stored and every cramp logged meanwhile
reaches a subscriber once the broker takes them; the daemon never exits; its log
says what happened once, not once per reconnect attempt.
"""

from __future__ import annotations

import signal
import subprocess

import pytest

from tests.fault_support import (
    AuthSubscriber,
    log_count,
    received_cramp_ids,
    received_reading_ts,
    stored_cramp_ids,
    stored_ts,
)
from tests.support import (
    EVENT_TIMEOUT,
    Broker,
    Subscriber,
    free_port,
    run_bedside,
    start_bedside,
    stop_process,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.broker]

OUTAGE_MS = 60_000  # "stopped for a minute", measured on the daemon's own stored readings
SLOW = 4 * EVENT_TIMEOUT  # a generous deadline for a minute-long fault


def monitor_config(make_config, host: str, port: int, **mqtt):
    return make_config(
        {
            "sensor": {"kind": "simulated", "interval_s": 2, "failure_rate": 0.0},
            "mqtt": {"enabled": True, "host": host, "port": port, **mqtt},
        }
    )[0]


def log_cramp(config_path) -> int:
    """`bedside cramp` as the user would: exit 0 means the cramp is stored."""
    result = run_bedside("cramp", "--leg", "left", config=config_path)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[1])  # "cramp <id> logged at ..."


def assert_everything_arrives(sub, db_path, proc, earlier=None) -> None:
    """Every reading and cramp stored so far reaches ``sub`` (or ``earlier``, a subscriber
    of the broker before it went away)."""
    wait_until(lambda: len(stored_ts(db_path)) > 0, what="a stored reading")
    expected = set(stored_ts(db_path))
    cramps = stored_cramp_ids(db_path)
    before = received_reading_ts(earlier) if earlier else set()
    before_cramps = received_cramp_ids(earlier) if earlier else set()
    sub.wait_for(lambda s: expected <= received_reading_ts(sub) | before, timeout=SLOW)
    sub.wait_for(lambda s: cramps <= received_cramp_ids(sub) | before_cramps, timeout=SLOW)
    assert proc.poll() is None, "the daemon exited"


def subscribe_before_the_daemon_reconnects(proc, broker: Broker, start) -> Subscriber:
    """Freeze the daemon (SIGSTOP) while the broker comes up and a subscriber gets its
    SUBACK, so nothing the daemon sends on reconnect can precede the subscription."""
    proc.send_signal(signal.SIGSTOP)
    try:
        start()
        return Subscriber(broker, "bedside/#")
    finally:
        proc.send_signal(signal.SIGCONT)


@pytest.mark.parametrize("persistence", [True, False], ids=["persistent", "volatile"])
def test_broker_stopped_for_a_minute_loses_nothing_and_is_logged_once(
    make_config, db_path, tmp_path, tmp_path_factory, persistence
):
    broker = Broker(tmp_path_factory.mktemp("broker"), persistence=persistence).start()
    path = monitor_config(make_config, broker.host, broker.port)
    log = tmp_path / "monitor.log"
    sub = Subscriber(broker, "bedside/#")
    proc = start_bedside("monitor", config=path, log=log)
    later = None
    try:
        sub.wait_for(lambda s: len(received_reading_ts(sub)) >= 2)
        broker.stop()
        sub.close()
        outage_start = max(stored_ts(db_path))
        cramps = [log_cramp(path)]  # logged while the broker is away
        wait_until(
            lambda: max(stored_ts(db_path)) >= outage_start + OUTAGE_MS,
            timeout=SLOW,
            what="a minute of readings stored during the outage",
        )
        cramps.append(log_cramp(path))
        assert proc.poll() is None, "the daemon exited during the outage"
        later = subscribe_before_the_daemon_reconnects(proc, broker, broker.start)
        assert_everything_arrives(later, db_path, proc, earlier=sub)
        assert set(cramps) <= received_cramp_ids(later)
        during = [ts for ts in stored_ts(db_path) if 0 < ts - outage_start <= OUTAGE_MS]
        assert len(during) >= OUTAGE_MS // 2_100 // 2  # storing went on through the outage
    finally:
        code = stop_process(proc, signal.SIGTERM)
        if later is not None:
            later.close()
        broker.kill()
    assert code == 0
    assert log_count(log, "lost the broker") == 1, log.read_text()
    assert log_count(log, "connected again") == 1, log.read_text()
    assert "Traceback" not in log.read_text()


def test_broker_unreachable_at_start_then_comes_up(
    make_config, db_path, tmp_path, tmp_path_factory
):
    port = free_port()  # nothing listens there yet
    path = monitor_config(make_config, "127.0.0.1", port)
    log = tmp_path / "monitor.log"
    proc = start_bedside("monitor", config=path, log=log)
    broker = Broker(tmp_path_factory.mktemp("broker"), port=port)
    sub = None
    try:
        wait_until(lambda: len(stored_ts(db_path)) >= 5, what="readings stored without a broker")
        log_cramp(path)
        wait_until(lambda: log_count(log, "cannot reach the broker"), what="the outage logged")
        assert proc.poll() is None
        sub = subscribe_before_the_daemon_reconnects(proc, broker, broker.start)
        assert_everything_arrives(sub, db_path, proc)
    finally:
        code = stop_process(proc, signal.SIGTERM)
        if sub is not None:
            sub.close()
        broker.kill()
    assert code == 0
    assert log_count(log, "cannot reach the broker") == 1, log.read_text()
    assert log_count(log, "connected again") == 1, log.read_text()


def test_broker_refusing_credentials_keeps_storing_then_catches_up(
    make_config, db_path, tmp_path, tmp_path_factory
):
    workdir = tmp_path_factory.mktemp("authbroker")
    passwd = workdir / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "bedside", "right"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "watcher", "watch"], check=True)
    broker = Broker(
        workdir,
        extra_conf=f"allow_anonymous false\npassword_file {passwd}\nlog_type notice\n",
    ).start()
    path = monitor_config(
        make_config, broker.host, broker.port, username="bedside", password="wrong"
    )
    log = tmp_path / "monitor.log"
    broker_log = workdir / "mosquitto.log"
    proc = start_bedside("monitor", config=path, log=log)
    sub = None
    try:
        # Several refused attempts (paho retries with backoff), readings stored meanwhile.
        wait_until(
            lambda: log_count(broker_log, "not authorised") >= 3,
            timeout=SLOW,
            what="three refused connection attempts",
        )
        before = len(stored_ts(db_path))
        wait_until(lambda: len(stored_ts(db_path)) >= before + 3, what="readings still stored")
        log_cramp(path)
        assert proc.poll() is None, "the daemon exited on refused credentials"
        assert log_count(log, "refused the connection") == 1, log.read_text()
        # The user fixes the broker side (the daemon's password becomes valid): mosquitto
        # reloads its password file on SIGHUP, and the daemon's next retry gets in.
        sub = AuthSubscriber(broker, "bedside/#", "watcher", "watch")
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), "bedside", "wrong"], check=True)
        broker.proc.send_signal(signal.SIGHUP)
    except Exception:
        stop_process(proc, signal.SIGTERM)
        broker.kill()
        raise
    try:
        assert_everything_arrives(sub, db_path, proc)
    finally:
        code = stop_process(proc, signal.SIGTERM)
        sub.close()
        broker.kill()
    assert code == 0
    assert log_count(log, "refused the connection") == 1, log.read_text()
    assert log_count(log, "connected again") == 1, log.read_text()
