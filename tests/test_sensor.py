"""Sensors: the DHT code path against a fake adafruit device, the simulated room."""

from __future__ import annotations

import pytest

from monitor.clock import FakeClock
from monitor.sensing.drivers import (
    BUFFER_ERROR,
    CHECKSUM_ERROR,
    DRIVER_ERRORS,
    WIRING_ERROR,
    DhtSensor,
    FakeDhtDevice,
    SensorError,
    SimulatedSensor,
    is_raspberry_pi,
    open_sensor,
)


def test_dht_sensor_reads_temperature_and_humidity_of_one_measurement(make_config):
    _, config = make_config({"sensor": {"kind": "dht22", "pin": 4}})
    device = FakeDhtDevice([(18.3, 55.0), (18.4, 56.0)])
    sensor = open_sensor(config, FakeClock(), device=device)
    assert isinstance(sensor, DhtSensor)
    assert sensor.read() == (18.3, 55.0)
    assert sensor.read() == (18.4, 56.0)
    assert device.measurements == 2  # humidity came from the same measurement
    sensor.close()
    assert device.exited


@pytest.mark.parametrize("message", DRIVER_ERRORS)
def test_dht_sensor_raises_the_drivers_runtime_errors_unchanged(message):
    sensor = DhtSensor(FakeDhtDevice([RuntimeError(message), (20.0, 40.0)]), "dht22")
    with pytest.raises(RuntimeError) as info:
        sensor.read()
    assert str(info.value) == message
    assert sensor.read() == (20.0, 40.0)


def test_dht_sensor_passes_none_through():
    sensor = DhtSensor(FakeDhtDevice([None]), "dht11")
    assert sensor.read() == (None, None)


def test_dht_off_a_raspberry_pi_is_a_clear_error_not_a_crash(make_config, capsys):
    if is_raspberry_pi():
        pytest.skip("this machine is a Raspberry Pi")
    _, config = make_config({"sensor": {"kind": "dht22", "pin": 4}})
    with pytest.raises(SensorError) as info:
        open_sensor(config, FakeClock())
    message = str(info.value)
    assert "DHT22 on GPIO4" in message
    assert 'kind = "simulated"' in message
    out = capsys.readouterr()
    assert "WARNING" not in out.out + out.err  # Blinka's import chatter is swallowed


def test_simulated_sensor_fails_with_the_real_messages_and_sometimes_none(make_config):
    _, config = make_config({"sensor": {"kind": "simulated", "failure_rate": 0.3, "seed": 7}})
    clock = FakeClock()
    sensor = open_sensor(config, clock)
    assert isinstance(sensor, SimulatedSensor)
    errors, nones, values = set(), 0, []
    for _ in range(600):
        clock.advance(30)
        try:
            t, h = sensor.read()
        except RuntimeError as exc:
            errors.add(str(exc))
            continue
        if t is None:
            nones += 1
        else:
            values.append((t, h))
    assert errors == {CHECKSUM_ERROR, BUFFER_ERROR, WIRING_ERROR}
    assert nones > 0
    assert all(-40 <= t <= 80 and 0 <= h <= 100 for t, h in values)


def test_simulated_sensor_follows_the_room_and_is_deterministic(make_config):
    _, config = make_config({"sensor": {"kind": "simulated", "failure_rate": 0.0}})

    def series():
        clock = FakeClock()
        sensor = open_sensor(config, clock)
        out = []
        for _ in range(50):
            clock.advance(600)
            out.append(sensor.read())
        return out

    first = series()
    assert first == series()
    temps = [t for t, _ in first]
    assert max(temps) - min(temps) > 0.5  # the room changes through the day
