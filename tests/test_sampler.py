"""Sampler: retries at the DHT's pace, the plausibility filter, health, the clock guard."""

from __future__ import annotations

import itertools
import logging
import math
import threading

import pytest

from monitor.clock import RELEASE_DATE_MS, FakeClock
from monitor.sensing.drivers import (
    BUFFER_ERROR,
    CHECKSUM_ERROR,
    WIRING_ERROR,
    DhtSensor,
    FakeDhtDevice,
)
from monitor.sensing.sampler import ClockGuard, ReadingFilter, Sampler


def make_sampler(script, *, model="dht22", retries=3, max_jump_c=3.0, default=(21.0, 50.0)):
    clock = FakeClock()
    device = FakeDhtDevice(script, default=default)
    reads: list[float] = []
    sensor = DhtSensor(device, model)
    original = sensor.read

    def read():
        reads.append(clock.monotonic())
        return original()

    sensor.read = read
    sampler = Sampler(sensor, clock, model=model, retries=retries, max_jump_c=max_jump_c)
    return sampler, clock, device, reads


def test_retries_after_driver_errors_and_none_no_faster_than_every_2_s():
    sampler, clock, device, reads = make_sampler(
        [RuntimeError(CHECKSUM_ERROR), None, RuntimeError(BUFFER_ERROR), (19.5, 48.0)]
    )
    start_ms = clock.now_ms()
    sample = sampler.sample()
    assert sample is not None
    assert (sample.temperature_c, sample.humidity_pct) == (19.5, 48.0)
    assert device.measurements == 4
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(reads))
    assert sample.ts_ms >= start_ms + 6000  # stamped when the good read happened
    assert sampler.health.consecutive_failures == 0
    assert sampler.health.last_error == BUFFER_ERROR


def test_retries_are_bounded_and_the_gap_holds_across_cycles():
    sampler, _clock, device, reads = make_sampler([RuntimeError(WIRING_ERROR)] * 10, retries=2)
    assert sampler.sample() is None
    assert device.measurements == 3  # 1 + retries
    sampler.sample()
    assert len(reads) == 6
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(reads))


def test_stop_event_ends_the_retries():
    sampler, _, device, _ = make_sampler([RuntimeError(WIRING_ERROR)] * 10)
    stop = threading.Event()
    stop.set()
    assert sampler.sample(stop) is None
    assert device.measurements == 1


@pytest.mark.parametrize(
    ("model", "value", "ok"),
    [
        ("dht22", (-40.0, 0.0), True),
        ("dht22", (80.0, 100.0), True),
        ("dht22", (80.5, 50.0), False),
        ("dht22", (20.0, 100.5), False),
        ("dht11", (-1.0, 50.0), False),
        ("dht11", (50.5, 50.0), False),
        ("dht11", (20.0, 19.0), False),
        ("dht11", (20.0, 91.0), False),
        ("dht11", (20.0, 90.0), True),
        ("dht22", (math.nan, 50.0), False),
        ("dht22", (20.0, math.nan), False),
    ],
)
def test_range_and_nan_are_rejected_per_model(model, value, ok):
    reason = ReadingFilter(model, 3.0).check(*value)
    assert (reason is None) == ok, reason


def test_out_of_range_read_is_retried_and_counts_as_a_failure():
    sampler, _, _, _ = make_sampler([(85.0, 50.0), (20.0, 50.0)])
    sample = sampler.sample()
    assert sample.temperature_c == 20.0
    assert "outside -40..80 for a dht22" in sampler.health.last_error
    assert sampler.health.failure_rate == 0.5


def test_single_read_spike_is_rejected_and_the_next_read_is_kept():
    sampler, _, _, _ = make_sampler([(20.0, 50.0), (20.1, 50.0), (29.0, 50.0), (20.2, 50.0)])
    values = [sampler.sample().temperature_c for _ in range(3)]
    assert values == [20.0, 20.1, 20.2]  # 29.0 was a spike, retried within the interval
    assert "spike" in sampler.health.last_error


def test_confirmed_step_is_a_real_change_and_accepted():
    f = ReadingFilter("dht22", 3.0)
    for t in (20.0, 20.1, 20.0):
        assert f.check(t, 50.0) is None
    assert "spike" in f.check(25.0, 50.0)
    assert f.check(25.2, 50.0) is None  # confirmed
    assert f.check(25.1, 50.0) is None  # the new level is the reference now
    assert "spike" in f.check(20.0, 50.0)  # back down needs confirming too


def test_an_unconfirmed_spike_does_not_poison_the_reference():
    f = ReadingFilter("dht22", 3.0)
    for t in (18.0, 18.1):
        assert f.check(t, 50.0) is None
    assert f.check(30.0, 50.0) is not None
    assert f.check(18.2, 50.0) is None
    assert f.check(30.5, 50.0) is not None  # a second lone spike is not a confirmation
    assert f.pending == 30.5


def test_health_counts_failures_and_logs_a_streak_once_and_recovery_once(caplog):
    script = [RuntimeError(CHECKSUM_ERROR)] * 12 + [(20.0, 50.0)]
    sampler, _, _, _ = make_sampler(script, retries=2)
    with caplog.at_level(logging.INFO, logger="monitor.sensing.sampler"):
        for _ in range(4):
            assert sampler.sample() is None
        assert sampler.health.status == "failing"
        assert sampler.health.consecutive_failures == 12
        assert sampler.health.failure_rate == 1.0
        assert sampler.health.last_good_ms is None
        sample = sampler.sample()
    assert sample is not None
    assert sampler.health.last_good_ms == sample.ts_ms
    assert sampler.health.consecutive_failures == 0
    assert sampler.health.status == "degraded"  # 12 of 13 recent reads failed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    recoveries = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(warnings) == 1 and CHECKSUM_ERROR in warnings[0].getMessage()
    assert len(recoveries) == 1 and "12 failed reads" in recoveries[0].getMessage()


def test_health_is_ok_when_reads_succeed():
    sampler, _, _, _ = make_sampler([])
    assert sampler.health.status == "starting"
    for _ in range(5):
        sampler.sample()
    snap = sampler.health.snapshot()
    assert (snap.status, snap.consecutive_failures, snap.failure_rate) == ("ok", 0, 0.0)


def test_clock_guard_refuses_time_before_release_date_and_logs_once(caplog):
    guard = ClockGuard(None)
    with caplog.at_level(logging.INFO, logger="monitor.sensing.sampler"):
        assert not guard.accept(5_000)  # a Pi booted in 1970
        assert not guard.accept(35_000)
        assert guard.accept(RELEASE_DATE_MS + 1000)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "1970-01-01T00:00:05Z" in messages[0] and "release date" in messages[0]
    assert "plausible" in messages[1]


def test_clock_guard_refuses_time_before_the_newest_stored_reading():
    newest = RELEASE_DATE_MS + 10 * 86_400_000
    guard = ClockGuard(newest)
    assert not guard.accept(newest - 60_000)  # booted with the last shutdown time
    assert not guard.accept(newest)  # the same instant would be a duplicate
    assert guard.accept(newest + 30_000)
    guard.stored(newest + 30_000)
    assert not guard.accept(newest + 15_000)


def test_a_stop_before_the_read_is_not_a_failed_cycle(caplog):
    """Every SIGTERM logged 'sensor: no good reading (last error: None)'."""
    sampler, _clock, _device, _reads = make_sampler([(20.0, 50.0)] * 3, retries=2)
    assert sampler.sample() is not None
    stop = threading.Event()
    stop.set()
    with caplog.at_level(logging.DEBUG, logger="monitor.sensing.sampler"):
        assert sampler.sample(stop) is None
    assert not [r for r in caplog.records if "no good reading" in r.getMessage()]
    assert sampler.health.status == "ok" and sampler.health.consecutive_failures == 0


def test_the_clock_guard_trusts_the_clock_only_when_nothing_is_in_doubt():
    """ClockGuard.trusts gates the trial's announcements and the morning messages."""
    from monitor.clock import RELEASE_DATE_MS
    from monitor.sensing.sampler import CLOCK_STEP_MS, CONFIRM_STEP_S

    t0 = RELEASE_DATE_MS + 30 * 86_400_000
    guard = ClockGuard(t0 - 60_000)
    assert guard.accept(t0, mono=100.0)
    guard.stored(t0)
    assert guard.trusts(t0 + 30_000, 130.0)  # time passed as the clock says
    # A jump since the last read, not yet seen by a read: doubted at once.
    assert not guard.trusts(t0 + 2 * 86_400_000, 130.0)
    # Behind the newest stored reading: doubted.
    assert not guard.trusts(t0 - CLOCK_STEP_MS, 101.0)
    # Before the release date: doubted (and holding off once a read sees it).
    assert not guard.trusts(RELEASE_DATE_MS - 1, 101.0)
    # A step forward seen by a read stays in doubt until it is confirmed...
    ahead = t0 + 2 * 86_400_000
    assert guard.accept(ahead, mono=160.0)
    guard.stored(ahead)
    assert not guard.trusts(ahead + 30_000, 190.0)
    # ...by CONFIRM_STEP_S of time passing as the clock says.
    later = 160.0 + CONFIRM_STEP_S + 1
    assert guard.accept(ahead + round((later - 160.0) * 1000), mono=later)
    assert guard.trusts(ahead + round((later - 160.0) * 1000) + 1000, later + 1)
