"""The daemon: the read loop in-process with a FakeClock, and `bedside monitor` for real."""

from __future__ import annotations

import itertools
import signal
import socket
import threading
import time

import pytest
from gpiozero.pins.mock import MockFactory

from monitor.clock import RELEASE_DATE_MS, FakeClock
from monitor.daemon.loop import Daemon
from monitor.mqtt.payloads import parse_reading
from monitor.sensing.drivers import CHECKSUM_ERROR, DhtSensor, FakeDhtDevice
from monitor.store import Store
from tests.support import (
    EVENT_TIMEOUT,
    Subscriber,
    bedside_env,
    start_bedside,
    stop_process,
    wait_until,
)

NODE = "testroom"


def stored_ts(db_path) -> list[int]:
    if not db_path.exists():
        return []
    try:
        with Store.open_readonly(db_path) as s:
            return [r.ts_ms for r in s.readings(NODE)]
    except Exception:  # not migrated yet
        return []


class Recorder:
    """A daemon component that records what the loop tells it and stops the loop."""

    def __init__(self, ctx, stop: threading.Event, after: int, on_cycle=None):
        self.ctx, self.stop, self.after, self.on_cycle = ctx, stop, after, on_cycle
        self.calls: list = []
        self.health: list = []
        self.started = self.closed = False

    def start(self):
        self.started = True

    def on_reading(self, reading, now_ms):
        self.calls.append((reading, now_ms))
        self.health.append(self.ctx.store.sensor_health(NODE))
        if self.on_cycle:
            self.on_cycle(len(self.calls))
        if len(self.calls) >= self.after:
            self.stop.set()

    def close(self):
        self.closed = True


def test_read_loop_holds_off_on_a_bad_clock_stores_and_reports_health(make_config, monkeypatch):
    _, config = make_config({"sensor": {"kind": "dht22", "interval_s": 30, "retries": 1}})
    clock = FakeClock(start_ms=5_000)  # a Pi without RTC, booted in 1970
    failing = [RuntimeError(CHECKSUM_ERROR)] * 4  # two whole cycles with retries=1
    device = FakeDhtDevice([(20.0, 50.0)] * 5 + failing, default=(20.5, 51.0))
    stop = threading.Event()
    recorders = []

    def on_cycle(n):
        if n == 3:
            clock.set_wall(RELEASE_DATE_MS + 86_400_000)  # NTP answered

    def build(ctx):
        recorders.append(Recorder(ctx, stop, after=10, on_cycle=on_cycle))
        return recorders

    monkeypatch.setattr("monitor.daemon.loop.build_components", build)
    daemon = Daemon(config, clock=clock, sensor=DhtSensor(device, "dht22"))
    daemon.run(stop)
    rec = recorders[0]
    assert rec.started and rec.closed and device.exited
    assert isinstance(rec.ctx.pin_factory, MockFactory)
    readings = [r for r, _ in rec.calls]
    assert readings[:3] == [None, None, None]  # clock implausible: read, not stored
    assert [r is None for r in readings[3:]] == [False, False, True, True, False, False, False]
    with Store.open_readonly(config.storage.database) as s:
        stored = s.readings(NODE)
        assert stored == [r for r in readings if r is not None]
        assert all(b.ts_ms - a.ts_ms >= 30_000 for a, b in itertools.pairwise(stored))
        assert stored[0].ts_ms >= RELEASE_DATE_MS
        final = s.sensor_health(NODE)
    statuses = [h["status"] for h in rec.health]
    assert statuses[5] == "failing" and statuses[6] == "failing"
    # Written when the status changed, not on every cycle (SD-card wear):
    assert rec.health[6]["consecutive_failures"] == rec.health[5]["consecutive_failures"] == 2
    assert statuses[-1] == "degraded"  # 4 of the last reads failed
    # The recovery cycle wrote the row; later cycles with the same status did not.
    assert final["status"] == "degraded" and final["last_good_ms"] == readings[7].ts_ms
    assert final == rec.health[-1] == rec.health[7]


def test_start_and_stop_run_the_loop_on_a_thread(make_config):
    _, config = make_config({"sensor": {"interval_s": 2}})
    clock = FakeClock()
    daemon = Daemon(config, clock=clock)
    daemon.start()
    assert daemon.ready.wait(EVENT_TIMEOUT)
    wait_until(lambda: daemon.stored >= 3, what="three stored readings")
    daemon.stop()
    assert daemon.error is None
    with Store.open_readonly(config.storage.database) as s:
        assert s.count_readings(NODE) >= 3


# -- the real `bedside monitor` process --------------------------------------------------


def monitor_config(make_config, broker=None, **sensor):
    mqtt = {"enabled": False}
    if broker is not None:
        mqtt = {"enabled": True, "host": broker.host, "port": broker.port}
    return make_config({"sensor": {"kind": "simulated", "interval_s": 2, **sensor}, "mqtt": mqtt})


def test_mqtt_disabled_still_reads_and_stores(make_config, db_path, tmp_path):
    path, _ = monitor_config(make_config)
    log = tmp_path / "monitor.log"
    proc = start_bedside("monitor", config=path, log=log)
    try:
        wait_until(lambda: len(stored_ts(db_path)) >= 2, what="two stored readings")
    finally:
        code = stop_process(proc, signal.SIGTERM)
    assert code == 0
    assert "readings are stored only" in log.read_text()


def received_ts(sub: Subscriber) -> list[int]:
    return [parse_reading(p).ts_ms for t, p, _ in list(sub.seen) if t.endswith("/reading")]


@pytest.mark.broker
def test_sigkill_between_store_and_publish_then_the_outbox_replays(
    make_config, db_path, broker, tmp_path
):
    path, _ = monitor_config(make_config, broker)
    broker.stop()  # every reading of the first run is stored and never published
    proc = start_bedside("monitor", config=path, log=tmp_path / "run1.log")
    try:
        wait_until(lambda: len(stored_ts(db_path)) >= 3, what="three stored readings")
    finally:
        proc.kill()  # SIGKILL: no flush, no goodbye
        proc.wait(EVENT_TIMEOUT)
    unpublished = stored_ts(db_path)
    broker.start()
    sub = Subscriber(broker, "bedside/#")
    proc = start_bedside("monitor", config=path, log=tmp_path / "run2.log")
    try:
        sub.wait_for(lambda s: set(unpublished) <= set(received_ts(sub)))
        later = sub.wait_for(lambda s: set(received_ts(sub)) - set(unpublished))  # live ones
        assert min(later) > max(unpublished)
    finally:
        code = stop_process(proc, signal.SIGTERM)
        sub.close()
    assert code == 0
    assert received_ts(sub)[: len(unpublished)] == unpublished  # in order, before new ones


@pytest.mark.broker
def test_sigkill_while_publishing_then_every_stored_reading_arrives(
    make_config, db_path, broker, tmp_path
):
    path, _ = monitor_config(make_config, broker)
    sub = Subscriber(broker, "bedside/#")
    proc = start_bedside("monitor", config=path, log=tmp_path / "run1.log")
    try:
        sub.wait_for(lambda s: len(received_ts(sub)) >= 2)
    finally:
        proc.kill()  # somewhere between store, publish and PUBACK
        proc.wait(EVENT_TIMEOUT)
    stored = stored_ts(db_path)
    proc = start_bedside("monitor", config=path, log=tmp_path / "run2.log")
    try:
        # At least once: what was in flight (or acknowledged but not yet saved) comes again.
        sub.wait_for(lambda s: set(stored) <= set(received_ts(sub)))
        sub.wait_for(lambda s: max(received_ts(sub)) > max(stored))  # the new run is live
    finally:
        code = stop_process(proc, signal.SIGTERM)
        sub.close()
    assert code == 0


@pytest.mark.broker
def test_sigterm_says_offline_retained_notifies_systemd_and_exits_0(
    make_config, db_path, broker, subscriber, tmp_path
):
    path, _ = monitor_config(make_config, broker)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = tmp_path / "notify.sock"
    notify.bind(str(notify_path))
    notify.settimeout(EVENT_TIMEOUT)
    proc = start_bedside(
        "monitor",
        config=path,
        env=bedside_env(NOTIFY_SOCKET=str(notify_path)),
        log=tmp_path / "monitor.log",
    )
    try:
        messages = [notify.recv(256).decode()]
        assert messages == ["READY=1"]
        messages.append(notify.recv(256).decode())
        assert messages[-1] == "WATCHDOG=1"  # fed from the read loop
        subscriber.wait_for(lambda s: any(t.endswith("/reading") for t, _, _ in s))
    finally:
        code = stop_process(proc, signal.SIGTERM)
    assert code == 0
    while messages[-1] != "STOPPING=1":
        messages.append(notify.recv(256).decode())
    notify.close()
    late = Subscriber(broker, "bedside/testroom/status")
    try:
        late.wait_for(lambda s: s)
        assert late.seen[-1] == ("bedside/testroom/status", b"offline", True)
    finally:
        late.close()
    # Everything stored was acknowledged and the watermark saved on the way out.
    with Store.open_readonly(db_path) as s:
        assert s.outbox_watermark(NODE) == s.newest_reading(NODE).ts_ms


def test_dht_without_hardware_is_a_one_line_error_and_not_fatal(make_config, tmp_path):
    """Issue #12: a sensor that cannot be opened no longer ends the daemon (it did, exit 1);
    the one-line reason is still logged, without a traceback, and SIGTERM exits 0."""
    from monitor.sensing.drivers import is_raspberry_pi

    if is_raspberry_pi():
        pytest.skip("this machine is a Raspberry Pi")
    path, _ = make_config({"sensor": {"kind": "dht22", "pin": 4}})
    log = tmp_path / "monitor.log"
    proc = start_bedside("monitor", config=path, log=log)
    try:
        wait_until(
            lambda: "cannot open the DHT22 on GPIO4" in log.read_text(),
            what="the sensor's error in the log",
        )
        assert proc.poll() is None
    finally:
        rc = stop_process(proc)
    text = log.read_text()
    assert rc == 0, text[-2000:]
    assert "Traceback" not in text


def test_a_watchdog_shorter_than_a_cycle_is_warned_about(make_config, monkeypatch, caplog):
    _, config = make_config({"sensor": {"interval_s": 30}})
    monkeypatch.setenv("WATCHDOG_USEC", str(20_000_000))
    stop = threading.Event()
    monkeypatch.setattr(
        "monitor.daemon.loop.build_components", lambda ctx: [Recorder(ctx, stop, 1)]
    )
    with caplog.at_level("WARNING", logger="monitor.daemon.loop"):
        Daemon(config, clock=FakeClock()).run(stop)
    assert any("WatchdogSec=20 s" in r.getMessage() for r in caplog.records)


def test_sd_notify_reaches_an_abstract_socket(monkeypatch):
    from monitor.daemon.loop import sd_notify

    name = f"bedside-test-{threading.get_native_id()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(EVENT_TIMEOUT)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sd_notify("READY=1")
        assert server.recv(64) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not sd_notify("READY=1")  # not under systemd: a quiet no-op
