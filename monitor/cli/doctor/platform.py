"""Platform and driver checks: which Pi, which OS, which sensor driver, which GPIO bindings."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.cli.doctor.common import FAIL, OK, SKIP, WARN, Result, _user
from monitor.config import Config


@dataclass(frozen=True)
class PlatformPaths:
    """Where the platform facts live; tests hand in a fake root."""

    model: Path = Path("/proc/device-tree/model")
    os_release: Path = Path("/etc/os-release")
    # Bookworm and later mount the boot partition at /boot/firmware; older releases at /boot.
    boot_configs: tuple[Path, ...] = (Path("/boot/firmware/config.txt"), Path("/boot/config.txt"))
    dev: Path = Path("/dev")

    @classmethod
    def under(cls, root: str | os.PathLike) -> PlatformPaths:
        """The same paths below ``root`` (a fake /)."""
        base = Path(root)
        default = cls()
        return cls(
            model=base / str(default.model).lstrip("/"),
            os_release=base / str(default.os_release).lstrip("/"),
            boot_configs=tuple(base / str(p).lstrip("/") for p in default.boot_configs),
            dev=base / "dev",
        )


def pi_model(paths: PlatformPaths) -> str | None:
    """'Raspberry Pi 4 Model B Rev 1.4', or None off a Pi."""
    try:
        text = paths.model.read_text(encoding="utf-8", errors="replace").strip("\x00\n ")
    except OSError:
        return None
    return text if "raspberry pi" in text.lower() else None


def pi_family(model: str | None) -> str | None:
    """'5', '4', '3', 'zero2', 'zero', ... from the model string (None off a Pi)."""
    if not model:
        return None
    low = model.lower()
    if "zero 2" in low:
        return "zero2"
    if "zero" in low:
        return "zero"
    for family in ("500", "400", "5", "4", "3", "2"):
        if f"raspberry pi {family}" in low or f"compute module {family}" in low:
            return {"500": "5", "400": "4"}.get(family, family)
    return "other"


def os_release(paths: PlatformPaths) -> dict[str, str]:
    out = {}
    try:
        for line in paths.os_release.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip()] = value.strip().strip('"')
    except OSError:
        pass
    return out


def overlay_setting(paths: PlatformPaths) -> tuple[Path | None, list[str]]:
    """(the config.txt in use, its active dtoverlay=dht11 lines)."""
    for path in paths.boot_configs:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines = [
            line.strip() for line in text.splitlines() if line.strip().startswith("dtoverlay=dht11")
        ]
        return path, lines
    return None, []


def _overlay_pin(line: str) -> int:
    """The BCM pin of a dtoverlay=dht11[,gpiopin=N] line (the overlay's default is 4)."""
    for part in line.split(",")[1:]:
        key, _, value = part.partition("=")
        if key.strip() == "gpiopin":
            try:
                return int(value.split("#")[0].strip(), 0)
            except ValueError:
                return -1
    return 4


def check_platform(config: Config, paths: PlatformPaths | None = None) -> Result:
    """The Pi model and the OS release; a DHT off a Pi is a warning."""
    paths = paths or PlatformPaths()
    model = pi_model(paths)
    release = os_release(paths)
    osname = release.get("PRETTY_NAME") or "unknown OS (no /etc/os-release)"
    if model is None:
        if config.sensor.kind == "simulated":
            return Result("platform", OK, f"not a Raspberry Pi ({osname}): simulated sensor")
        return Result(
            "platform",
            WARN,
            f"not a Raspberry Pi ({osname}), but [sensor] kind = {config.sensor.kind!r}",
            'run bedside on the Pi the sensor is wired to, or set [sensor] kind = "simulated"',
        )
    detail = f"{model}; {osname}"
    codename = release.get("VERSION_CODENAME", "")
    if codename and codename not in ("bookworm", "trixie"):
        return Result(
            "platform",
            WARN,
            f"{detail}: bedside is tested on Bookworm and Trixie only",
            "flash a current Raspberry Pi OS (Bookworm or Trixie), then sudo scripts/install-pi.sh",
        )
    return Result("platform", OK, detail)


def _find_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_driver(
    config: Config,
    paths: PlatformPaths | None = None,
    find_module: Callable[[str], bool] = _find_module,
    dist_version: Callable[[str], str | None] = _dist_version,
) -> Result:
    """The sensor driver in use and why; the overlay for the kernel's, the stack for Blinka's."""
    from monitor.sensing.drivers import choose_driver, find_iio_dht

    if config.sensor.kind == "simulated":
        return Result("driver", SKIP, "simulated sensor: no driver")
    paths = paths or PlatformPaths()
    pin = config.sensor.pin
    driver, why = choose_driver(config)
    config_txt, lines = overlay_setting(paths)
    where = str(config_txt or paths.boot_configs[0])
    wanted = f"dtoverlay=dht11,gpiopin={pin}"
    overlay_fix = (
        f"add the line {wanted} to {where} (sudo scripts/install-pi.sh --driver kernel does it),"
        " then sudo reboot"
    )
    family = pi_family(pi_model(paths))
    wrong_pin = [line for line in lines if _overlay_pin(line) != pin]
    if wrong_pin:
        return Result(
            "driver",
            FAIL,
            f"{where} has {wrong_pin[0]}, but [sensor] pin = {pin}",
            f"make the two agree: change the line to {wanted} and reboot, or set [sensor] pin",
        )
    if driver == "kernel":
        device = find_iio_dht(config.sensor.iio_root, pin)
        if device is None and lines:
            return Result(
                "driver",
                FAIL,
                f"kernel dht11 driver ({why}): {lines[0]} is in {where}, but no dht11 device"
                f" exists under {config.sensor.iio_root}",
                "sudo reboot (the overlay loads at boot); if it is still missing, check"
                " `dmesg | grep dht11`",
            )
        if device is None:
            return Result(
                "driver",
                FAIL,
                f"kernel dht11 driver ({why}): no overlay in {where} and no dht11 device",
                overlay_fix,
            )
        overlay = f"{lines[0]} in {where}" if lines else f"no dtoverlay=dht11 line in {where}"
        return Result("driver", OK, f"kernel dht11 driver ({why}); {device.name}; {overlay}")
    # Blinka
    missing = [m for m in ("adafruit_dht", "board", "gpiod") if not find_module(m)]
    if missing:
        return Result(
            "driver",
            FAIL,
            f"Blinka driver ({why}): {', '.join(missing)} not installed",
            "sudo scripts/install-pi.sh --driver blinka (installs bedside[pi] and gpiod), or"
            f" better the kernel driver: {overlay_fix}",
        )
    gpiod = dist_version("gpiod")
    blinka = dist_version("Adafruit-Blinka") or "?"
    stack = f"Blinka {blinka}, gpiod {gpiod or '(Debian python3-libgpiod)'}"
    pulseio = config.sensor.use_pulseio
    if family == "5" and pulseio is False:
        return Result(
            "driver",
            WARN,
            f"Blinka driver ({why}; {stack}) with use_pulseio = false: bit-banging fails on a Pi 5",
            'set [sensor] use_pulseio = "auto" (the library uses its pulseio helper on a Pi)',
        )
    if family in ("zero", "zero2"):
        return Result(
            "driver",
            WARN,
            f"Blinka driver ({why}; {stack}) on a Pi Zero: Adafruit warns its readings are"
            " unreliable there",
            f"use the kernel driver, which times the pulses from interrupts: {overlay_fix}",
        )
    if pulseio is False:
        return Result(
            "driver",
            WARN,
            f"Blinka driver ({why}; {stack}) with use_pulseio = false: bit-banging gives more"
            " checksum errors",
            'set [sensor] use_pulseio = "auto", or use the kernel driver: ' + overlay_fix,
        )
    return Result("driver", OK, f"Blinka driver ({why}); {stack}, use_pulseio = {pulseio!r}")


def _identity() -> tuple[str, int, set[str]]:
    """(user name, effective uid, names of this process's groups)."""
    import grp

    names = set()
    for gid in os.getgroups():
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return _user(), os.geteuid(), names


def check_gpio(
    config: Config,
    paths: PlatformPaths | None = None,
    identity: Callable[[], tuple[str, int, set[str]]] = _identity,
    find_module: Callable[[str], bool] = _find_module,
) -> list[Result]:
    """On a Pi: the GPIO character devices, the gpio group, gpiozero's pin library."""
    paths = paths or PlatformPaths()
    model = pi_model(paths)
    if model is None:
        return [Result("gpio", SKIP, "not a Raspberry Pi")]
    results = []
    chips = sorted(p.name for p in paths.dev.glob("gpiochip*"))
    user, euid, names = identity()
    if not chips:
        results.append(
            Result(
                "gpio",
                FAIL,
                f"no /dev/gpiochip* on this {model}",
                "use a Raspberry Pi OS kernel (Bookworm or Trixie); the GPIO character devices"
                " come with it",
            )
        )
    elif euid != 0 and "gpio" not in names:
        results.append(
            Result(
                "gpio",
                FAIL,
                f"{user} is not in group gpio: {', '.join(chips)} cannot be opened",
                f"sudo usermod -aG gpio {user}, then log in again (the service user bedside"
                " gets it from the installer)",
            )
        )
    else:
        results.append(Result("gpio", OK, f"{', '.join(chips)}; {user} may use them"))
    needs_pins = config.button.enabled or config.led.pin is not None or config.buzzer.pin
    if needs_pins:
        if find_module("lgpio"):
            results.append(Result("gpio", OK, "gpiozero's pin library: lgpio"))
        elif pi_family(model) != "5" and find_module("RPi.GPIO"):
            results.append(
                Result("gpio", OK, "gpiozero's pin library: RPi.GPIO (lgpio not installed)")
            )
        else:
            results.append(
                Result(
                    "gpio",
                    FAIL,
                    "no pin library for gpiozero (lgpio): the button, LED and buzzer cannot work",
                    "Raspberry Pi OS: sudo apt install python3-lgpio and a venv with"
                    " --system-site-packages (sudo scripts/install-pi.sh does both);"
                    " Python 3.11/3.12: pip install 'lgpio>=0.2.2,<0.3'",
                )
            )
    return results
