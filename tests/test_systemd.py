"""The shipped systemd units: `systemd-analyze verify` accepts them, and the directives the
Pi deployment depends on (readiness, watchdog, device policy, sandbox) are really there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support import ROOT

UNITS_DIR = ROOT / "systemd"
UNITS = sorted(p.name for p in UNITS_DIR.iterdir() if p.suffix in (".service", ".timer"))
EXEC = "/opt/bedside/venv/bin/bedside --config /etc/bedside/config.toml"
ANALYZE = shutil.which("systemd-analyze")


def parse_unit(name: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value in order (systemd keys repeat, so keep them all)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (UNITS_DIR / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit: dict, section: str, key: str) -> str:
    values = unit[section].get(key)
    assert values, f"[{section}] {key}= is missing"
    return values[-1]


def test_expected_units_are_shipped():
    assert UNITS == [
        "bedside-monitor.service",
        "bedside-recorder.service",
        "bedside-report.service",
        "bedside-report.timer",
        "bedside-web.service",
    ]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    # verify insists that ExecStart= exists; the program lives in /opt/bedside only on
    # an installed Pi, so check copies whose ExecStart points at a real executable.
    for name in UNITS:
        text = (UNITS_DIR / name).read_text()
        text = text.replace("ExecStart=/opt/bedside/venv/bin/bedside", "ExecStart=/bin/true")
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [ANALYZE, "verify", *UNITS], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # verify only warns about unknown keys and misplaced settings: those are failures too.
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize(
    "name",
    [
        "bedside-monitor.service",
        "bedside-web.service",
        "bedside-report.service",
        "bedside-recorder.service",
    ],
)
def test_security_exposure_stays_low(name):
    """`systemd-analyze security` rates 0 (locked down) to 10 (unconfined); keep ours under 2."""
    result = subprocess.run(
        [ANALYZE, "security", "--offline=yes", "--threshold=20", "--no-pager", name],
        cwd=UNITS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    score_line = [line for line in result.stdout.splitlines() if "Overall exposure" in line]
    assert result.returncode == 0, score_line or result.stderr


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_a_broken_unit_fails_verify(tmp_path):
    """The verify test can fail: a typo'd key is reported."""
    (tmp_path / "broken.service").write_text(
        "[Service]\nType=notify\nExecStart=/bin/true\nWatchdogSecs=120\n"
    )
    result = subprocess.run(
        [ANALYZE, "verify", "broken.service"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "WatchdogSecs" in result.stderr


def test_monitor_unit_is_a_watched_notify_service():
    unit = parse_unit("bedside-monitor.service")
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "ExecStart") == f"{EXEC} monitor"
    watchdog = int(one(unit, "Service", "WatchdogSec"))
    # 30 s interval + 3 retries of a DHT read must fit with room to spare.
    assert watchdog >= 2 * (30 + 3 * 4)
    assert one(unit, "Service", "Restart") == "on-failure"
    assert "time-sync.target" in unit["Unit"]["Wants"]
    after = " ".join(unit["Unit"]["After"]).split()
    assert "time-sync.target" in after and "mosquitto.service" in after
    requires = " ".join(unit["Unit"].get("Requires", []) + unit["Unit"].get("BindsTo", []))
    assert "mosquitto" not in requires, "the daemon must run without a local broker"
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_monitor_unit_runs_as_bedside_with_only_gpio_devices():
    service = parse_unit("bedside-monitor.service")["Service"]
    assert service["User"] == ["bedside"]
    assert service["SupplementaryGroups"] == ["gpio"]
    assert service["DevicePolicy"] == ["closed"]
    allowed = {v.split()[0] for v in service["DeviceAllow"]}
    assert allowed == {f"/dev/gpiochip{i}" for i in range(5)} | {"/dev/gpiomem"}
    assert "PrivateDevices" not in service, "PrivateDevices= would hide /dev/gpiochip*"
    assert service["StateDirectory"] == ["bedside"]
    assert service["RuntimeDirectory"] == ["bedside"]
    assert service["WorkingDirectory"] == ["/run/bedside"], "lgpio writes FIFOs in the cwd"


@pytest.mark.parametrize(
    "name",
    [
        "bedside-monitor.service",
        "bedside-web.service",
        "bedside-report.service",
        "bedside-recorder.service",
    ],
)
def test_every_service_is_sandboxed(name):
    service = parse_unit(name)["Service"]
    required = {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
        "User": "bedside",
        "DevicePolicy": "closed",
    }
    for key, value in required.items():
        assert service.get(key, [None])[-1] == value, f"{name}: {key}={value} expected"
    assert set(service["RestrictAddressFamilies"][-1].split()) <= {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert "@system-service" in service["SystemCallFilter"]
    assert "ReadWritePaths" not in service, "StateDirectory= is the only writable place"


def test_only_the_monitor_removes_ipc_objects():
    """All units run as one user: RemoveIPC= elsewhere would delete the DHT helper's queue."""
    assert parse_unit("bedside-monitor.service")["Service"]["RemoveIPC"] == ["yes"]
    for name in ("bedside-web.service", "bedside-report.service"):
        assert "RemoveIPC" not in parse_unit(name)["Service"], name


def test_web_unit_has_no_devices_and_writes_only_the_database_directory():
    service = parse_unit("bedside-web.service")["Service"]
    assert one(parse_unit("bedside-web.service"), "Service", "ExecStart") == f"{EXEC} web"
    assert service["PrivateDevices"] == ["yes"]
    assert "DeviceAllow" not in service
    assert "SupplementaryGroups" not in service
    assert service["StateDirectory"] == ["bedside"]  # the database directory (-wal, -shm)


def test_report_timer_runs_after_the_night_and_catches_up():
    timer = parse_unit("bedside-report.timer")["Timer"]
    hour, minute = timer["OnCalendar"][-1].split()[-1].split(":")[:2]
    assert (int(hour), int(minute)) > (8, 0), "after the default night_end 08:00"
    assert timer["Persistent"][-1] in ("yes", "true")
    unit = parse_unit("bedside-report.service")
    assert one(unit, "Service", "Type") == "oneshot"
    assert one(unit, "Service", "ExecStart") == f"{EXEC} report"


# Run under the kernel's own W^X switch (PR_SET_MDWE, Linux 6.3+), which refuses the same
# writable+executable mappings that MemoryDenyWriteExecute=yes refuses through seccomp.
_MDWE_PROBE = """
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    print("unsupported"); sys.exit(0)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("not enforced"); sys.exit(0)
except OSError:
    pass
for name in sys.argv[1:]:
    __import__(name)
callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x * 2)
assert callback(21) == 42  # libffi closures (ctypes, cffi) still work
from gpiozero import Button, Device
from gpiozero.pins.mock import MockFactory
Device.pin_factory = MockFactory()
Button(17).close()
print("ok")
"""


@pytest.mark.parametrize(
    "modules",
    [
        # what the monitor loads: the GPIO and DHT stack, MQTT over TLS, the store, notifications
        [
            "monitor.store",
            "paho.mqtt.client",
            "ssl",
            "sqlite3",
            "gpiozero",
            "apprise",
            "adafruit_dht",
        ],
        # what the dashboard and the report load: Flask, waitress, the statistics stack
        ["flask", "waitress", "numpy", "scipy.stats", "statsmodels.api"],
    ],
    ids=["monitor", "web-and-report"],
)
def test_the_python_stack_runs_with_memory_deny_write_execute(modules):
    result = subprocess.run(
        [sys.executable, "-c", _MDWE_PROBE, *modules],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"},
    )
    if result.stdout.strip() in ("unsupported", "not enforced"):
        pytest.skip("this kernel has no PR_SET_MDWE")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
