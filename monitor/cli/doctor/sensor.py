"""Sensor and button checks: a few real reads, a pin opened; a fix for each known error."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from monitor.cli.doctor.common import FAIL, OK, SKIP, WARN, Result, _gpio
from monitor.clock import SystemClock
from monitor.config import Config
from monitor.store import Store, StoreError

_ERRNO_NAMES = ("ETIMEDOUT", "EIO", "EAGAIN")  # matched as whole words, case and all
_SENSOR_FIXES = (
    (
        "DHT sensor not found",
        "check the wiring: data to {gpio}, VCC to 3.3 V (pin 1), GND (pin 6), and a "
        "10 kΩ pull-up from data to 3.3 V (modules usually have one)",
    ),
    (
        "Timed out waiting for PulseIn message",
        "the libgpiod_pulsein helper did not answer: end a stale one (`pgrep -a"
        " libgpiod_pulsein`), check that you are in group gpio; on a Pi 4 or older"
        " set use_pulseio = false in [sensor] (not on a Pi 5, where bit-banging fails);"
        " better, the kernel driver: dtoverlay=dht11,gpiopin={pin}, then reboot",
    ),
    (
        "Unable to set line",
        "another process holds {gpio} (a running bedside-monitor or a stale "
        "libgpiod_pulsein: `sudo systemctl stop bedside-monitor`), or [sensor] pin is wrong",
    ),
    (
        "Checksum did not validate",
        "noise on the data line: shorten the cable (under ~1 m without a stronger pull-up) "
        "and keep it away from mains wiring",
    ),
    (
        "A full buffer was not returned",
        "the sensor answers only partly: check the pull-up and power it from 3.3 V",
    ),
    (
        "Received unplausible data",
        "the sensor sent humidity outside 0–100 %: a DHT11 configured as dht22 (or the"
        " reverse)? check [sensor] kind; otherwise noise, as for checksum errors",
    ),
    (
        "Bitbanging is not supported",
        'not on Linux with use_pulseio = false: run on the Pi and set use_pulseio = "auto"',
    ),
    (
        "Don't know how to decode data",
        "update the kernel, which decodes such a DHT11 since Raspberry Pi's fix of November"
        " 2024: sudo apt update && sudo apt full-upgrade, then sudo reboot (`sudo dmesg | grep"
        ' dht11` shows "Don\'t know how to decode data" when this is the cause); or read it'
        ' through Blinka: [sensor] driver = "blinka" (sudo scripts/install-pi.sh --driver blinka)',
    ),
    (
        "ETIMEDOUT",
        "the sensor did not answer the kernel driver: check the wiring on {gpio} (3.3 V, GND,"
        " pull-up) and that the overlay's gpiopin is {pin}",
    ),
    (
        "EIO",
        "the kernel driver got a bad checksum or lost sync: noise on the data line; shorten"
        " the cable, add a 4.7–10 kΩ pull-up, keep it away from mains wiring",
    ),
    (
        "EAGAIN",
        "the kernel's clock resolution is too coarse for the dht11 driver: use a Raspberry"
        " Pi OS kernel",
    ),
    (
        "no IIO device named dht11",
        "add dtoverlay=dht11,gpiopin={pin} to /boot/firmware/config.txt and reboot (sudo"
        ' scripts/install-pi.sh --driver kernel does it), or set [sensor] driver = "blinka"',
    ),
    (
        "platform library 'gpiod' was not found",
        "install the gpiod binding Blinka 10 needs: sudo scripts/install-pi.sh --driver blinka"
        " (bedside[pi]: gpiod>=2.2.2,<3; on 32-bit: apt install python3-libgpiod), or use"
        " the kernel driver (dtoverlay=dht11,gpiopin={pin})",
    ),
    (
        "unsupported versions",
        "reinstall: sudo scripts/install-pi.sh (it pins gpiod>=2.2.2,<3 for Blinka 10)",
    ),
    (
        "Cannot inspect Raspberry Pi GPIO controllers",
        "sudo usermod -aG gpio $USER and log in again (the service user gets it from the"
        " installer)",
    ),
)


def sensor_fix(message: str, pin: int) -> str:
    for needle, fix in _SENSOR_FIXES:
        if needle in _ERRNO_NAMES:
            found = re.search(rf"\b{needle}\b", message) is not None
        else:
            found = needle.lower() in message.lower()
        if found:
            return fix.format(gpio=_gpio(pin), pin=pin)
    return f"check the wiring on {_gpio(pin)} and [sensor] kind; see hardware.md, 'Known errors'"


def _open_sensor(config: Config, clock):
    from monitor.sensing.drivers import open_sensor

    return open_sensor(config, clock)


def _as_pair(value) -> tuple[float, float | None]:
    """(temperature, humidity) from a tuple or a Reading-like object.

    The driver sometimes returns None instead of raising: that read failed too.
    """
    if isinstance(value, tuple | list):
        temperature, humidity = value[0], value[1]
    else:
        temperature = getattr(value, "temperature_c", None)
        humidity = getattr(value, "humidity_pct", None)
    if temperature is None:
        raise RuntimeError("the driver returned no value")
    return float(temperature), None if humidity is None else float(humidity)


def check_sensor(config: Config, clock=None, opener=None, reads: int = 5) -> Result:
    """A few reads 2.5 s apart (a DHT needs 2 s); report the error rate and the fix."""
    clock = clock or SystemClock()
    opener = opener or _open_sensor
    kind, pin = config.sensor.kind, config.sensor.pin
    label = "simulated sensor" if kind == "simulated" else f"{kind} on {_gpio(pin)}"
    try:
        sensor = opener(config, clock)
    except ImportError as exc:
        return Result(
            "sensor",
            FAIL,
            f"{label}: the sensor driver cannot be loaded: {exc}",
            "reinstall with the Pi extras: sudo scripts/install-pi.sh --driver blinka "
            "(it installs bedside[pi]: Blinka, gpiod, lgpio), or use the kernel driver: "
            f"dtoverlay=dht11,gpiopin={pin} (sudo scripts/install-pi.sh --driver kernel)",
        )
    except Exception as exc:  # any driver failure is a finding, not a traceback
        message = str(exc) or type(exc).__name__
        return Result(
            "sensor", FAIL, f"{label}: cannot open the sensor: {message}", sensor_fix(message, pin)
        )
    errors: list[str] = []
    values: list[tuple[float, float | None]] = []
    try:
        for attempt in range(reads):
            if attempt and kind != "simulated":
                clock.sleep(2.5)
            try:
                values.append(_as_pair(sensor.read()))
            except Exception as exc:  # RuntimeError, OSError, SensorError (the device vanished)
                errors.append(str(exc) or type(exc).__name__)
    finally:
        try:
            sensor.close()
        except Exception:
            pass
    rate = f"{len(errors)}/{reads} reads failed"
    if not values:
        last = errors[-1] if errors else "no reading"
        return Result("sensor", FAIL, f"{label}: {rate}; last error: {last}", sensor_fix(last, pin))
    temp, hum = values[-1]
    shown = f"{temp:.1f} °C" + (f", {hum:.0f} %" if hum is not None else "")
    if len(errors) * 2 > reads:
        common = max(set(errors), key=errors.count)
        return Result(
            "sensor", WARN, f"{label}: {shown}; {rate} ({common})", sensor_fix(common, pin)
        )
    return Result("sensor", OK, f"{label}: {shown}; {rate}")


def sensor_in_daemon(config: Config, clock=None) -> Result:
    """When the daemon runs it holds the pin; judge the sensor by its newest reading."""
    clock = clock or SystemClock()
    try:
        with Store.open_readonly(config.storage.database) as store:
            newest = store.newest_reading(config.node.id)
    except StoreError as exc:
        return Result("sensor", FAIL, f"bedside-monitor runs, but: {exc}", "see check database")
    silent = config.sensor_silent_s
    if newest is None:
        return Result(
            "sensor",
            FAIL,
            "bedside-monitor runs but has stored no reading yet",
            "journalctl -u bedside-monitor -n 50; to test the sensor directly: "
            "sudo systemctl stop bedside-monitor && bedside doctor",
        )
    age = (clock.now_ms() - newest.ts_ms) / 1000
    if age > silent:
        return Result(
            "sensor",
            FAIL,
            f"bedside-monitor runs but its newest reading is {age / 60:.0f} min old",
            "journalctl -u bedside-monitor -n 50; to test the sensor directly: "
            "sudo systemctl stop bedside-monitor && bedside doctor",
        )
    return Result(
        "sensor",
        OK,
        f"bedside-monitor reads it: {newest.temperature_c:.1f} °C {age:.0f} s ago "
        "(stop the daemon to test the hardware directly)",
    )


# -- button -----------------------------------------------------------------------------


def check_button(
    config: Config,
    press: bool = False,
    timeout: float = 30.0,
    prompt: Callable[[str], None] | None = None,
) -> Result:
    """Open the button pin (pull-up, to ground); with press=True wait for a press.

    Pins as ``bedside monitor`` gets them (monitor.daemon.loop.choose_pin_factory): with
    the simulated sensor on a machine that is not a Raspberry Pi, gpiozero's mock pins,
    so the check passes where the daemon runs, instead of failing after gpiozero has
    warned once per GPIO library it tried (PinFactoryFallback, silenced here).
    """
    if not config.button.enabled:
        return Result("button", SKIP, "[button] enabled = false")
    pin = config.button.pin
    where = _gpio(pin)
    wiring = f"wire the button between {where} and GND (physical pin 9)"
    try:
        import warnings

        from gpiozero import Button
        from gpiozero.exc import BadPinFactory, GPIOPinInUse, PinFactoryFallback

        from monitor.daemon.loop import choose_pin_factory
    except ImportError:
        return Result("button", FAIL, "gpiozero is not installed", "pip install gpiozero")
    # GPIOZERO_PIN_FACTORY set: gpiozero's own default already follows it.
    factory = None if os.environ.get("GPIOZERO_PIN_FACTORY") else choose_pin_factory(config)
    mock = " (mock pins, as bedside monitor uses with the simulated sensor off a Pi)"
    note = mock if factory is not None else ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)
            button = Button(pin, pull_up=True, pin_factory=factory)
    except BadPinFactory as exc:
        return Result(
            "button",
            FAIL,
            f"no GPIO library for {where}: {exc}",
            "Raspberry Pi OS: sudo apt install python3-lgpio (the venv needs "
            "--system-site-packages; sudo scripts/install-pi.sh does both), or on Python "
            "3.11/3.12 pip install 'lgpio>=0.2.2,<0.3'",
        )
    except GPIOPinInUse:
        return Result(
            "button", FAIL, f"{where} is in use", "sudo systemctl stop bedside-monitor, then retry"
        )
    except Exception as exc:
        text = str(exc)
        if "busy" in text.lower():
            return Result(
                "button",
                FAIL,
                f"{where} is held by another process",
                "sudo systemctl stop bedside-monitor, then retry",
            )
        return Result("button", FAIL, f"cannot open {where}: {text}", wiring)
    try:
        if not press:
            if button.is_pressed:
                return Result(
                    "button",
                    WARN,
                    f"{where} reads pressed while nobody presses it",
                    f"{wiring} (not to 3.3 V); a stuck button reads pressed too",
                )
            return Result("button", OK, f"{where} readable (released){note}")
        (prompt or _print_prompt)(f"press the button on {where} now ({timeout:g} s)...")
        if button.wait_for_press(timeout=timeout):
            return Result("button", OK, f"{where}: press seen")
        return Result("button", FAIL, f"{where}: no press within {timeout:g} s", wiring)
    finally:
        button.close()
        if factory is not None:
            factory.close()


def _print_prompt(text: str) -> None:
    print(f"      {text}", flush=True)
