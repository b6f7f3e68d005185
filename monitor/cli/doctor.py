"""`bedside doctor`: a self-test for a fresh install, with a fix for every failure.

Each check is a small function that returns a :class:`Result` (or a list of them);
:func:`run` prints them as ``OK`` / ``WARN`` / ``FAIL`` / ``SKIP`` lines, a
``fix:`` line under every problem, and exits non-zero when anything failed.
Hardware, processes and time are parameters so the tests can hand in twins.
"""

from __future__ import annotations

import errno
import os
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
    "sensor",
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
    """Connect with the configured credentials and TLS; explain what went wrong."""
    mq = config.mqtt
    if not mq.enabled:
        return Result("broker", SKIP, "[mqtt] enabled = false")
    import paho.mqtt.client as mqtt

    where = f"{mq.host}:{mq.port}"
    base = mq.client_id or f"bedside-{config.node.id}"
    # Never the daemon's own client id: connecting with it would kick the daemon off.
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{base}-doctor-{os.getpid()}")
    client.connect_timeout = timeout
    if mq.username:
        client.username_pw_set(mq.username, mq.password)
    tls = mq.tls or bool(mq.ca_file)
    try:
        if tls:
            client.tls_set(ca_certs=mq.ca_file, certfile=mq.cert_file, keyfile=mq.key_file)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return Result(
            "broker",
            FAIL,
            f"TLS files cannot be loaded: {exc}",
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
        client.connect(mq.host, mq.port, keepalive=max(5, int(timeout) + 5))
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
        return Result("broker", FAIL, f"{where}: {what} ({text})", fix)
    if not answered or "closed" in outcome:
        return Result(
            "broker",
            FAIL,
            f"{where} accepted the TCP connection but never answered as MQTT",
            "is it an MQTT port? [mqtt] tls must match the listener (TLS usually on 8883)",
        )
    return Result("broker", FAIL, f"{where}: no answer", "see the broker's log")


# -- sensor -----------------------------------------------------------------------------

_SENSOR_FIXES = (
    (
        "DHT sensor not found",
        "check the wiring: data to {gpio}, VCC to 3.3 V (pin 1), GND (pin 6), and a "
        "10 kΩ pull-up from data to 3.3 V (modules usually have one)",
    ),
    (
        "Timed out waiting for PulseIn message",
        "set use_pulseio = false in [sensor] (the libgpiod_pulsein helper is stuck); "
        "a helper at 100% CPU is the same problem",
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
)


def sensor_fix(message: str, pin: int) -> str:
    for needle, fix in _SENSOR_FIXES:
        if needle.lower() in message.lower():
            return fix.format(gpio=_gpio(pin))
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
            "reinstall with the Pi extras: sudo scripts/install-pi.sh "
            "(it installs bedside[pi], python3-lgpio and libgpiod2)",
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
            except RuntimeError as exc:
                errors.append(str(exc))
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
    """Open the button pin (pull-up, to ground); with press=True wait for a press."""
    if not config.button.enabled:
        return Result("button", SKIP, "[button] enabled = false")
    pin = config.button.pin
    where = _gpio(pin)
    wiring = f"wire the button between {where} and GND (physical pin 9)"
    try:
        from gpiozero import Button
        from gpiozero.exc import BadPinFactory, GPIOPinInUse
    except ImportError:
        return Result("button", FAIL, "gpiozero is not installed", "pip install gpiozero")
    try:
        button = Button(pin, pull_up=True)
    except BadPinFactory as exc:
        return Result(
            "button",
            FAIL,
            f"no GPIO library for {where}: {exc}",
            "sudo apt install python3-lgpio (the venv needs --system-site-packages), "
            "or pip install lgpio",
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
            return Result("button", OK, f"{where} readable (released)")
        (prompt or _print_prompt)(f"press the button on {where} now ({timeout:g} s)...")
        if button.wait_for_press(timeout=timeout):
            return Result("button", OK, f"{where}: press seen")
        return Result("button", FAIL, f"{where}: no press within {timeout:g} s", wiring)
    finally:
        button.close()


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
