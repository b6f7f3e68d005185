"""`bedside doctor`: a self-test for a fresh install, with a fix for every failure.

Each check is a small function that returns a :class:`Result` (or a list of them);
:func:`run` prints them as ``OK`` / ``WARN`` / ``FAIL`` / ``SKIP`` lines, a
``fix:`` line under every problem, and exits non-zero when anything failed.
Hardware, processes and time are parameters so the tests can hand in twins.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.clock import RELEASE_DATE_MS, SystemClock
from monitor.config import Config
from monitor.store import Store, StoreError, is_corruption, recovery_advice

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
CHECKS = (
    "config",
    "database",
    "integrity",
    "future",
    "clock",
    "broker",
    "platform",
    "driver",
    "sensor",
    "gpio",
    "button",
    "units",
)
UNITS = ("bedside-monitor.service", "bedside-web.service", "bedside-report.timer")
MONITOR_UNIT = "bedside-monitor.service"
SYNC_FLAG = Path("/run/systemd/timesync/synchronized")
# Physical header pin of each BCM GPIO, for wiring hints.
HEADER_PIN = {
    2: 3, 3: 5, 4: 7, 5: 29, 6: 31, 7: 26, 8: 24, 9: 21, 10: 19, 11: 23, 12: 32, 13: 33,
    14: 8, 15: 10, 16: 36, 17: 11, 18: 12, 19: 35, 20: 38, 21: 40, 22: 15, 23: 16, 24: 18,
    25: 22, 26: 37, 27: 13,
}  # fmt: skip

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=15)


def _gpio(pin: int) -> str:
    return f"GPIO{pin} (physical pin {HEADER_PIN.get(pin, '?')})"


# -- config and database -------------------------------------------------------------


def check_config(config: Config) -> Result:
    """The CLI already loaded and validated it; say which file that was."""
    if config.source == "defaults":
        return Result(
            "config",
            WARN,
            "no config file: using the built-in defaults (simulated sensor)",
            "run sudo scripts/install-pi.sh, or `bedside config example > config.toml`, "
            "edit it, and pass --config or set BEDSIDE_CONFIG",
        )
    return Result("config", OK, f"{config.source} is valid")


def check_database(config: Config) -> Result:
    """Exists, is migrated to this version's schema, and takes a write lock."""
    path = Path(config.storage.database)
    user = _user()
    if not path.exists():
        parent = path.parent
        while not parent.exists():
            parent = parent.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            return Result(
                "database",
                FAIL,
                f"cannot find or create {path}: {parent} is not open to {user}",
                f"join the service's group: sudo usermod -aG bedside {user} (log in again), "
                f"or run `sudo bedside doctor`; a missing directory: "
                f"sudo install -d -o bedside -g bedside -m 0770 {path.parent}",
            )
        return Result(
            "database",
            WARN,
            f"{path} does not exist yet (the daemon creates it on its first start)",
            "sudo systemctl start bedside-monitor (or run `bedside monitor`)",
        )
    try:
        with Store.open_readonly(path) as store:
            version = store.schema_version()
            pending = [name for _, name, _ in store.pending_migrations()]
            readings = store.count_readings()
    except (StoreError, sqlite3.Error) as exc:
        if is_corruption(exc) and "not a database" not in str(exc):
            return Result("database", FAIL, f"{path} is damaged: {exc}", recovery_advice(path))
        fix = (
            f"check ownership: sudo chown -R bedside:bedside {path.parent} "
            f"&& sudo chmod -R g+rwX {path.parent}; then `sudo usermod -aG bedside {user}`"
        )
        if is_corruption(exc):  # garbage where SQLite's header should be
            fix = (
                "if [storage] database names the right file, it is damaged: "
                + recovery_advice(path)
                + f"; if it names another program's file, correct it (and {fix})"
            )
        return Result("database", FAIL, f"cannot read {path}: {exc}", fix)
    problem = Store.write_problem(path)
    if problem:
        return Result(
            "database",
            FAIL,
            f"{path} is not writable by {user}: {problem}",
            f"sudo chown -R bedside:bedside {path.parent} && sudo chmod -R g+rwX {path.parent}"
            f" && sudo usermod -aG bedside {user} (log in again)",
        )
    if pending:
        return Result(
            "database",
            FAIL,
            f"{path} is at schema version {version}; {len(pending)} migration(s) pending: "
            + ", ".join(pending),
            "restart the daemon to migrate (it backs the database up first): "
            "sudo systemctl restart bedside-monitor",
        )
    return Result(
        "database", OK, f"{path}: schema version {version}, writable, {readings} readings"
    )


def check_integrity(config: Config) -> Result:
    """SQLite's quick_check, and which tables a damaged file has lost rows of."""
    path = Path(config.storage.database)
    if not path.exists():
        return Result("integrity", SKIP, f"{path} does not exist yet")
    try:
        with Store.open_readonly(path) as store:
            problems = store.quick_check()
            damaged = store.damaged_tables() if problems else []
    except (StoreError, sqlite3.Error) as exc:
        if not is_corruption(exc):
            return Result("integrity", SKIP, f"cannot read {path}: {exc} (see check database)")
        problems, damaged = [str(exc)], []
    if not problems:
        return Result("integrity", OK, f"{path} passes SQLite's quick_check")
    what = f"tables affected: {', '.join(damaged)}" if damaged else "the whole file"
    return Result(
        "integrity",
        FAIL,
        f"{path} is damaged ({what}): {problems[0]}",
        recovery_advice(path),
    )


def check_future(config: Config, clock=None) -> Result:
    """Rows stamped in the future (an old import, a clock that ran ahead): they stand for
    "now" on the dashboard until their time has come; say which and how to remove them."""
    from monitor.clock import FUTURE_SLACK_MS, iso_utc

    clock = clock or SystemClock()
    path = Path(config.storage.database)
    if not path.exists():
        return Result("future", SKIP, f"{path} does not exist yet")
    now = clock.now_ms()
    try:
        with Store.open_readonly(path) as store:
            rows = store.future_rows(now + FUTURE_SLACK_MS)
    except (StoreError, sqlite3.Error) as exc:
        return Result("future", SKIP, f"cannot read {path}: {exc} (see check database)")
    if not rows:
        return Result("future", OK, "no reading or cramp is stamped in the future")
    parts = [
        f"{r['count']} {r['table']} of {r['node']} ({iso_utc(r['first_ms'])}"
        + (f" to {iso_utc(r['last_ms'])})" if r["count"] > 1 else ")")
        for r in rows
    ]
    fix = "`bedside prune-future` shows them; `bedside prune-future --yes` removes the readings"
    if any(r["table"] == "cramps" for r in rows):
        fix += " (it backs the database up first); correct a cramp's time on the dashboard"
    else:
        fix += " (it backs the database up first)"
    return Result(
        "future",
        WARN,
        f"stamped in the future (the clock says {iso_utc(now)}): " + "; ".join(parts),
        fix,
    )


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())


# -- clock ------------------------------------------------------------------------------


def check_clock(
    clock=None, runner: Runner = _run, sync_flag: Path = SYNC_FLAG, has_systemd: bool = True
) -> Result:
    """NTP-synchronized (a Pi has no real-time clock); 'cannot tell' is only a warning."""
    clock = clock or SystemClock()
    if clock.now_ms() < RELEASE_DATE_MS:
        return Result(
            "clock",
            FAIL,
            "the clock is set before this software was released (no NTP yet?)",
            "connect the Pi to the network; check `timedatectl` and "
            "`sudo systemctl restart systemd-timesyncd`",
        )
    answer = None
    if has_systemd:
        try:
            proc = runner(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
            if proc.returncode == 0 and proc.stdout.strip() in ("yes", "no"):
                answer = proc.stdout.strip() == "yes"
        except (OSError, subprocess.SubprocessError):
            pass
    if answer is None and sync_flag.exists():
        answer = True
    if answer is True:
        return Result("clock", OK, "synchronized with NTP")
    if answer is False:
        return Result(
            "clock",
            FAIL,
            "not synchronized with NTP: readings and nights may be stamped wrong",
            "check the network, then `sudo timedatectl set-ntp true` and "
            "`systemctl status systemd-timesyncd`",
        )
    return Result(
        "clock",
        WARN,
        "cannot tell whether the clock is synchronized (no timedatectl / systemd-timesyncd)",
        "make sure an NTP client (systemd-timesyncd, chrony) runs on this machine",
    )


# -- broker -----------------------------------------------------------------------------

_PASSWD_FIX = (
    "check [mqtt] username and password (on the broker: "
    "`sudo mosquitto_passwd /etc/mosquitto/passwd USER`, then restart mosquitto)"
)
_CONNACK_FIXES = {
    "Bad user name or password": ("the broker rejected the credentials", _PASSWD_FIX),
    "Client identifier not valid": (
        "the broker rejected the client id",
        "set [mqtt] client_id to letters and digits",
    ),
    "Server unavailable": ("the broker says it is unavailable", "restart the broker"),
}


def _explain_refusal(text: str, username: str | None) -> tuple[str, str]:
    """What a CONNACK refusal means here (mosquitto says 'Not authorized' for a bad password)."""
    if text == "Not authorized":
        if username:
            return (
                f"the broker rejected the credentials of {username!r} "
                "(wrong password, or the user is not allowed)",
                _PASSWD_FIX,
            )
        return (
            "the broker requires a username and password",
            "set [mqtt] username and password (or allow_anonymous on the broker)",
        )
    return _CONNACK_FIXES.get(
        text, (f"the broker refused the connection: {text}", "see the broker's log")
    )


def check_broker(config: Config, timeout: float = 10.0) -> Result:
    """Connect with the configured credentials and TLS; explain what went wrong.

    A broker made by `bedside broker-config` binds client ids to user names, so
    connecting as the service's own account would knock the service off (and wipe the
    recorder's persistent session).  doctor first tries the account's twin
    ``<user>.doctor`` (same password, no topics); only a broker without it (one set up
    by hand, where client ids are free) is checked with the account itself.
    """
    mq = config.mqtt
    if not mq.enabled:
        return Result("broker", SKIP, "[mqtt] enabled = false")
    if mq.username:
        from monitor.mqtt.brokerconf import doctor_user

        twin = _connect_and_explain(
            config.replace(mqtt={"username": doctor_user(mq.username)}), timeout
        )
        if not isinstance(twin, _Refused):  # connected, or a fault the account would meet too
            return twin
    result = _connect_and_explain(config, timeout)
    return Result(result.name, result.status, result.detail, result.fix)


class _Refused(Result):
    """The broker answered CONNACK with a refusal (another account may still be let in)."""


def _connect_and_explain(config: Config, timeout: float) -> Result:
    mq = config.mqtt
    from monitor.mqtt.client import RelayError, build_client, uses_tls

    where = f"{mq.host}:{mq.port}"
    tls = uses_tls(mq)  # the daemon's decision: the same client, built the same way
    try:
        # Never the daemon's own client id: connecting with it would kick the daemon off.
        client = build_client(config, id_suffix=f"-doctor-{os.getpid()}", connect_timeout=timeout)
    except RelayError as exc:
        return Result(
            "broker",
            FAIL,
            str(exc),
            "check [mqtt] ca_file, cert_file and key_file (readable by this user)",
        )
    outcome: dict = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        outcome["rc"] = reason_code
        done.set()

    def on_disconnect(client, userdata, flags, reason_code, properties):
        outcome.setdefault("closed", reason_code)
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    # A plain listener resets a TLS hello: that is a settings mismatch, not a network fault.
    tls_resets = (ConnectionResetError, ConnectionAbortedError) if tls else ()
    try:
        client.reconnect()  # connect now, to the host and port build_client set
    except ssl.SSLError as exc:
        return Result(
            "broker",
            FAIL,
            f"TLS handshake with {where} failed: {exc}",
            "check [mqtt] ca_file and that the host name matches the broker's certificate;"
            " a TLS listener is usually port 8883",
        )
    except socket.gaierror:
        return Result(
            "broker",
            FAIL,
            f"cannot resolve the broker host {mq.host!r}",
            "check [mqtt] host (a name this Pi can resolve, or an IP address)",
        )
    except ConnectionRefusedError:
        return Result(
            "broker",
            FAIL,
            f"connection refused at {where}: no broker listens there",
            "start the broker: sudo systemctl enable --now mosquitto "
            "(or set [mqtt] host/port to your broker)",
        )
    except tls_resets:
        return Result(
            "broker",
            FAIL,
            f"{where} closed the connection during the TLS handshake: not a TLS listener?",
            "set [mqtt] tls = false for a plain listener, or use the broker's TLS port "
            "(usually 8883)",
        )
    except TimeoutError:
        return Result(
            "broker",
            FAIL,
            f"{where} is unreachable (no answer in {timeout:g} s)",
            "check the network and any firewall between this Pi and the broker, and [mqtt] host",
        )
    except OSError as exc:
        unreachable = exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT)
        return Result(
            "broker",
            FAIL,
            f"cannot connect to {where}: {'unreachable' if unreachable else exc.strerror or exc}",
            "check the network, [mqtt] host and port, and that the broker runs",
        )
    client.loop_start()
    try:
        answered = done.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    rc = outcome.get("rc")
    if rc is not None and not rc.is_failure:
        how = " with TLS" if tls else ""
        who = f" as {mq.username!r}" if mq.username else ""
        return Result("broker", OK, f"connected to {where}{how}{who}")
    if rc is not None:
        text = str(rc)
        what, fix = _explain_refusal(text, mq.username)
        return _Refused("broker", FAIL, f"{where}: {what} ({text})", fix)
    if not answered or "closed" in outcome:
        return Result(
            "broker",
            FAIL,
            f"{where} accepted the TCP connection but never answered as MQTT",
            "is it an MQTT port? [mqtt] tls must match the listener (TLS usually on 8883)",
        )
    return Result("broker", FAIL, f"{where}: no answer", "see the broker's log")


# -- platform: which Pi, which OS, which driver, which GPIO bindings ------------------------


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


# -- sensor -----------------------------------------------------------------------------

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


# -- units ------------------------------------------------------------------------------


def on_systemd() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def unit_state(unit: str, runner: Runner = _run) -> tuple[str, str]:
    enabled = runner(["systemctl", "is-enabled", unit]).stdout.strip() or "not-found"
    active = runner(["systemctl", "is-active", unit]).stdout.strip() or "unknown"
    return enabled, active


def check_units(runner: Runner = _run, has_systemd: bool | None = None) -> list[Result]:
    """Each unit enabled and running (the timer: waiting)."""
    if not (on_systemd() if has_systemd is None else has_systemd):
        return [Result("units", SKIP, "not a systemd host")]
    results = []
    for unit in UNITS:
        enabled, active = unit_state(unit, runner)
        if enabled in ("not-found", "") or "No such file" in enabled:
            results.append(
                Result(
                    "units",
                    FAIL,
                    f"{unit} is not installed",
                    "sudo scripts/install-pi.sh",
                )
            )
        elif enabled != "enabled":
            results.append(
                Result("units", FAIL, f"{unit} is {enabled}", f"sudo systemctl enable --now {unit}")
            )
        elif active != "active":
            results.append(
                Result(
                    "units",
                    FAIL,
                    f"{unit} is enabled but {active}",
                    f"journalctl -u {unit.replace('.timer', '.service')} -n 50; "
                    f"then sudo systemctl restart {unit}",
                )
            )
        else:
            results.append(Result("units", OK, f"{unit} enabled and active"))
    return results


# -- the command ------------------------------------------------------------------------


def diagnose(
    config: Config,
    *,
    skip: Sequence[str] = (),
    press: bool = False,
    clock=None,
    runner: Runner = _run,
    has_systemd: bool | None = None,
    sensor_opener=None,
    prompt: Callable[[str], None] | None = None,
    emit: Callable[[Result], None] | None = None,
    paths: PlatformPaths | None = None,
) -> list[Result]:
    """Run every check not skipped, in order; ``emit`` sees each result as it comes."""
    clock = clock or SystemClock()
    systemd = on_systemd() if has_systemd is None else has_systemd
    daemon_running = False
    if systemd:
        try:
            daemon_running = unit_state(MONITOR_UNIT, runner)[1] == "active"
        except (OSError, subprocess.SubprocessError):
            pass
    checks: dict[str, Callable[[], Result | list[Result]]] = {
        "config": lambda: check_config(config),
        "database": lambda: check_database(config),
        "integrity": lambda: check_integrity(config),
        "future": lambda: check_future(config, clock),
        "clock": lambda: check_clock(clock, runner, has_systemd=systemd),
        "broker": lambda: check_broker(config),
        "platform": lambda: check_platform(config, paths),
        "driver": lambda: check_driver(config, paths),
        "sensor": lambda: (
            sensor_in_daemon(config, clock)
            if daemon_running
            else check_sensor(config, clock, sensor_opener)
        ),
        "button": lambda: (
            Result(
                "button",
                SKIP,
                "bedside-monitor runs and holds the pin (a press logs a cramp)",
                None,
            )
            if daemon_running
            else check_button(config, press=press, prompt=prompt)
        ),
        "gpio": lambda: check_gpio(config, paths),
        "units": lambda: check_units(runner, systemd),
    }
    results: list[Result] = []
    for name in CHECKS:
        if name in skip:
            out: Result | list[Result] = Result(name, SKIP, "skipped (--skip)")
        else:
            out = checks[name]()
        for result in out if isinstance(out, list) else [out]:
            results.append(result)
            if emit:
                emit(result)
    return results


def format_result(result: Result) -> str:
    line = f"{result.status:<5} {result.name:<9} {result.detail}"
    if result.fix and result.status in (FAIL, WARN):
        line += f"\n      fix: {result.fix}"
    return line


def run(args, config: Config) -> int:
    from monitor.errors import EXIT_USAGE, UserError

    skip = list(getattr(args, "skip", []) or [])
    unknown = [name for name in skip if name not in CHECKS]
    if unknown:
        raise UserError(
            f"--skip {unknown[0]}: no such check (checks: {', '.join(CHECKS)})", EXIT_USAGE
        )
    results = diagnose(
        config,
        skip=skip,
        press=bool(getattr(args, "press", False)),
        emit=lambda r: print(format_result(r), flush=True),
    )
    failed = [r for r in results if r.failed]
    warned = [r for r in results if r.status == WARN]
    if failed:
        print(f"{len(failed)} check(s) failed, {len(warned)} warning(s)", file=sys.stderr)
        return 1
    print(f"all checks passed ({len(warned)} warning(s))")
    return 0
