"""Service checks: the systemd units (monitor, web, report timer) enabled and running."""

from __future__ import annotations

import shutil
from pathlib import Path

from monitor.cli.doctor.common import FAIL, OK, SKIP, Result, Runner, _run

UNITS = ("bedside-monitor.service", "bedside-web.service", "bedside-report.timer")
MONITOR_UNIT = "bedside-monitor.service"


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
