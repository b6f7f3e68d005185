"""`bedside doctor`: a self-test for a fresh install, with a fix for every failure.

Each check is a small function that returns a :class:`Result` (or a list of them);
:func:`run` prints them as ``OK`` / ``WARN`` / ``FAIL`` / ``SKIP`` lines, a
``fix:`` line under every problem, and exits non-zero when anything failed.
Hardware, processes and time are parameters so the tests can hand in twins.

One module per area, each check with its fix lines: ``storage`` (config, database),
``clock`` (time), ``mqtt`` (broker), ``platform`` (Pi, OS, driver, GPIO), ``sensor``
(sensor, button), ``units`` (systemd services). This module runs them in order.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence

from monitor.cli.doctor.clock import SYNC_FLAG, check_clock
from monitor.cli.doctor.common import FAIL, OK, SKIP, WARN, Result, Runner, _run
from monitor.cli.doctor.mqtt import check_broker
from monitor.cli.doctor.platform import (
    PlatformPaths,
    check_driver,
    check_gpio,
    check_platform,
    os_release,
    overlay_setting,
    pi_family,
    pi_model,
)
from monitor.cli.doctor.sensor import check_button, check_sensor, sensor_fix, sensor_in_daemon
from monitor.cli.doctor.storage import check_config, check_database, check_future, check_integrity
from monitor.cli.doctor.units import MONITOR_UNIT, UNITS, check_units, on_systemd, unit_state
from monitor.clock import SystemClock
from monitor.config import Config

__all__ = [
    "CHECKS",
    "FAIL",
    "OK",
    "SKIP",
    "SYNC_FLAG",
    "UNITS",
    "WARN",
    "PlatformPaths",
    "Result",
    "check_broker",
    "check_button",
    "check_clock",
    "check_config",
    "check_database",
    "check_driver",
    "check_future",
    "check_gpio",
    "check_integrity",
    "check_platform",
    "check_sensor",
    "check_units",
    "diagnose",
    "format_result",
    "os_release",
    "overlay_setting",
    "pi_family",
    "pi_model",
    "run",
    "sensor_fix",
    "sensor_in_daemon",
]

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
