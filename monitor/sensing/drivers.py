"""Sensors: a DHT22/DHT11 through the kernel's IIO dht11 driver or adafruit_dht, or a
simulated room.

A Sensor has ``read() -> (temperature °C | None, humidity % | None)`` that
raises ``RuntimeError`` when one read fails (adafruit_dht's messages, or the
kernel driver's errno explained) and :class:`SensorError` when the sensor is
gone; and ``close()``.  Retrying, filtering and health live in
monitor/sensing/sampler.py, not here.

Drivers (``[sensor] driver``):

- ``kernel``: the Linux IIO ``dht11`` driver (``dtoverlay=dht11,gpiopin=N``; it
  decodes DHT22/AM2302 too).  The kernel times the pulses from interrupts, so it
  works where a Python process is descheduled mid-read (a Pi Zero 2 W).  The
  device is the folder under ``[sensor] iio_root`` whose device-tree node is
  ``compatible = "dht11"`` or whose platform device is bound to the ``dht11``
  driver (a custom overlay's node may have any name), else whose ``name`` starts
  with ``dht11``; its pin comes from the node's ``gpios`` property, else from the
  node name (``dht11@4`` on current Pi kernels, ``dht11@0`` whatever the pin on
  older ones).  ``in_temp_input`` is milli-°C, ``in_humidityrelative_input`` milli-%RH.
- ``blinka``: adafruit_dht on Adafruit-Blinka (libgpiod).  adafruit_dht and
  ``board`` are imported lazily inside :func:`open_sensor`: importing ``board``
  off a Raspberry Pi prints warnings or raises, which must never break the demo
  or the tests; Blinka's interactive dependency prompt is switched off, and the
  SIGTERM handler its PulseIn module installs on import is undone.
- ``auto``: the kernel driver when its device exists, else Blinka.

:class:`ReopeningSensor` is what the daemon reads: a sensor that cannot be
opened, or that disappears, is retried with backoff while everything else goes
on.  ``FakeDhtDevice`` stands in for the adafruit device object so DhtSensor's
real code path is tested without hardware.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import random
import re
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from monitor.config import Config

log = logging.getLogger("monitor.sensing.drivers")

# The messages adafruit_dht 4.x raises (as RuntimeError) when a read fails.
CHECKSUM_ERROR = "Checksum did not validate. Try again."
BUFFER_ERROR = "A full buffer was not returned. Try again."
WIRING_ERROR = "DHT sensor not found, check wiring"
PLAUSIBILITY_ERROR = "Received unplausible data. Try again."  # humidity outside 0..100
DRIVER_ERRORS = (CHECKSUM_ERROR, BUFFER_ERROR, WIRING_ERROR)  # what the simulated sensor raises
# Raised by adafruit_dht when it is not on Linux and bit-banging was asked for.
BITBANG_ERROR = "Bitbanging is not supported when using CircuitPython."
# Every message adafruit_dht 4.0.12 raises itself.
DHT_LIBRARY_ERRORS = (WIRING_ERROR, BUFFER_ERROR, CHECKSUM_ERROR, PLAUSIBILITY_ERROR, BITBANG_ERROR)
# Blinka's bcm283x PulseIn, when its libgpiod_pulsein helper does not answer.
PULSEIN_TIMEOUT = "Timed out waiting for PulseIn message"

IIO_ROOT = "/sys/bus/iio/devices"
KERNEL_NAME = "dht11"  # the driver, its DT compatible, and the node name of Pi overlays
TEMP_FILE = "in_temp_input"  # milli-°C
HUMIDITY_FILE = "in_humidityrelative_input"  # milli-%RH
# What the kernel's dht11 driver (drivers/iio/humidity/dht11.c) means by a read's errno.
KERNEL_ERRNO_MEANING = {
    errno.EIO: "checksum mismatch, lost sync or undecodable data (noise on the data line)",
    errno.ETIMEDOUT: "the sensor did not answer (too few signal edges: wiring, power, pin)",
    errno.EAGAIN: "the kernel's timer resolution is too coarse to decode the sensor",
}
# Before Raspberry Pi's fix of November 2024 (raspberrypi/linux #6454) dht11.c decoded a
# DHT11 only when both decimal bytes were 0; newer DHT11s send tenths, so every read fails
# with EIO and dmesg says "Don't know how to decode data".  After this many reads in a row,
# all EIO and none good since the device was opened, a DHT11's error names that cause.
DHT11_DECODE_READS = 3
DHT11_DECODE_CAUSE = (
    "a DHT11 that sends decimal bytes cannot be decoded by kernels from before Raspberry"
    " Pi's fix of November 2024 (raspberrypi/linux #6454; dmesg: \"Don't know how to decode"
    " data\"): a Raspberry Pi OS kernel from after that decodes it; on plain Debian's"
    " kernel, use the Blinka driver"
)


class SensorError(Exception):
    """The sensor cannot be opened at all, or is gone (message says what to do)."""


class SensorUnavailable(RuntimeError):
    """A read while the sensor is not open (it failed to open or vanished; reopening later)."""


class KernelReadError(RuntimeError):
    """A read of the kernel driver failed; ``errno`` is the kernel's reason."""

    def __init__(self, message: str, errno_: int | None):
        super().__init__(message)
        self.errno = errno_


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


# -- the kernel's IIO dht11 driver ---------------------------------------------------------


def _natural(path: Path) -> tuple:
    """iio:device2 before iio:device10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.name))


def _of_node(entry: Path) -> Path | None:
    """The device-tree node of an IIO device (its own of_node link, else its parent's)."""
    for candidate in (entry / "of_node", entry.resolve().parent / "of_node"):
        if candidate.is_dir():
            return candidate
    return None


def _is_dht11(entry: Path, name: str) -> bool:
    """compatible = "dht11" in the device tree, or bound to the dht11 driver, or the name."""
    node = _of_node(entry)
    if node is not None:
        try:
            compatible = (node / "compatible").read_bytes().split(b"\0")
        except OSError:
            compatible = []
        if KERNEL_NAME.encode() in compatible:
            return True
    driver = entry.resolve().parent / "driver"
    if driver.is_symlink() and Path(os.readlink(driver)).name == KERNEL_NAME:
        return True
    return name.startswith(KERNEL_NAME)


def iio_dht_devices(iio_root: str | os.PathLike = IIO_ROOT) -> list[tuple[Path, str]]:
    """Every IIO device of the dht11 driver, as (folder, name), in natural order."""
    try:
        entries = sorted(Path(iio_root).iterdir(), key=_natural)
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            name = (entry / "name").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if _is_dht11(entry, name):
            found.append((entry, name))
    return found


def dt_gpio_pin(entry: Path) -> int | None:
    """The pin in the node's ``gpios`` property: big-endian u32 cells <phandle pin flags>."""
    node = _of_node(entry)
    if node is None:
        return None
    try:
        cells = (node / "gpios").read_bytes()
    except OSError:
        return None
    if len(cells) < 8:
        return None
    return int.from_bytes(cells[4:8], "big")


def _node_pin(name: str) -> int | None:
    """The GPIO in a node name such as dht11@11 (hex: GPIO17); None for dht11 or dht11@0."""
    _, _, address = name.partition("@")
    try:
        return int(address, 16) or None
    except ValueError:
        return None


def device_pin(entry: Path, name: str) -> int | None:
    """The device's GPIO: from the device tree when it is there, else from the node name."""
    pin = dt_gpio_pin(entry)
    return pin if pin is not None else _node_pin(name)


def find_iio_dht(iio_root: str | os.PathLike = IIO_ROOT, pin: int | None = None) -> Path | None:
    """The kernel driver's device folder: the one on ``pin`` if it can tell, else the first."""
    devices = iio_dht_devices(iio_root)
    if not devices:
        return None
    for path, name in devices:
        if pin is not None and device_pin(path, name) == pin:
            return path
    return devices[0][0]


class KernelDhtSensor:
    """A DHT22/DHT11 read through the kernel's IIO dht11 driver (sysfs files).

    The kernel measures on the first file read and serves both files from that
    measurement for 2 s, so temperature and humidity come from one sample.
    ``opener`` is ``open`` (tests hand in files that fail the way the driver does).
    """

    def __init__(self, device_dir: str | os.PathLike, model: str, opener: Callable = open):
        self.device = Path(device_dir)
        self.model = model
        self._open = opener
        self._good = False  # a read has succeeded since the device was opened
        self._eio_run = 0  # reads in a row that failed with EIO
        self._cause_logged = False

    def _undecodable_dht11(self) -> bool:
        """Every read so far failed with EIO, on a DHT11: the old kernels' decoding gap."""
        return self.model == "dht11" and not self._good and self._eio_run >= DHT11_DECODE_READS

    def _value(self, filename: str) -> float:
        path = self.device / filename
        try:
            with self._open(path, "rb", buffering=0) as f:
                raw = f.read()
        except OSError as exc:
            code = exc.errno
            if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
                raise SensorError(
                    f"the kernel's dht11 device {self.device} is gone ({os.strerror(code)})"
                ) from None
            name = errno.errorcode.get(code, "OSError") if code is not None else "OSError"
            meaning = KERNEL_ERRNO_MEANING.get(code, exc.strerror or str(exc))
            self._eio_run = self._eio_run + 1 if code == errno.EIO else 0
            if self._undecodable_dht11():
                meaning = f"every read so far ({self._eio_run}); likely cause: {DHT11_DECODE_CAUSE}"
                if not self._cause_logged:
                    self._cause_logged = True
                    log.warning(
                        "sensor: the kernel's dht11 driver failed every read with EIO: %s;"
                        " update the kernel (sudo apt full-upgrade, then reboot) or set [sensor]"
                        ' driver = "blinka"',
                        DHT11_DECODE_CAUSE,
                    )
            raise KernelReadError(
                f"kernel dht11 driver: {name} reading {filename}: {meaning}", code
            ) from None
        try:
            return int(raw.strip()) / 1000
        except ValueError:
            raise KernelReadError(
                f"kernel dht11 driver: {filename} holds {raw[:40]!r}, not a number", None
            ) from None

    def read(self) -> tuple[float | None, float | None]:
        temperature = self._value(TEMP_FILE)
        humidity = self._value(HUMIDITY_FILE)
        self._good, self._eio_run = True, 0
        return temperature, humidity

    def close(self) -> None:
        pass


# -- Blinka -----------------------------------------------------------------------------


def is_raspberry_pi(model_path: str | os.PathLike = "/proc/device-tree/model") -> bool:
    try:
        with open(model_path, encoding="utf-8", errors="replace") as f:
            return "raspberry pi" in f.read().lower()
    except OSError:
        return False


@contextlib.contextmanager
def keep_signal_handlers(signums: Iterable[int] = (signal.SIGTERM, signal.SIGINT)):
    """Undo any SIGTERM/SIGINT handler installed inside the block.

    Blinka's bcm283x PulseIn installs one on import (cleanup, then ``SystemExit(1)``):
    left in place, ``systemctl stop`` would end the daemon as failed and skip its
    shutdown.  Ours stays; closing the sensor stops the helper process instead.
    """
    before = {signum: signal.getsignal(signum) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in before.items():
            if handler is None or signal.getsignal(signum) is handler:
                continue
            try:
                signal.signal(signum, handler)
            except ValueError:  # not the main thread: nobody could have replaced it either
                continue
            log.debug("restored the %s handler a driver replaced", signal.Signals(signum).name)


def import_blinka_dht():
    """Import adafruit_dht and board as the daemon does: no prompt, our signal handlers kept.

    Blinka 10 checks its platform dependencies on import and, on a terminal, offers to
    pip-install them (default Yes): never in a service.
    """
    os.environ["BLINKA_SKIP_DEPENDENCY_CHECK"] = "1"
    with keep_signal_handlers():
        import adafruit_dht
        import board
    return adafruit_dht, board


def _open_dht_device(model: str, pin: int, use_pulseio: bool | str):
    """Create the adafruit device; importing board off a Pi is turned into SensorError."""
    hint = (
        f"cannot open the {model.upper()} on GPIO{pin} through Blinka: {{}}. On a Raspberry Pi"
        f" use the kernel driver (dtoverlay=dht11,gpiopin={pin}, sudo scripts/install-pi.sh"
        " --driver kernel) or install bedside[pi] (Blinka, gpiod); without hardware set"
        ' [sensor] kind = "simulated"'
    )
    chatter = io.StringIO()
    try:
        # Blinka prints "WARNING: ... not fully supported" on import off a Pi.
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            adafruit_dht, board = import_blinka_dht()
            board_pin = getattr(board, f"D{pin}", None)
            if board_pin is None:
                raise SensorError(
                    hint.format(f"this board has no pin D{pin} (is this a Raspberry Pi?)")
                )
            cls = adafruit_dht.DHT22 if model == "dht22" else adafruit_dht.DHT11
            if use_pulseio == "auto":  # the library's choice: pulseio on a detected Pi
                return cls(board_pin)
            return cls(board_pin, use_pulseio=bool(use_pulseio))
    except SensorError:
        raise
    except Exception as exc:  # ImportError, NotImplementedError, RuntimeError, OSError ...
        detail = str(exc).strip() or type(exc).__name__
        raise SensorError(hint.format(detail)) from None


# -- choosing and opening -----------------------------------------------------------------


def choose_driver(config: Config) -> tuple[str, str]:
    """("kernel" | "blinka", why) for a DHT; ``auto`` looks for the kernel's device."""
    s = config.sensor
    if s.driver != "auto":
        return s.driver, f'[sensor] driver = "{s.driver}"'
    device = find_iio_dht(s.iio_root, s.pin)
    if device is not None:
        return "kernel", f"auto: the kernel's dht11 device {device} exists"
    return "blinka", f"auto: no dht11 device under {s.iio_root} (no dtoverlay=dht11 loaded)"


def open_sensor(config: Config, clock, *, device: Any = None) -> Sensor:
    """The configured sensor; ``device`` injects a (fake) adafruit device for DHT kinds.

    Raises SensorError with a one-line explanation when the hardware is absent.
    """
    s = config.sensor
    if s.kind == "simulated":
        return SimulatedSensor(clock, config.node.timezone, s.seed, s.failure_rate)
    if device is not None:
        return DhtSensor(device, s.kind)
    driver, _why = choose_driver(config)
    if driver == "kernel":
        path = find_iio_dht(s.iio_root, s.pin)
        if path is None:
            raise SensorError(
                f"cannot open the {s.kind.upper()} on GPIO{s.pin} through the kernel driver:"
                f" no {KERNEL_NAME} IIO device under {s.iio_root} (is dtoverlay=dht11 loaded?). Add"
                f" dtoverlay=dht11,gpiopin={s.pin} to /boot/firmware/config.txt and reboot"
                " (sudo scripts/install-pi.sh --driver kernel does both), or set"
                ' [sensor] driver = "blinka"'
            )
        return KernelDhtSensor(path, s.kind)
    return DhtSensor(_open_dht_device(s.kind, s.pin, s.use_pulseio), s.kind)


class ReopeningSensor:
    """The daemon's sensor: opened on demand, reopened with backoff, never fatal.

    A sensor that cannot be opened, or that disappears (its read raises
    SensorError), is closed and tried again after 5, 10, 20 ... up to
    ``MAX_BACKOFF_S`` seconds; meanwhile ``read`` raises :class:`SensorUnavailable`
    at once.  The first failure is logged as an error, later ones at most every
    ``LOG_EVERY_S``; the open after failures is logged once.
    """

    FIRST_BACKOFF_S = 5.0
    MAX_BACKOFF_S = 300.0
    LOG_EVERY_S = 300.0

    def __init__(self, opener: Callable[[], Sensor], clock, logger: logging.Logger = log):
        self.opener = opener
        self.clock = clock
        self.log = logger
        self.sensor: Sensor | None = None
        self.failures = 0  # failed opens since the sensor was last open
        self.last_error: str | None = None
        self._next_try: float | None = None
        self._logged_at: float | None = None

    def _backoff(self) -> float:
        return min(self.MAX_BACKOFF_S, self.FIRST_BACKOFF_S * 2 ** max(0, self.failures - 1))

    def _failed(self, message: str, what: str) -> None:
        now = self.clock.monotonic()
        self.failures += 1
        self.last_error = message
        wait = self._backoff()
        self._next_try = now + wait
        if self._logged_at is None:
            self._logged_at = now
            self.log.error(
                "sensor: %s: %s; the button, alerts and MQTT go on without it; retrying in"
                " %g s, then less often (logged again at most every %g min)",
                what,
                message,
                wait,
                self.LOG_EVERY_S / 60,
            )
        elif now - self._logged_at >= self.LOG_EVERY_S:
            self._logged_at = now
            self.log.warning(
                "sensor: still unavailable after %d attempts: %s; next try in %g s",
                self.failures,
                message,
                wait,
            )

    def try_open(self) -> bool:
        """Open now if it is time to; True when a sensor is open."""
        if self.sensor is not None:
            return True
        if self._next_try is not None and self.clock.monotonic() < self._next_try:
            return False
        try:
            self.sensor = self.opener()
        except Exception as exc:  # SensorError, or a driver's own failure: never fatal here
            self._failed(str(exc).strip() or type(exc).__name__, "cannot open the sensor")
            return False
        if self.failures:
            self.log.info("sensor: opened after %d failed attempts", self.failures)
        self.failures = 0
        self._next_try = self._logged_at = None
        return True

    def read(self) -> tuple[float | None, float | None]:
        if not self.try_open():
            raise SensorUnavailable(f"sensor unavailable: {self.last_error}")
        assert self.sensor is not None
        try:
            return self.sensor.read()
        except SensorError as exc:  # it vanished: reopen later
            self.close()
            self._failed(str(exc), "the sensor disappeared")
            raise SensorUnavailable(f"sensor unavailable: {exc}") from None

    def close(self) -> None:
        sensor, self.sensor = self.sensor, None
        if sensor is not None:
            try:
                sensor.close()
            except Exception:  # pragma: no cover - best effort on the way out
                log.debug("closing the sensor failed", exc_info=True)
