"""`python -m monitor.cli.smoke --config PATH`: load the configured sensor and GPIO stack
the way `bedside monitor` does, and say loudly what is missing and how to fix it.

scripts/install-pi.sh runs it last, as the service user, in the service's venv, with the
unit's Environment= lines, so a stack that cannot work fails the install instead of the
first night.  It opens no pin: it imports the sensor driver (Blinka: adafruit_dht and
board exactly as the daemon does; kernel: finds the IIO device) and creates gpiozero's
default pin factory (lgpio on a Pi, which also proves its FIFO directory is writable).
Exit 0 when everything loads, 1 with a ``fix:`` line per problem.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from monitor.config import ConfigError, load

LGPIO_FIX = (
    "Raspberry Pi OS: sudo apt install python3-lgpio (the venv has --system-site-packages);"
    " Python 3.11/3.12: pip install 'lgpio>=0.2.2,<0.3'; and the user in group gpio"
)


def check(config) -> tuple[list[str], list[tuple[str, str]]]:
    """(what loaded, [(problem, fix)])."""
    from monitor.cli.doctor import PlatformPaths, overlay_setting, sensor_fix
    from monitor.daemon.loop import uses_gpio
    from monitor.sensing.drivers import (
        choose_driver,
        find_iio_dht,
        import_blinka_dht,
    )

    loaded: list[str] = []
    problems: list[tuple[str, str]] = []
    s = config.sensor
    if s.kind == "simulated":
        loaded.append("simulated sensor: no driver")
    else:
        driver, why = choose_driver(config)
        if driver == "kernel":
            device = find_iio_dht(s.iio_root, s.pin)
            conf, lines = overlay_setting(PlatformPaths())
            if device is not None:
                loaded.append(f"kernel dht11 driver ({why}): {device}")
            elif lines:
                loaded.append(
                    f"kernel dht11 driver: {lines[0]} is in {conf}; its device appears after"
                    " a reboot (sudo reboot)"
                )
            else:
                problems.append(
                    (
                        f"kernel dht11 driver ({why}): no dht11 device and no overlay",
                        sensor_fix("no IIO device named dht11", s.pin),
                    )
                )
        else:
            try:
                adafruit_dht, board = import_blinka_dht()
                if getattr(board, f"D{s.pin}", None) is None:
                    raise RuntimeError(f"board has no pin D{s.pin}: is this a Raspberry Pi?")
                loaded.append(f"Blinka driver ({why}): {adafruit_dht.__name__}, board D{s.pin}")
            except Exception as exc:  # ImportError, RuntimeError (a missing binding) ...
                message = str(exc).strip() or type(exc).__name__
                problems.append((f"Blinka driver ({why}): {message}", sensor_fix(message, s.pin)))
    if uses_gpio(config):
        _check_pin_library(loaded, problems)
    return loaded, problems


def _check_pin_library(loaded: list[str], problems: list[tuple[str, str]]) -> None:
    """gpiozero's pin library: off a Pi (an image build, a chroot: no GPIO chip to open) it
    must import; on a Pi, the factory the service will use must load."""
    from monitor.sensing.drivers import is_raspberry_pi

    if not is_raspberry_pi() and not os.environ.get("GPIOZERO_PIN_FACTORY"):
        try:
            import lgpio  # noqa: F401
        except ImportError as exc:
            problems.append((f"gpiozero's pin library lgpio cannot be imported: {exc}", LGPIO_FIX))
        else:
            loaded.append(
                "gpiozero's pin library: lgpio imports (not a Raspberry Pi: its GPIO chip is"
                " opened on the Pi)"
            )
        return
    try:
        from gpiozero import Device

        with warnings.catch_warnings(record=True) as fallbacks:
            warnings.simplefilter("always")
            factory = Device._default_pin_factory()
        try:
            name = type(factory).__name__
            if name == "NativeFactory":  # no lgpio, no RPi.GPIO: not on a Pi 5
                raise RuntimeError(
                    "only gpiozero's native factory loaded: "
                    + "; ".join(str(w.message) for w in fallbacks)
                )
            loaded.append(f"gpiozero pin factory: {name}")
        finally:
            factory.close()
    except Exception as exc:
        problems.append((f"gpiozero cannot drive the button/LED/buzzer pins: {exc}", LGPIO_FIX))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.cli.smoke")
    parser.add_argument("--config", help="the config file (default: as bedside finds it)")
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print("smoke: FAIL: the configuration is not valid", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    loaded, problems = check(config)
    for line in loaded:
        print(f"smoke: ok: {line}", flush=True)
    for problem, fix in problems:
        print(f"smoke: FAIL: {problem}\n  fix: {fix}", file=sys.stderr, flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
