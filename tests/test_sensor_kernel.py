"""The kernel's IIO dht11 driver against fake sysfs trees, and a sensor that may fail.

The trees are real folders laid out like /sys/bus/iio/devices.  A sysfs read that
fails cannot be made with a plain file, so a test opener hands back a file object
whose read() raises the errno the real driver returns (drivers/iio/humidity/dht11.c:
EIO for a checksum mismatch or lost sync, ETIMEDOUT when the sensor does not answer,
EAGAIN for a too-coarse clock).
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import shutil
import threading

import pytest

import monitor.daemon.loop
from monitor.cli import doctor
from monitor.clock import FakeClock
from monitor.daemon.loop import Daemon
from monitor.sensing.drivers import (
    DHT11_DECODE_READS,
    HUMIDITY_FILE,
    TEMP_FILE,
    KernelDhtSensor,
    KernelReadError,
    ReopeningSensor,
    SensorError,
    SensorUnavailable,
    choose_driver,
    find_iio_dht,
    open_sensor,
)
from monitor.sensing.sampler import Sampler
from monitor.store import Store
from tests.fakes.iio import dht11_tree
from tests.fault_support import captured_logs
from tests.support import wait_until

NODE = "testroom"


def add_device(root, folder: str, name: str, temp: str | None = None, hum: str | None = None):
    """One IIO device folder with its name file (and, for a DHT, the two value files)."""
    path = root / folder
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    if temp is not None:
        (path / TEMP_FILE).write_text(temp + "\n")
    if hum is not None:
        (path / HUMIDITY_FILE).write_text(hum + "\n")
    return path


def set_values(path, temp: str, hum: str) -> None:
    (path / TEMP_FILE).write_text(temp + "\n")
    (path / HUMIDITY_FILE).write_text(hum + "\n")


class FailingRead:
    """A sysfs file whose read(2) fails as the driver's does."""

    def __init__(self, code: int):
        self.code = code

    def read(self, *_):
        raise OSError(self.code, os.strerror(self.code))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class ScriptedOpener:
    """open() for the sensor: the next scripted errno fails one read, then real files."""

    def __init__(self, errors=()):
        self.errors = list(errors)
        self.opened = []

    def __call__(self, path, *args, **kwargs):
        self.opened.append(os.path.basename(path))
        if self.errors:
            return FailingRead(self.errors.pop(0))
        return open(path, *args, **kwargs)


@pytest.fixture
def iio(tmp_path):
    root = tmp_path / "iio"
    root.mkdir()
    return root


def kernel_config(make_config, iio, **sensor):
    return make_config(
        {"sensor": {"kind": "dht22", "pin": 4, "driver": "kernel", "iio_root": str(iio), **sensor}}
    )[1]


# -- finding the device and reading it ----------------------------------------------------


def test_values_are_milli_units(make_config, iio):
    add_device(iio, "iio:device0", "dht11@4", "21300", "45600")
    sensor = open_sensor(kernel_config(make_config, iio), FakeClock())
    assert isinstance(sensor, KernelDhtSensor)
    assert sensor.read() == (21.3, 45.6)


def test_a_frosty_dht22_reads_negative(make_config, iio):
    # The driver scales a DHT22's sign bit into the milli-°C value itself.
    add_device(iio, "iio:device0", "dht11", "-5200", "80100")
    assert open_sensor(kernel_config(make_config, iio), FakeClock()).read() == (-5.2, 80.1)


def test_the_dht_among_other_iio_devices(make_config, iio):
    add_device(iio, "iio:device0", "mcp3008")  # an ADC: in_voltage*, no dht name
    (iio / "iio:device0" / TEMP_FILE).write_text("99000\n")
    dht = add_device(iio, "iio:device1", "dht11@16", "19000", "50000")  # GPIO22 = 0x16
    config = kernel_config(make_config, iio, pin=22)
    assert find_iio_dht(iio, 22) == dht
    assert open_sensor(config, FakeClock()).read() == (19.0, 50.0)


def test_two_dht_devices_are_told_apart_by_their_node_pin(iio):
    first = add_device(iio, "iio:device2", "dht11@4", "1", "1")
    second = add_device(iio, "iio:device10", "dht11@11", "1", "1")
    assert find_iio_dht(iio, 4) == first
    assert find_iio_dht(iio, 17) == second
    assert find_iio_dht(iio, 23) == first  # no name matches: the first in natural order


def test_a_missing_device_explains_the_overlay(make_config, iio):
    add_device(iio, "iio:device0", "mcp3008")
    assert find_iio_dht(iio) is None
    assert find_iio_dht(iio.parent / "no-such-dir") is None
    with pytest.raises(SensorError) as info:
        open_sensor(kernel_config(make_config, iio, pin=22), FakeClock())
    message = str(info.value)
    assert "dtoverlay=dht11,gpiopin=22" in message and str(iio) in message


def test_auto_takes_the_kernel_driver_only_where_its_device_exists(make_config, iio):
    config = kernel_config(make_config, iio, driver="auto")
    driver, why = choose_driver(config)
    assert driver == "blinka" and "no dht11 device" in why
    add_device(iio, "iio:device0", "dht11@4", "20000", "40000")
    driver, why = choose_driver(config)
    assert driver == "kernel" and "iio:device0" in why
    assert isinstance(open_sensor(config, FakeClock()), KernelDhtSensor)
    config = kernel_config(make_config, iio, driver="blinka")
    assert choose_driver(config)[0] == "blinka"


# -- the device tree: a custom node, an old kernel's dht11@0 (tests/fakes/iio.py) ----------


def test_a_real_layout_is_found_and_read(make_config, tmp_path):
    iio = dht11_tree(tmp_path / "sys")
    assert find_iio_dht(iio, 4) == iio / "iio:device0"
    assert open_sensor(kernel_config(make_config, iio), FakeClock()).read() == (21.3, 45.6)


def test_a_custom_overlay_node_is_found_by_its_compatible(tmp_path):
    """A node named after the room: its name does not start with dht11, its compatible does."""
    iio = dht11_tree(tmp_path / "sys", node="bedroom-sensor", pin=22, bound=False)
    assert find_iio_dht(iio, 22) == iio / "iio:device0"


def test_a_device_bound_to_the_dht11_driver_is_found_without_a_compatible_match(tmp_path):
    iio = dht11_tree(tmp_path / "sys", node="sensor@1", compatible=b"acme,th\0", pin=None)
    assert find_iio_dht(iio) == iio / "iio:device0"


def test_other_devices_with_a_device_tree_node_are_not_taken(tmp_path):
    iio = dht11_tree(tmp_path / "sys", node="adc@8", compatible=b"microchip,mcp3008\0", bound=False)
    assert find_iio_dht(iio) is None


def test_an_old_kernels_dht11_at_0_takes_its_pin_from_the_device_tree(tmp_path):
    """Older overlays named the node dht11@0 whatever the pin: only gpios tells them apart."""
    sys_root = tmp_path / "sys"
    dht11_tree(sys_root, node="dht11@0", pin=4, device="iio:device0")
    iio = dht11_tree(sys_root, node="dht11@1", pin=17, device="iio:device1")
    assert find_iio_dht(iio, 17) == iio / "iio:device1"
    assert find_iio_dht(iio, 4) == iio / "iio:device0"


def test_the_device_tree_pin_wins_over_the_node_name(tmp_path):
    iio = dht11_tree(tmp_path / "sys", node="dht11@4", pin=27, device="iio:device0")
    dht11_tree(tmp_path / "sys", node="dht11@1b", pin=4, device="iio:device1")
    assert find_iio_dht(iio, 4) == iio / "iio:device1"


# -- failing reads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "meaning"),
    [
        (errno.EIO, "EIO", "checksum"),
        (errno.ETIMEDOUT, "ETIMEDOUT", "did not answer"),
        (errno.EAGAIN, "EAGAIN", "timer resolution"),
    ],
)
def test_a_failed_read_carries_the_kernels_reason(iio, code, name, meaning):
    dht = add_device(iio, "iio:device0", "dht11@4", "21000", "40000")
    sensor = KernelDhtSensor(dht, "dht22", opener=ScriptedOpener([code]))
    with pytest.raises(KernelReadError) as info:
        sensor.read()
    assert info.value.errno == code
    assert name in str(info.value) and meaning in str(info.value)
    assert isinstance(info.value, RuntimeError)  # retried like adafruit_dht's errors
    assert sensor.read() == (21.0, 40.0)  # the next read recovers


def test_a_dht11_failing_every_read_with_eio_names_the_old_kernels_decoding(iio):
    """dht11.c before Raspberry Pi's fix of Nov 2024 (#6454) returned EIO for a DHT11 whose
    decimal bytes are not 0: every read fails.  Say so, once, in the log and the error."""
    dht = add_device(iio, "iio:device0", "dht11@4", "21000", "40000")
    sensor = KernelDhtSensor(dht, "dht11", opener=ScriptedOpener([errno.EIO] * 10))
    messages = []
    with captured_logs() as logs:
        for _ in range(DHT11_DECODE_READS + 2):
            with pytest.raises(KernelReadError) as info:
                sensor.read()
            messages.append(str(info.value))
    assert all("Don't know how to decode" not in m for m in messages[: DHT11_DECODE_READS - 1])
    assert "Don't know how to decode data" in messages[-1] and "November 2024" in messages[-1]
    warnings = [r for r in logs.records if "decode" in r.getMessage()]
    assert len(warnings) == 1 and "update the kernel" in warnings[0].getMessage()
    fix = doctor.sensor_fix(messages[-1], 4)
    assert "full-upgrade" in fix and 'driver = "blinka"' in fix


@pytest.mark.parametrize(
    ("model", "errors"),
    [
        ("dht22", [errno.EIO] * 10),  # a DHT22 is decoded by every kernel: noise
        ("dht11", [errno.EIO, errno.ETIMEDOUT, errno.EIO, errno.EIO]),  # not every read EIO
    ],
)
def test_eio_that_is_not_the_decoding_gap_stays_noise(iio, model, errors):
    dht = add_device(iio, "iio:device0", "dht11@4", "21000", "40000")
    sensor = KernelDhtSensor(dht, model, opener=ScriptedOpener(errors))
    last = ""
    for _ in range(len(errors)):
        with pytest.raises(KernelReadError) as info:
            sensor.read()
        last = str(info.value)
    assert "decode" not in last and "noise" in doctor.sensor_fix(last, 4)


def test_a_dht11_that_read_once_is_not_blamed_on_the_kernel(iio):
    dht = add_device(iio, "iio:device0", "dht11@4", "21000", "40000")
    sensor = KernelDhtSensor(dht, "dht11", opener=ScriptedOpener([]))
    assert sensor.read() == (21.0, 40.0)
    sensor._open = ScriptedOpener([errno.EIO] * 10)
    for _ in range(DHT11_DECODE_READS + 1):
        with pytest.raises(KernelReadError) as info:
            sensor.read()
    assert "decode" not in str(info.value)


def test_doctor_tells_the_kernel_cause_when_every_dht11_read_fails(make_config, iio):
    dht = add_device(iio, "iio:device0", "dht11@4", "21000", "40000")
    config = kernel_config(make_config, iio, kind="dht11")
    opener = ScriptedOpener([errno.EIO] * 10)
    result = doctor.check_sensor(
        config, FakeClock(), lambda c, clock: KernelDhtSensor(dht, "dht11", opener=opener)
    )
    assert result.status == doctor.FAIL and "5/5 reads failed" in result.detail
    assert "Don't know how to decode data" in result.detail
    assert "full-upgrade" in result.fix


def test_garbage_in_a_value_file_is_a_failed_read(iio):
    dht = add_device(iio, "iio:device0", "dht11@4", "n/a", "40000")
    with pytest.raises(KernelReadError, match="not a number"):
        KernelDhtSensor(dht, "dht22").read()


def test_sampler_retries_eio_and_etimedout_then_recovers(iio):
    dht = add_device(iio, "iio:device0", "dht11@4", "18500", "61000")
    # EIO on the first temperature read, ETIMEDOUT on the second: two failed attempts.
    opener = ScriptedOpener([errno.EIO, errno.ETIMEDOUT])
    clock = FakeClock()
    start = clock.monotonic()
    sampler = Sampler(
        KernelDhtSensor(dht, "dht22", opener=opener),
        clock,
        model="dht22",
        retries=3,
        max_jump_c=3.0,
    )
    sample = sampler.sample()
    assert sample is not None and (sample.temperature_c, sample.humidity_pct) == (18.5, 61.0)
    assert sampler.health.consecutive_failures == 0
    assert list(sampler.health.attempts) == [False, False, True]
    assert "ETIMEDOUT" in sampler.health.last_error
    # Three reads, each at least 2 s after the last: the driver's 2-s cache never answers.
    assert clock.monotonic() - start >= 2 * 2.0


def test_a_device_that_vanishes_is_reopened_where_it_comes_back(make_config, iio, caplog):
    dht = add_device(iio, "iio:device0", "dht11@4", "20000", "40000")
    config = kernel_config(make_config, iio)
    clock = FakeClock()
    sensor = ReopeningSensor(lambda: open_sensor(config, clock), clock)
    assert sensor.read() == (20.0, 40.0)
    shutil.rmtree(dht)  # the overlay was unloaded (or the module reloaded)
    with caplog.at_level(logging.INFO, logger="monitor.sensing.drivers"):
        with pytest.raises(SensorUnavailable, match="is gone"):
            sensor.read()
        add_device(iio, "iio:device3", "dht11@4", "20500", "41000")
        with pytest.raises(SensorUnavailable):  # backing off: not tried again yet
            sensor.read()
        clock.advance(ReopeningSensor.FIRST_BACKOFF_S)
        assert sensor.read() == (20.5, 41.0)
    messages = [r.getMessage() for r in caplog.records]
    assert any("disappeared" in m for m in messages)
    assert any("opened after 1 failed attempts" in m for m in messages)


def test_a_sensor_that_cannot_open_is_retried_with_backoff_and_logged_rarely(caplog):
    clock = FakeClock()
    attempts = []

    def opener():
        attempts.append(clock.monotonic())
        raise SensorError("no IIO device named dht11")

    sensor = ReopeningSensor(opener, clock)
    with caplog.at_level(logging.INFO, logger="monitor.sensing.drivers"):
        for _ in range(3600):  # an hour, a read attempt every second
            with pytest.raises(SensorUnavailable, match="no IIO device"):
                sensor.read()
            clock.advance(1)
    gaps = [round(b - a) for a, b in itertools.pairwise(attempts)]
    assert gaps[:7] == [5, 10, 20, 40, 80, 160, 300]
    assert set(gaps[6:]) == {300}
    records = [r for r in caplog.records if r.name == "monitor.sensing.drivers"]
    assert [r.levelno for r in records][:1] == [logging.ERROR]
    assert "the button, alerts and MQTT go on" in records[0].getMessage()
    # An hour of failures: the first error and then at most one line per 5 minutes.
    assert 1 < len(records) <= 1 + 3600 // ReopeningSensor.LOG_EVERY_S


# -- the daemon: no sensor is not fatal --------------------------------------------------------


def test_daemon_runs_without_the_device_alerts_and_recovers_when_it_appears(
    make_config, iio, monkeypatch
):
    """No dht11 device at start: cycles go on, the sensor alert fires; the overlay's device
    shows up later: readings are stored and the alert clears."""
    _, config = make_config(
        {
            "sensor": {
                "kind": "dht22",
                "driver": "kernel",
                "iio_root": str(iio),
                "interval_s": 30,
                "retries": 1,
            },
            "alerts": {"sensor_silent_s": 150},
        }
    )
    clock = FakeClock()
    stop = threading.Event()
    seen = {}
    real_build = monitor.daemon.loop.build_components

    class Hook:
        def __init__(self, ctx):
            self.ctx, self.cycles = ctx, 0

        def start(self):
            pass

        def on_reading(self, reading, now_ms):
            self.cycles += 1
            if self.cycles == 20:
                # The alert's episode is stored by the alerts' worker thread: await it.
                seen["episodes_before"] = wait_until(
                    lambda: [e for e in self.ctx.store.episodes(NODE) if e.kind == "sensor"],
                    what="the sensor alert's episode stored",
                )
                seen["readings_before"] = self.ctx.store.count_readings()
                add_device(iio, "iio:device0", "dht11@4", "19000", "55000")
            if self.cycles == 40:
                stop.set()

        def close(self):
            pass

    monkeypatch.setattr(
        "monitor.daemon.loop.build_components", lambda ctx: [*real_build(ctx), Hook(ctx)]
    )
    daemon = Daemon(config, clock=clock)
    with captured_logs() as logs:
        daemon.run(stop)
    assert daemon.error is None
    assert seen["readings_before"] == 0
    sensor_episodes = [e for e in seen["episodes_before"] if e.kind == "sensor"]
    assert len(sensor_episodes) == 1 and sensor_episodes[0].end_ms is None  # alert ON
    with Store.open_readonly(config.storage.database) as s:
        readings = s.readings(NODE)
        episodes = [e for e in s.episodes(NODE) if e.kind == "sensor"]
    assert readings and {(r.temperature_c, r.humidity_pct) for r in readings} == {(19.0, 55.0)}
    assert len(episodes) == 1 and episodes[0].end_ms is not None  # ... and OFF again
    assert logs.count("cannot open the sensor", logging.ERROR) == 1
    assert logs.count("sensor: opened after") == 1
