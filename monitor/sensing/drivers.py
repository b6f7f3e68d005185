"""Sensors: a DHT22/DHT11 through adafruit_dht, or a simulated room.

A Sensor has ``read() -> (temperature °C | None, humidity % | None)`` that
raises ``RuntimeError`` exactly like adafruit_dht does, and ``close()``.
Retrying, filtering and health live in monitor/sensing/sampler.py, not here.

adafruit_dht and ``board`` are imported lazily inside :func:`open_sensor`:
importing ``board`` off a Raspberry Pi prints warnings or raises, which must
never break the demo or the tests.  ``FakeDhtDevice`` stands in for the
adafruit device object so DhtSensor's real code path is tested without hardware.
"""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Iterable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from monitor.config import Config

# The messages adafruit_dht 4.x raises (as RuntimeError) when a read fails.
CHECKSUM_ERROR = "Checksum did not validate. Try again."
BUFFER_ERROR = "A full buffer was not returned. Try again."
WIRING_ERROR = "DHT sensor not found, check wiring"
DRIVER_ERRORS = (CHECKSUM_ERROR, BUFFER_ERROR, WIRING_ERROR)


class SensorError(Exception):
    """The sensor cannot be opened at all (message says what to do)."""


class Sensor(Protocol):
    def read(self) -> tuple[float | None, float | None]: ...

    def close(self) -> None: ...


class DhtSensor:
    """A DHT22/AM2302 or DHT11 behind an adafruit_dht device object."""

    def __init__(self, device: Any, model: str):
        self.device = device
        self.model = model

    def read(self) -> tuple[float | None, float | None]:
        # Both in one go: the driver measures on the first property access and
        # returns that same measurement for the second (its 2-s cache).
        temperature = self.device.temperature
        humidity = self.device.humidity
        return temperature, humidity

    def close(self) -> None:
        try:
            self.device.exit()  # stops the libgpiod_pulsein helper process
        except Exception:  # pragma: no cover - best effort on the way out
            pass


class SimulatedSensor:
    """The simulated room (monitor/sensing/simroom.py) read through a noisy, flaky 'driver'.

    Fails at ``failure_rate`` with the real driver's messages, now and then
    returns None (as the driver can), and rarely returns a one-read spike.
    """

    def __init__(self, clock, timezone: str, seed: int = 1, failure_rate: float = 0.02):
        self.clock = clock
        self.zone = ZoneInfo(timezone)
        self.seed = seed
        self.failure_rate = failure_rate
        self.rng = random.Random(seed)

    def read(self) -> tuple[float | None, float | None]:
        draw = self.rng.random()
        if draw < self.failure_rate:
            raise RuntimeError(self.rng.choice(DRIVER_ERRORS))
        if draw < self.failure_rate * 1.25:
            return None, None
        from monitor.sensing.simroom import room  # only the simulated sensor needs the model

        temp, hum = room(self.clock.now_ms(), self.zone, self.seed)
        temp += self.rng.gauss(0, 0.05)
        hum += self.rng.gauss(0, 0.4)
        if draw < self.failure_rate * 1.35:  # a rare one-read glitch the filter must catch
            temp += self.rng.choice((-1, 1)) * self.rng.uniform(6, 12)
        return round(temp, 1), round(min(100.0, max(0.0, hum)), 1)

    def close(self) -> None:
        pass


class FakeDhtDevice:
    """Emulates an adafruit_dht.DHT22/DHT11 object for tests and the doctor.

    ``script`` is consumed one measurement per read: a ``(temperature,
    humidity)`` tuple, ``None`` (the driver returned None), or an exception
    instance (raised, e.g. ``RuntimeError(CHECKSUM_ERROR)``).  As in the real
    driver, reading ``.temperature`` measures and ``.humidity`` right after
    returns the same measurement.  When the script runs out, ``default`` is used.
    """

    def __init__(self, script: Iterable = (), default: Any = (21.0, 50.0)):
        self.script = list(script)
        self.default = default
        self.measurements = 0
        self.exited = False
        self._current: tuple[float | None, float | None] = (None, None)
        self._fresh = False

    def _measure(self) -> None:
        self.measurements += 1
        step = self.script.pop(0) if self.script else self.default
        if isinstance(step, BaseException):
            self._fresh = False
            raise step
        self._current = (None, None) if step is None else (step[0], step[1])
        self._fresh = True

    @property
    def temperature(self) -> float | None:
        self._measure()
        return self._current[0]

    @property
    def humidity(self) -> float | None:
        if not self._fresh:  # humidity first, or after a failure: a new measurement
            self._measure()
        self._fresh = False
        return self._current[1]

    def exit(self) -> None:
        self.exited = True


def is_raspberry_pi() -> bool:
    try:
        with open("/proc/device-tree/model", encoding="utf-8", errors="replace") as f:
            return "raspberry pi" in f.read().lower()
    except OSError:
        return False


def _open_dht_device(model: str, pin: int, use_pulseio: bool):
    """Create the adafruit device; importing board off a Pi is turned into SensorError."""
    hint = (
        f"cannot open the {model.upper()} on GPIO{pin}: {{}}. On a Raspberry Pi check"
        " that adafruit-circuitpython-dht and lgpio are installed; without hardware set"
        ' [sensor] kind = "simulated"'
    )
    chatter = io.StringIO()
    try:
        # Blinka prints "WARNING: ... not fully supported" on import off a Pi.
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            import adafruit_dht
            import board

            board_pin = getattr(board, f"D{pin}", None)
            if board_pin is None:
                raise SensorError(
                    hint.format(f"this board has no pin D{pin} (is this a Raspberry Pi?)")
                )
            cls = adafruit_dht.DHT22 if model == "dht22" else adafruit_dht.DHT11
            return cls(board_pin, use_pulseio=use_pulseio)
    except SensorError:
        raise
    except Exception as exc:  # ImportError, NotImplementedError, RuntimeError, OSError ...
        detail = str(exc).strip() or type(exc).__name__
        raise SensorError(hint.format(detail)) from None


def open_sensor(config: Config, clock, *, device: Any = None) -> Sensor:
    """The configured sensor; ``device`` injects a (fake) adafruit device for DHT kinds.

    Raises SensorError with a one-line explanation when the hardware is absent.
    """
    s = config.sensor
    if s.kind == "simulated":
        return SimulatedSensor(clock, config.node.timezone, s.seed, s.failure_rate)
    if device is None:
        device = _open_dht_device(s.kind, s.pin, s.use_pulseio)
    return DhtSensor(device, s.kind)
