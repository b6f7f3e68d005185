"""`python -m monitor.cli.smoke`: the installer's last step, run for real here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.sensing.drivers import is_raspberry_pi
from tests.support import ROOT, bedside_env


def smoke(config_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli.smoke", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=bedside_env(**env),
    )


def test_kernel_driver_and_mock_pins_load(make_config, tmp_path):
    dev = tmp_path / "iio" / "iio:device0"
    dev.mkdir(parents=True)
    (dev / "name").write_text("dht11@4\n")
    path, _ = make_config(
        {"sensor": {"kind": "dht22", "driver": "kernel", "iio_root": str(tmp_path / "iio")}}
    )
    result = smoke(path)
    assert result.returncode == 0, result.stderr
    assert f'smoke: ok: kernel dht11 driver ([sensor] driver = "kernel"): {dev}' in result.stdout
    assert "smoke: ok: gpiozero pin factory: MockFactory" in result.stdout


def test_a_stack_that_cannot_load_fails_loudly_with_the_fix(make_config, tmp_path):
    if is_raspberry_pi():
        pytest.skip("this machine is a Raspberry Pi")
    path, _ = make_config({"sensor": {"kind": "dht22", "driver": "blinka"}})
    result = smoke(path)
    assert result.returncode == 1
    assert "smoke: FAIL: Blinka driver" in result.stderr
    assert "\n  fix: " in result.stderr
    assert "Traceback" not in result.stderr
    kernel, _ = make_config(
        {"sensor": {"kind": "dht22", "driver": "kernel", "iio_root": str(tmp_path)}}, "k.toml"
    )
    missing = smoke(kernel)
    assert missing.returncode == 1 and "dtoverlay=dht11,gpiopin=4" in missing.stderr


def test_off_a_pi_the_pin_library_must_import_but_no_chip_is_opened(make_config, tmp_path):
    """An image build or a chroot (scripts/test-arm): no /dev/gpiochip*, but lgpio must load."""
    if is_raspberry_pi():
        pytest.skip("this machine is a Raspberry Pi")
    dev = tmp_path / "iio" / "iio:device0"
    dev.mkdir(parents=True)
    (dev / "name").write_text("dht11@4\n")
    path, _ = make_config(
        {"sensor": {"kind": "dht22", "driver": "kernel", "iio_root": str(tmp_path / "iio")}}
    )
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "lgpio.py").write_text("def gpiochip_open(chip):\n    raise OSError('no chip')\n")
    default = {"GPIOZERO_PIN_FACTORY": ""}  # gpiozero's own choice, as under the unit
    found = smoke(path, PYTHONPATH=f"{stub}:{ROOT}", **default)
    assert found.returncode == 0, found.stderr
    assert "smoke: ok: gpiozero's pin library: lgpio imports" in found.stdout
    missing = smoke(path, PYTHONPATH=f"{tmp_path / 'nothing'}:{ROOT}", **default)
    if "lgpio" not in missing.stdout:  # this venv has no lgpio (Python 3.13, no wheel)
        assert missing.returncode == 1
        assert "lgpio cannot be imported" in missing.stderr and "fix: " in missing.stderr
