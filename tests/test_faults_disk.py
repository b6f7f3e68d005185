"""Fault: the database's filesystem fills up while the daemon runs, then space returns."""

from __future__ import annotations

import itertools
import threading

import pytest

import monitor.daemon.loop
from monitor.clock import FakeClock
from monitor.daemon.loop import Daemon
from monitor.store import Store
from tests.fault_support import (
    NODE,
    ScriptedSensor,
    captured_logs,
    duplicates,
    integrity,
)

pytestmark = pytest.mark.faults

WARM, COLD = (20.0, 50.0), (16.0, 55.0)
FULL_AT, FREE_AT, WARM_AT, STOP_AT = 6, 41, 46, 51  # read numbers (one read per 30-s cycle)


def test_full_disk_is_reported_alerts_run_from_memory_and_storing_resumes(
    make_config, tiny_fs, monkeypatch
):
    db = tiny_fs.path / "bedside.db"
    _, config = make_config(
        {
            "storage": {"database": str(db)},
            "sensor": {"kind": "dht22", "interval_s": 30, "retries": 0, "max_jump_c": 10},
            "alerts": {"min_duration_s": 300},
        }
    )
    clock = FakeClock()
    stop = threading.Event()
    components = []

    def build(ctx):
        components.extend(real_build(ctx))
        return components

    real_build = monitor.daemon.loop.build_components
    monkeypatch.setattr("monitor.daemon.loop.build_components", build)
    seen = {}
    daemon = None

    def before_read(n):
        alerts = next(c for c in components if type(c).__name__ == "AlertComponent")
        if n == FULL_AT:
            seen["stored_before"] = daemon.stored
            assert tiny_fs.fill() > 0
        elif n == FREE_AT:
            seen["stored_while_full"] = daemon.stored - seen["stored_before"]
            seen["cold_on_while_full"] = alerts.machines.cold.active
            seen["errors_while_full"] = logs.messages(40)
            tiny_fs.free()
        elif n == STOP_AT:
            stop.set()

    sensor = ScriptedSensor(lambda n: COLD if FULL_AT <= n < WARM_AT else WARM, before_read)
    daemon = Daemon(config, clock=clock, sensor=sensor)
    with captured_logs() as logs:
        daemon.run(stop)  # returns only when stopped: a full disk must not end it
    assert daemon.error is None

    # Storing really failed while the disk was full (else this test proves nothing) ...
    assert seen["stored_while_full"] < FREE_AT - FULL_AT - 5
    full = [m for m in seen["errors_while_full"] if "disk" in m.lower() or "full" in m.lower()]
    assert len(full) == 1, seen["errors_while_full"]  # reported once, not every cycle
    # ... yet the cold alert turned ON from the readings held in memory.
    assert seen["cold_on_while_full"] is True
    assert logs.count("cold alert ON") == 1
    assert logs.count("storing readings again") == 1

    # Space returned: the readings held in memory were stored, in order, none lost.
    assert integrity(db) == "ok"
    assert duplicates(db) == {"readings": 0, "cramps": 0}
    with Store.open_readonly(db) as s:
        stored = s.readings(NODE)
    assert len(stored) == STOP_AT  # the read that asked to stop is still stored
    assert all(b.ts_ms - a.ts_ms == 30_000 for a, b in itertools.pairwise(stored))
    assert [r.temperature_c for r in stored] == (
        [WARM[0]] * (FULL_AT - 1)
        + [COLD[0]] * (WARM_AT - FULL_AT)
        + [WARM[0]] * (STOP_AT - WARM_AT + 1)
    )
    # The cold episode that began while the disk was full is in the history, ended by the
    # first warm reading once space had returned.
    with Store.open_readonly(db) as s:
        (episode,) = [e for e in s.episodes(NODE) if e.kind == "cold"]
    assert episode.start_ms == stored[FULL_AT - 1].ts_ms
    assert episode.end_ms == stored[WARM_AT - 1].ts_ms
    assert episode.min_temp_c == COLD[0]
