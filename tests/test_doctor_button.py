"""`bedside doctor`'s button check off a Pi with the simulated sensor: mock pins, as
`bedside monitor` uses there, and no gpiozero PinFactoryFallback warnings (issue #16)."""

from __future__ import annotations

import warnings

from monitor.cli import doctor
from monitor.sensing.drivers import is_raspberry_pi
from tests.support import bedside_env, run_bedside


def test_button_check_uses_mock_pins_like_the_daemon(make_config, monkeypatch):
    assert not is_raspberry_pi()  # the tests' machine; on a Pi the real pins are checked
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    _, config = make_config({"sensor": {"kind": "simulated"}})
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = doctor.check_button(config)
    assert result.status == doctor.OK, result
    assert "mock pins" in result.detail
    assert [w for w in seen if "PinFactoryFallback" in type(w.message).__name__] == []


def test_doctor_cli_passes_the_button_check_without_fallback_warnings(make_config):
    path, _ = make_config({"sensor": {"kind": "simulated"}})
    env = bedside_env()
    env.pop("GPIOZERO_PIN_FACTORY")
    skip = ["--skip", "sensor", "--skip", "clock", "--skip", "units", "--skip", "broker"]
    done = run_bedside("doctor", *skip, config=path, env=env)
    assert "OK    button" in done.stdout, done.stdout + done.stderr
    assert "PinFactoryFallback" not in done.stderr and "Falling back" not in done.stderr
