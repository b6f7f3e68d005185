"""scripts/install-pi.sh in --root mode: the files a Pi gets, idempotence, and an uninstall
that keeps the data and the config.  (--no-venv keeps it fast; apt, useradd and groupadd are
only printed in this mode.)  A root without run/systemd/system is a system where systemd is
not PID 1 (an image build, a chroot): the units are enabled offline, as symlinks; with it
(:func:`booted`), the systemctl commands are printed.  scripts/test-arm runs the same
installer for real in arm64 chroots."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest

from monitor.config import load
from tests.support import ROOT

INSTALLER = ROOT / "scripts" / "install-pi.sh"
UNITS = [
    "bedside-monitor.service",
    "bedside-web.service",
    "bedside-report.service",
    "bedside-report.timer",
]


def install(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", str(INSTALLER), "--root", str(root), "--no-venv", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "SUDO_USER"},
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def tree(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, mode, content hash and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[rel] = ("file", stat.S_IMODE(st.st_mode), digest, st.st_mtime_ns)
    return out


def booted(root: Path) -> Path:
    """Make the fake root a booted system (systemd PID 1: run/systemd/system exists)."""
    (root / "run/systemd/system").mkdir(parents=True, exist_ok=True)
    return root


def wants(root: Path) -> dict[str, str]:
    """The units enabled offline: {target.wants/unit: link target}."""
    units = root / "etc/systemd/system"
    return {str(link.relative_to(units)): os.readlink(link) for link in units.glob("*.wants/*")}


ENABLED = {
    f"{target}.wants/{unit}": f"/etc/systemd/system/{unit}"
    for target, unit in [
        ("multi-user.target", "bedside-monitor.service"),
        ("multi-user.target", "bedside-web.service"),
        ("timers.target", "bedside-report.timer"),
    ]
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "pi"


def test_install_writes_units_config_and_directories(root):
    result = install(root)
    for unit in UNITS:
        installed = root / "etc/systemd/system" / unit
        assert installed.read_bytes() == (ROOT / "systemd" / unit).read_bytes()
        assert mode(installed) == 0o644
    config_path = root / "etc/bedside/config.toml"
    assert mode(config_path) == 0o640, "the config may hold MQTT and web passwords"
    assert mode(root / "etc/bedside") == 0o750
    assert mode(root / "var/lib/bedside") == 0o770
    assert os.readlink(root / "usr/local/bin/bedside") == "/opt/bedside/venv/bin/bedside"
    # the units' Documentation= points here
    assert (root / "opt/bedside/docs/operations.md").read_bytes() == (
        ROOT / "docs/operations.md"
    ).read_bytes()
    # The config is the commented example, valid, with the Pi's hardware and database.
    config = load(config_path)
    assert config.sensor.kind == "dht22"
    assert config.sensor.pin == 4 and config.button.pin == 17 and config.led.pin == 27
    assert config.storage.database == "/var/lib/bedside/bedside.db"
    assert config.mqtt.host == "localhost"
    assert "# Home Assistant MQTT discovery." in config_path.read_text()
    # The system changes are announced, not made.
    assert "mosquitto" in result.stdout
    # No systemd runs in this root: the units are enabled offline, and no systemctl call
    # (which exits 1 there) is made.
    assert wants(root) == ENABLED
    assert "systemctl" not in result.stdout
    assert "enabled bedside-monitor.service bedside-web.service bedside-report.timer offline" in (
        result.stdout
    )


def test_on_a_booted_system_systemctl_enables_and_starts_the_units(root):
    result = install(booted(root))
    assert "would run: systemctl daemon-reload" in result.stdout
    assert "would run: systemctl enable bedside-monitor.service" in result.stdout
    assert wants(root) == {}, "systemctl does the enabling there"


def test_sensor_and_remote_broker_options(root):
    result = install(root, "--sensor", "dht11", "--mqtt-host", "broker.lan")
    config = load(root / "etc/bedside/config.toml")
    assert config.sensor.kind == "dht11"
    assert config.mqtt.host == "broker.lan"
    assert "mosquitto" not in result.stdout.split("would run: apt-get install")[1].splitlines()[0]


def test_simulated_sensor_leaves_the_led_off(root):
    install(root, "--sensor", "simulated")
    config = load(root / "etc/bedside/config.toml")
    assert config.sensor.kind == "simulated" and config.led.pin is None


def test_bad_option_is_refused_and_writes_nothing(root):
    result = install(root, "--sensor", "bme280", check=False)
    assert result.returncode != 0
    assert "--sensor must be dht22, dht11 or simulated" in result.stderr
    assert not (root / "etc").exists()


def test_second_run_changes_nothing(root):
    install(root)
    before = tree(root)
    second = install(root)
    assert tree(root) == before
    assert "wrote" not in second.stdout and "created" not in second.stdout
    assert "keeping the existing /etc/bedside/config.toml" in second.stdout
    assert "systemctl restart" not in second.stdout, "nothing changed, nothing to restart"


def test_existing_config_is_never_overwritten(root):
    install(root)
    config_path = root / "etc/bedside/config.toml"
    config_path.write_text('[node]\nid = "mine"\n')
    install(root, "--sensor", "dht11")
    assert config_path.read_text() == '[node]\nid = "mine"\n'


def test_upgrade_rewrites_a_changed_unit_and_restarts(root):
    install(booted(root))
    unit = root / "etc/systemd/system/bedside-web.service"
    unit.write_text("stale\n")
    result = install(root)
    assert unit.read_bytes() == (ROOT / "systemd/bedside-web.service").read_bytes()
    assert "would run: systemctl restart bedside-monitor.service" in result.stdout


def test_uninstall_keeps_data_and_config(root):
    install(root)
    (root / "var/lib/bedside/bedside.db").write_bytes(b"precious")
    config_before = (root / "etc/bedside/config.toml").read_text()
    (root / "opt/bedside/venv/bin").mkdir(parents=True)
    result = install(booted(root), "--uninstall")
    assert "would run: systemctl disable --now bedside-monitor.service" in result.stdout
    for unit in UNITS:
        assert not (root / "etc/systemd/system" / unit).exists()
    assert not (root / "opt/bedside").exists()
    assert not (root / "usr/local/bin/bedside").is_symlink()
    assert (root / "var/lib/bedside/bedside.db").read_bytes() == b"precious"
    assert (root / "etc/bedside/config.toml").read_text() == config_before
    # Installing again picks the kept config up unchanged.
    install(root)
    assert (root / "etc/bedside/config.toml").read_text() == config_before


def test_purge_removes_data_config_and_user(root):
    install(root)
    (root / "var/lib/bedside/bedside.db").write_bytes(b"x")
    result = install(root, "--uninstall", "--purge")
    assert not (root / "var/lib/bedside").exists()
    assert not (root / "etc/bedside").exists()
    assert "would run: userdel bedside" in result.stdout


def test_off_a_booted_system_uninstall_removes_everything_without_systemctl(root):
    """It used to stop at a failing `systemctl daemon-reload`, before the overlay and
    /opt/bedside were removed."""
    config_txt = pi_root(root)
    install(root)
    (root / "opt/bedside/venv/bin").mkdir(parents=True)
    result = install(root, "--uninstall")
    assert "systemctl" not in result.stdout
    assert wants(root) == {}
    assert not (root / "opt/bedside").exists()
    assert config_txt.read_text() == CONFIG_TXT
    assert "disabling the units offline" in result.stdout


# -- the gpio group and its udev rule (plain Debian has neither) ---------------------------

RULE = "etc/udev/rules.d/60-bedside-gpio.rules"
GPIO_RULE_LINE = 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"'
CREATED = "# bedside created group gpio"


def etc_group(root: Path, *lines: str) -> None:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/group").write_text("root:x:0:\n" + "".join(f"{line}\n" for line in lines))


def test_the_udev_rule_is_written_where_rules_d_does_not_exist_yet(root):
    result = install(root)
    rule = (root / RULE).read_text()
    assert GPIO_RULE_LINE in rule and CREATED in rule
    assert mode(root / RULE) == 0o644
    assert "would run: groupadd --system gpio" in result.stdout


def test_a_run_that_failed_after_groupadd_gets_its_udev_rule_the_next_time(root):
    etc_group(root, "gpio:x:997:")  # the group exists, the rule never got written
    result = install(root)
    assert GPIO_RULE_LINE in (root / RULE).read_text()
    assert CREATED not in (root / RULE).read_text(), "not ours: uninstall must keep the group"
    assert "groupadd" not in result.stdout


def test_raspberry_pi_os_own_rule_means_no_rule_of_ours(root):
    etc_group(root, "gpio:x:997:pi")
    (root / "usr/lib/udev/rules.d").mkdir(parents=True)
    (root / "usr/lib/udev/rules.d/99-com.rules").write_text('SUBSYSTEM=="gpio", GROUP="gpio"\n')
    result = install(root)
    assert not (root / RULE).exists()
    assert "groupadd" not in result.stdout


def test_uninstall_removes_the_gpio_group_it_created(root):
    install(root)
    etc_group(root, "gpio:x:997:bedside", "bedside:x:996:")  # what groupadd + usermod made
    result = install(root, "--uninstall")
    assert not (root / RULE).exists()
    assert "would run: groupdel gpio" in result.stdout


def test_uninstall_keeps_a_gpio_group_someone_else_uses(root):
    install(root)
    etc_group(root, "gpio:x:997:bedside,alice")
    result = install(root, "--uninstall")
    assert "would run: groupdel" not in result.stdout
    assert "kept group gpio: alice use it" in result.stdout


def test_purge_without_uninstall_is_refused(root):
    result = install(root, "--purge", check=False)
    assert result.returncode != 0 and "--purge goes with --uninstall" in result.stderr


# -- the kernel driver's overlay, the driver choice, the smoke test (issue #12) -----------

PI_MODEL = "Raspberry Pi 4 Model B Rev 1.4\x00"
CONFIG_TXT = "# a Pi's config.txt\ndtparam=audio=on\n\n[cm4]\notg_mode=1\n\n[all]\n"


def pi_root(root: Path, boot: str = "boot/firmware") -> Path:
    """A fake / that looks like a Raspberry Pi with its boot config."""
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_text(PI_MODEL)
    (root / boot).mkdir(parents=True)
    (root / boot / "config.txt").write_text(CONFIG_TXT)
    return root / boot / "config.txt"


def overlay_lines(config_txt: Path) -> list[str]:
    return [line for line in config_txt.read_text().splitlines() if "dht11" in line]


def test_on_a_pi_the_kernel_driver_is_the_default_and_its_overlay_is_added_once(root):
    config_txt = pi_root(root)
    result = install(root)
    assert overlay_lines(config_txt)[-1] == "dtoverlay=dht11,gpiopin=4"
    assert config_txt.read_text().startswith(CONFIG_TXT)  # appended, nothing else touched
    assert config_txt.read_text().endswith("[all]\ndtoverlay=dht11,gpiopin=4\n")  # not under [cm4]
    assert "REBOOT NEEDED" in result.stdout
    config = load(root / "etc/bedside/config.toml")
    assert config.sensor.driver == "kernel"
    assert "bedside[gpio]" in result.stdout and "bedside[pi]" not in result.stdout  # no Blinka
    before = tree(root)
    second = install(root)
    assert tree(root) == before, "a second run adds no second overlay line"
    assert "REBOOT NEEDED" not in second.stdout
    uninstalled = install(root, "--uninstall")
    assert config_txt.read_text() == CONFIG_TXT
    assert "removed the dht11 overlay" in uninstalled.stdout


def test_overlay_goes_to_boot_config_txt_on_older_releases_with_the_configs_pin(root):
    config_txt = pi_root(root, boot="boot")
    (root / "etc/bedside").mkdir(parents=True)
    (root / "etc/bedside/config.toml").write_text('[sensor]\nkind = "dht22"\npin = 22\n')
    install(root, "--driver", "kernel")
    assert overlay_lines(config_txt) == [
        "# bedside: the DHT through the kernel's IIO dht11 driver"
        " (install-pi.sh --uninstall removes these lines)",
        "dtoverlay=dht11,gpiopin=22",
    ]


def test_an_overlay_the_user_wrote_is_left_alone(root):
    config_txt = pi_root(root)
    config_txt.write_text(CONFIG_TXT + "dtoverlay=dht11,gpiopin=17\n")
    result = install(root)
    assert overlay_lines(config_txt) == ["dtoverlay=dht11,gpiopin=17"]
    assert "must be the pin it names" in result.stderr
    install(root, "--uninstall")
    assert overlay_lines(config_txt) == ["dtoverlay=dht11,gpiopin=17"], "not ours to remove"


def test_blinka_driver_installs_the_pi_extra_and_no_overlay(root):
    config_txt = pi_root(root)
    result = install(root, "--driver", "blinka")
    assert overlay_lines(config_txt) == []
    assert "bedside[pi]" in result.stdout
    assert load(root / "etc/bedside/config.toml").sensor.driver == "blinka"
    # Compiled packages only as binaries: a missing wheel fails loudly instead of compiling.
    assert "--only-binary lgpio,gpiod,sysv_ipc,numpy,scipy,statsmodels" in result.stdout


def test_off_a_pi_the_driver_is_auto_and_the_smoke_test_uses_the_units_environment(root):
    result = install(root)
    assert load(root / "etc/bedside/config.toml").sensor.driver == "auto"
    assert "bedside[pi]" in result.stdout
    (smoke,) = [line for line in result.stdout.splitlines() if "smoke test as bedside" in line]
    assert "BLINKA_SKIP_DEPENDENCY_CHECK=1" in smoke and "PYTHONUNBUFFERED=1" in smoke
    assert "LG_WD=<scratch>" in smoke
    assert "/opt/bedside/venv/bin/python -m monitor.cli.smoke" in smoke
    assert "--config /etc/bedside/config.toml" in smoke


def test_bad_driver_is_refused(root):
    result = install(root, "--driver", "pigpio", check=False)
    assert result.returncode != 0 and "--driver must be kernel, blinka or auto" in result.stderr
