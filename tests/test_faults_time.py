"""Faults of time and of the sensor, in-process with a FakeClock (no real waiting).

- The wall clock stepping back and forward (NTP on a Pi without an RTC).
- The sensor failing for an hour, then returning garbage, then recovering.
"""

from __future__ import annotations

import itertools
import math
import threading

import pytest

from monitor.clock import FakeClock
from monitor.daemon.loop import Daemon
from monitor.sensing.drivers import CHECKSUM_ERROR, WIRING_ERROR
from monitor.store import Reading, Store
from tests.fault_support import NODE, ScriptedSensor, captured_logs, integrity

pytestmark = pytest.mark.faults

INTERVAL_S = 30
MIN = 60_000


def run_daemon(make_config, script, faults: dict, stop_at: int, max_jump_c: float = 3.0):
    """Run the real daemon loop until read ``stop_at``; ``faults[n](clock)`` runs before
    read n.  Returns (alert transitions logged, the log capture, the config)."""
    _, config = make_config(
        {
            "sensor": {
                "kind": "dht22",
                "interval_s": INTERVAL_S,
                "retries": 0,
                "max_jump_c": max_jump_c,
            },
            "alerts": {"min_duration_s": 300},
        }
    )
    clock = FakeClock()
    stop = threading.Event()

    def before_read(n):
        if n in faults:
            faults[n](clock)
        if n == stop_at:
            stop.set()

    daemon = Daemon(config, clock=clock, sensor=ScriptedSensor(script, before_read))
    with captured_logs() as logs:
        daemon.run(stop)
    transitions = [
        m.split(" (")[0] for m in logs.messages() if m.startswith(("cold alert", "sensor alert"))
    ]
    return transitions, logs, config


def stored(config):
    with Store.open_readonly(config.storage.database) as s:
        return s.readings(NODE), s.episodes(NODE)


def test_clock_steps_back_and_forward(make_config):
    warm, cold = (20.0, 50.0), (16.0, 55.0)
    faults = {
        # Inside a cold episode: NTP steps the clock 5 minutes back ...
        30: lambda clock: clock.set_wall(clock.now_ms() - 5 * MIN),
        # ... later an hour forward (a boot-time clock catching up) ...
        60: lambda clock: clock.set_wall(clock.now_ms() + 60 * MIN),
        # ... and, while warm again, two hours back.
        100: lambda clock: clock.set_wall(clock.now_ms() - 120 * MIN),
    }
    # Cold from read 11 to 90, warm otherwise; 2 h back at 30 s a cycle is 240 cycles
    # of holding off, plus some after it.
    transitions, logs, config = run_daemon(
        make_config,
        lambda n: cold if 11 <= n <= 90 else warm,
        faults,
        stop_at=380,
        max_jump_c=10,
    )
    readings, episodes = stored(config)
    ts = [r.ts_ms for r in readings]
    # Never a reading stamped at or before the one stored before it.
    assert all(b > a for a, b in itertools.pairwise(ts))
    # The clock was held off while it was behind (and said so once per step back).
    assert logs.count("holding off storing readings") == 2
    assert logs.count("time is plausible again") == 2
    assert len(ts) < 380 - 10 - 240 + 5  # the held-off cycles stored nothing
    # No negative durations.
    assert episodes and all(e.end_ms is None or e.end_ms >= e.start_ms for e in episodes)
    # No flapping: the 5-min step back inside the episode changed nothing; the hour
    # forward is a gap in the data, which ends the episode once ("stale") and a fresh
    # run of min_duration starts the next one; the warm readings end it.  The sensor
    # alert never fires: the sensor was fine all along.
    assert transitions == ["cold alert ON", "cold alert OFF", "cold alert ON", "cold alert OFF"]
    cold_eps = [e for e in episodes if e.kind == "cold"]
    assert len(cold_eps) == 2 and all(e.end_ms is not None for e in cold_eps)
    assert cold_eps[0].end_ms <= cold_eps[1].start_ms
    assert integrity(config.storage.database) == "ok"


def test_sensor_fails_an_hour_returns_garbage_then_recovers(make_config):
    nan, inf = math.nan, math.inf
    failing = range(11, 11 + 120)  # an hour of 30-s cycles
    garbage = [
        (150.0, 50.0),  # out of range
        (nan, 50.0),
        (20.0, nan),
        None,  # the driver returned None
        (35.0, 50.0),  # a spike from ~20 °C
        (5.0, 50.0),  # a spike the other way (does not confirm the first)
        (-50.0, 50.0),
        (21.0, 130.0),  # humidity out of range
        (45.0, 50.0),
        (inf, 50.0),
    ] * 3
    garbage_at = range(failing.stop, failing.stop + len(garbage))
    errors = [RuntimeError(CHECKSUM_ERROR), RuntimeError(WIRING_ERROR), OSError("I/O error")]

    def script(n):
        if n in failing:
            return errors[n % len(errors)]
        if n in garbage_at:
            step = garbage[n - garbage_at.start]
            return (None, None) if step is None else step
        return (20.0 + (n % 5) / 10, 50.0)

    stop_at = garbage_at.stop + 20
    transitions, logs, config = run_daemon(make_config, script, {}, stop_at=stop_at)
    readings, episodes = stored(config)
    good = [n for n in range(1, stop_at + 1) if n not in failing and n not in garbage_at]
    # No garbage stored: exactly the good reads, all in range and finite.
    assert len(readings) == len(good)
    assert all(19.9 <= r.temperature_c <= 20.5 and r.humidity_pct == 50.0 for r in readings)
    # The silent-sensor alert fired once and cleared once, on the first good reading.
    assert transitions == ["sensor alert ON", "sensor alert OFF"]
    (episode,) = [e for e in episodes if e.kind == "sensor"]
    before = [r for r in readings if r.ts_ms < episode.end_ms]
    assert episode.start_ms == before[-1].ts_ms  # since the last good reading
    after = [r.ts_ms for r in readings if r.ts_ms >= episode.end_ms]
    assert episode.end_ms == after[0]
    silent_min = (episode.end_ms - episode.start_ms) / MIN
    assert 60 <= silent_min <= 60 + len(garbage) / 2 + 1
    # The failure was logged once and the recovery once, not every cycle.
    assert logs.count("no good reading in this interval") == 1
    assert logs.count("sensor: recovered") == 1
    assert integrity(config.storage.database) == "ok"


DAY = 86_400_000


def test_a_clock_that_jumps_30_days_ahead_for_one_read_does_not_stop_recording(make_config):
    """NTP (or a person) sets the clock 30 days ahead for one read, then corrects it: one
    reading is stamped in the future, and recording goes on right after it."""
    faults = {
        20: lambda clock: clock.set_wall(clock.now_ms() + 30 * DAY),
        21: lambda clock: clock.set_wall(clock.now_ms() - 30 * DAY),
    }
    transitions, logs, config = run_daemon(make_config, lambda n: (20.0, 50.0), faults, 60)
    readings, _ = stored(config)
    assert len(readings) == 60  # every read stored, the one stamped in the future too
    future = [r for r in readings if r.ts_ms > readings[0].ts_ms + DAY]
    assert len(future) == 1
    assert logs.count("holding off storing readings") == 0
    assert logs.count("undoing its jump") == 1
    assert logs.count("jumped 30 days ahead") == 1
    assert transitions == []  # the sensor was fine all along: no silent-sensor alert
    with Store.open_readonly(config.storage.database) as s:
        # The floor the next start uses is the last reading with a trusted clock.
        assert s.clock_floor(NODE) == max(r.ts_ms for r in readings if r not in future)


def test_a_jump_ahead_that_stays_is_a_clock_catching_up(make_config):
    """Ahead by an hour and staying there (a boot-time clock catching up); later a step
    back is a wrong clock again, held off until it passes the newest reading."""
    faults = {
        10: lambda clock: clock.set_wall(clock.now_ms() + 60 * MIN),
        150: lambda clock: clock.set_wall(clock.now_ms() - 30 * MIN),  # after CONFIRM_STEP_S
    }
    _, logs, config = run_daemon(make_config, lambda n: (20.0, 50.0), faults, 250)
    readings, _ = stored(config)
    assert logs.count("undoing its jump") == 0
    assert logs.count("holding off storing readings") == 1
    assert len(readings) == 250 - 60  # 30 min at 30 s held off


def test_a_restart_within_the_same_second_is_not_a_wrong_clock(make_config):
    _, config = make_config({"sensor": {"kind": "dht22", "interval_s": 30, "retries": 0}})
    clock = FakeClock()
    second = clock.now_ms() // 1000 * 1000
    with Store.open(config.storage.database) as s:
        s.add_readings(NODE, [Reading(second, 20.0, 50.0)])  # the run that just stopped
    clock.advance(0.4)
    stop = threading.Event()
    sensor = ScriptedSensor(lambda n: (20.0, 50.0), lambda n: n == 3 and stop.set())
    with captured_logs() as logs:
        Daemon(config, clock=clock, sensor=sensor).run(stop)
    assert logs.count("cannot be right") == 0
    readings, _ = stored(config)
    assert [r.ts_ms - second for r in readings] == [0, 30_000, 60_000]


def _start_with(make_config, rows, clock_ms, floor_ms=None, reads=3):
    _, config = make_config({"sensor": {"kind": "dht22", "interval_s": 30, "retries": 0}})
    with Store.open(config.storage.database) as s:
        s.add_readings(NODE, [Reading(ts, 20.0, 50.0) for ts in rows])
        if floor_ms is not None:
            s.set_clock_floor(NODE, floor_ms)
    clock = FakeClock(clock_ms)
    stop = threading.Event()
    sensor = ScriptedSensor(lambda n: (21.0, 50.0), lambda n: n == reads and stop.set())
    with captured_logs() as logs:
        Daemon(config, clock=clock, sensor=sensor).run(stop)
    readings, _ = stored(config)
    return [r for r in readings if r.temperature_c == 21.0], logs


@pytest.mark.parametrize("floor", [True, False], ids=["with-floor", "old-database"])
def test_a_row_stamped_a_year_ahead_does_not_capture_the_clock_guard(make_config, floor):
    now = FakeClock().now_ms() // 1000 * 1000
    rows = [now - 60_000, now + 365 * DAY]  # the daemon's last reading, an old bad import
    new, logs = _start_with(make_config, rows, now, floor_ms=rows[0] if floor else None)
    assert len(new) == 3
    assert logs.count("holding off") == 0
    assert logs.count("stamped in the future") == 1


def test_a_pi_booting_behind_its_last_reading_still_holds_off(make_config):
    now = FakeClock().now_ms() // 1000 * 1000
    rows = [now + 40 * MIN, now + 50 * MIN]  # stored before a power cut; the clock is behind
    new, logs = _start_with(make_config, rows, now, floor_ms=rows[0])
    assert new == []
    assert logs.count("holding off storing readings") == 1
