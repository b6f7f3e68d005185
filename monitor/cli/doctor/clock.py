"""Time check: a Pi has no real-time clock, so NTP must have set it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from monitor.cli.doctor.common import FAIL, OK, WARN, Result, Runner, _run
from monitor.clock import RELEASE_DATE_MS, SystemClock

SYNC_FLAG = Path("/run/systemd/timesync/synchronized")


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
