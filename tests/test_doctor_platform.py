"""`bedside doctor` on a fake root: the Pi model, the OS release, the sensor driver and why,
the overlay, the GPIO devices, the gpio group and gpiozero's pin library; and a fix for every
message the sensor drivers raise (the kernel's errno messages come from the real driver code)."""

from __future__ import annotations

import errno
import os

import pytest

from monitor.cli import doctor
from monitor.clock import FakeClock
from monitor.sensing import drivers
from monitor.sensing.drivers import KernelDhtSensor, KernelReadError

PI4 = "Raspberry Pi 4 Model B Rev 1.4"
PI5 = "Raspberry Pi 5 Model B Rev 1.0"
ZERO2 = "Raspberry Pi Zero 2 W Rev 1.0"
TRIXIE = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_CODENAME=trixie\nID=debian\n'
BOOKWORM = (
    'PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=raspbian\n'
)


def fake_root(
    tmp_path,
    model: str | None = PI4,
    release: str = TRIXIE,
    config_txt: str | None = "[all]\n",
    boot: str = "boot/firmware",
    chips=("gpiochip0",),
):
    root = tmp_path / "root"
    if model is not None:
        (root / "proc/device-tree").mkdir(parents=True)
        (root / "proc/device-tree/model").write_text(model + "\x00")  # as the kernel has it
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text(release)
    if config_txt is not None:
        (root / boot).mkdir(parents=True)
        (root / boot / "config.txt").write_text(config_txt)
    (root / "dev").mkdir()
    for chip in chips:
        (root / "dev" / chip).write_text("")
    (root / "iio").mkdir()
    return root, doctor.PlatformPaths.under(root)


def add_iio_dht(root, name="dht11@4"):
    dev = root / "iio" / "iio:device0"
    dev.mkdir(parents=True)
    (dev / "name").write_text(name + "\n")
    return dev


def sensor_config(make_config, root, **sensor):
    values = {"kind": "dht22", "pin": 4, "iio_root": str(root / "iio"), **sensor}
    return make_config({"sensor": values})[1]


def have(*modules):
    return lambda name: name in modules


# -- platform -------------------------------------------------------------------------------


def test_platform_names_the_model_and_the_release(make_config, tmp_path):
    root, paths = fake_root(tmp_path, PI5, BOOKWORM)
    result = doctor.check_platform(sensor_config(make_config, root), paths)
    assert result.status == doctor.OK
    assert result.detail == f"{PI5}; Raspbian GNU/Linux 12 (bookworm)"


def test_an_old_release_and_a_dht_off_a_pi_are_warnings(make_config, tmp_path):
    old = 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nVERSION_CODENAME=bullseye\n'
    root, paths = fake_root(tmp_path, PI4, old)
    result = doctor.check_platform(sensor_config(make_config, root), paths)
    assert result.status == doctor.WARN and "Bookworm and Trixie" in result.detail
    root2, paths2 = fake_root(tmp_path / "x86", model=None)
    result = doctor.check_platform(sensor_config(make_config, root2), paths2)
    assert result.status == doctor.WARN and "not a Raspberry Pi" in result.detail
    simulated = make_config({"sensor": {"kind": "simulated"}})[1]
    assert doctor.check_platform(simulated, paths2).status == doctor.OK


# -- driver -----------------------------------------------------------------------------------


def test_kernel_driver_with_its_device_and_overlay(make_config, tmp_path):
    root, paths = fake_root(tmp_path, config_txt="[all]\ndtoverlay=dht11,gpiopin=4\n")
    add_iio_dht(root)
    result = doctor.check_driver(sensor_config(make_config, root), paths)
    assert result.status == doctor.OK
    assert "kernel dht11 driver (auto: the kernel's dht11 device" in result.detail
    assert "dtoverlay=dht11,gpiopin=4" in result.detail


def test_overlay_set_but_no_device_means_reboot(make_config, tmp_path):
    root, paths = fake_root(tmp_path, config_txt="dtoverlay=dht11,gpiopin=4\n")
    result = doctor.check_driver(sensor_config(make_config, root, driver="kernel"), paths)
    assert result.status == doctor.FAIL and "no dht11 device" in result.detail
    assert result.fix.startswith("sudo reboot")


def test_kernel_driver_without_overlay_says_which_line_and_where(make_config, tmp_path):
    root, paths = fake_root(tmp_path, config_txt="[all]\n", boot="boot")  # a pre-Bookworm layout
    result = doctor.check_driver(sensor_config(make_config, root, driver="kernel", pin=22), paths)
    assert result.status == doctor.FAIL
    assert "add the line dtoverlay=dht11,gpiopin=22 to" in result.fix
    assert str(root / "boot/config.txt") in result.fix


def test_overlay_on_another_pin_than_the_config(make_config, tmp_path):
    root, paths = fake_root(tmp_path, config_txt="dtoverlay=dht11\n")  # the overlay's default: 4
    add_iio_dht(root, "dht11@0")
    result = doctor.check_driver(sensor_config(make_config, root, pin=22), paths)
    assert result.status == doctor.FAIL and "[sensor] pin = 22" in result.detail
    assert "dtoverlay=dht11,gpiopin=22" in result.fix


def test_blinka_without_its_gpiod_binding(make_config, tmp_path):
    root, paths = fake_root(tmp_path)
    config = sensor_config(make_config, root)
    result = doctor.check_driver(config, paths, find_module=have("adafruit_dht", "board"))
    assert result.status == doctor.FAIL
    assert "auto: no dht11 device" in result.detail and "gpiod not installed" in result.detail
    assert "dtoverlay=dht11,gpiopin=4" in result.fix


@pytest.mark.parametrize(
    ("model", "use_pulseio", "status", "needle"),
    [
        (PI5, False, doctor.WARN, "bit-banging fails on a Pi 5"),
        (PI4, False, doctor.WARN, "more checksum errors"),
        (ZERO2, "auto", doctor.WARN, "unreliable"),
        (PI4, "auto", doctor.OK, "use_pulseio = 'auto'"),
        (PI5, True, doctor.OK, "use_pulseio = True"),
    ],
)
def test_blinka_advice_per_pi_model(make_config, tmp_path, model, use_pulseio, status, needle):
    root, paths = fake_root(tmp_path, model)
    config = sensor_config(make_config, root, driver="blinka", use_pulseio=use_pulseio)
    result = doctor.check_driver(
        config,
        paths,
        find_module=have("adafruit_dht", "board", "gpiod"),
        dist_version={"gpiod": "2.5.0", "Adafruit-Blinka": "10.0.0"}.get,
    )
    assert result.status == status, result
    assert needle in result.detail and "Blinka 10.0.0, gpiod 2.5.0" in result.detail
    if status == doctor.WARN and model == ZERO2:
        assert "kernel driver" in result.fix


# -- gpio ---------------------------------------------------------------------------------------


def test_gpio_needs_the_group_and_a_pin_library(make_config, tmp_path):
    root, paths = fake_root(tmp_path, PI5, chips=("gpiochip0", "gpiochip4"))
    config = sensor_config(make_config, root)
    results = doctor.check_gpio(
        config,
        paths,
        identity=lambda: ("pi", 1000, {"pi", "users"}),
        find_module=have("RPi.GPIO"),  # RPi.GPIO cannot drive a Pi 5's RP1
    )
    assert [r.status for r in results] == [doctor.FAIL, doctor.FAIL]
    assert "pi is not in group gpio" in results[0].detail
    assert results[0].fix.startswith("sudo usermod -aG gpio pi")
    assert "python3-lgpio" in results[1].fix
    ok = doctor.check_gpio(
        config, paths, identity=lambda: ("pi", 1000, {"gpio"}), find_module=have("lgpio")
    )
    assert [r.status for r in ok] == [doctor.OK, doctor.OK]
    assert "gpiochip0, gpiochip4" in ok[0].detail


def test_gpio_on_an_older_pi_accepts_rpi_gpio_and_skips_off_a_pi(make_config, tmp_path):
    root, paths = fake_root(tmp_path, PI4, chips=())
    config = sensor_config(make_config, root)
    results = doctor.check_gpio(
        config, paths, identity=lambda: ("pi", 1000, {"gpio"}), find_module=have("RPi.GPIO")
    )
    assert [r.status for r in results] == [doctor.FAIL, doctor.OK]
    assert "no /dev/gpiochip*" in results[0].detail
    _, x86 = fake_root(tmp_path / "x86", model=None)
    assert [r.status for r in doctor.check_gpio(config, x86)] == [doctor.SKIP]


# -- every message the drivers raise has its own fix ----------------------------------------------


def kernel_message(code: int, tmp_path) -> str:
    """The message the real KernelDhtSensor raises for a read failing with ``code``."""

    class Failing:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            raise OSError(code, os.strerror(code))

    sensor = KernelDhtSensor(tmp_path, "dht22", opener=lambda *a, **k: Failing())
    with pytest.raises(KernelReadError) as info:
        sensor.read()
    return str(info.value)


DRIVER_MESSAGES = [
    (drivers.WIRING_ERROR, "pull-up"),
    (drivers.BUFFER_ERROR, "answers only partly"),
    (drivers.CHECKSUM_ERROR, "shorten the cable"),
    (drivers.PLAUSIBILITY_ERROR, "check [sensor] kind"),
    (drivers.BITBANG_ERROR, "use_pulseio"),
    (drivers.PULSEIN_TIMEOUT + ". Make sure libgpiod is installed.", "libgpiod_pulsein"),
    (errno.EIO, "bad checksum or lost sync"),
    (errno.ETIMEDOUT, "did not answer the kernel driver"),
    (errno.EAGAIN, "clock resolution"),
]


def test_the_dht_library_raises_five_messages():
    assert set(drivers.DHT_LIBRARY_ERRORS) == {m for m, _ in DRIVER_MESSAGES[:5]}


@pytest.mark.parametrize(("message", "fix"), DRIVER_MESSAGES)
def test_every_driver_message_has_its_fix(make_config, tmp_path, message, fix):
    if isinstance(message, int):
        message = kernel_message(message, tmp_path)
    assert doctor.sensor_fix(message, 4) != doctor.sensor_fix("something unheard of", 4)
    assert fix in doctor.sensor_fix(message, 4)

    class Failing:
        closed = False

        def read(self):
            raise KernelReadError(message, None)

        def close(self):
            self.closed = True

    config = make_config({"sensor": {"kind": "dht22", "pin": 4}})[1]
    result = doctor.check_sensor(config, FakeClock(), lambda c, k: Failing())
    assert result.status == doctor.FAIL and fix in result.fix


def test_the_errno_names_match_as_words_only():
    assert "kernel" not in doctor.sensor_fix("a video device", 4)  # 'eio' inside a word
    assert "kernel" in doctor.sensor_fix("kernel dht11 driver: EIO reading in_temp_input", 4)


def test_diagnose_runs_the_platform_checks_on_the_given_root(make_config, tmp_path):
    root, paths = fake_root(tmp_path, PI4, config_txt="dtoverlay=dht11,gpiopin=4\n")
    add_iio_dht(root)
    config = sensor_config(make_config, root)
    results = doctor.diagnose(
        config,
        skip=["clock", "broker", "sensor", "button", "units"],
        has_systemd=False,
        paths=paths,
    )
    by_name = {r.name: r for r in results}
    assert by_name["platform"].detail.startswith(PI4)
    assert by_name["driver"].status == doctor.OK and "kernel" in by_name["driver"].detail
    gpio = [r for r in results if r.name == "gpio"]
    assert "gpiochip0" in gpio[0].detail  # OK as root, or "not in group gpio"
    assert [r.name for r in results] == [
        "config", "database", "integrity", "future", "recorder", "clock", "broker", "platform",
        "driver", "sensor", "gpio", "gpio", "button", "units",
    ]  # fmt: skip
