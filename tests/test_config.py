"""Config: every key checked, errors name the key and the file, no traceback."""

from __future__ import annotations

import pytest

from monitor import config as config_mod
from tests.support import run_bedside, write_config


def test_config_reports_every_error_with_key_and_file(tmp_path):
    path = write_config(
        tmp_path / "bad.toml",
        {"sensor": {"pin": 99, "kind": "dht", "colour": "red"}, "node": {"timezone": "Mars/Base"}},
    )
    with pytest.raises(config_mod.ConfigError) as err:
        config_mod.load(path)
    text = "\n".join(err.value.errors)
    assert f"{path}: [sensor] pin" in text
    assert "[sensor] kind" in text
    assert "[sensor] colour: unknown key" in text
    assert "[node] timezone" in text
    assert len(err.value.errors) == 4


def test_config_cli_exits_2_without_traceback(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[mqtt]\nport = 'x'\n")
    result = run_bedside("config", "check", config=path)
    assert result.returncode == 2
    assert "[mqtt] port: expected an integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_example_config_is_valid():
    cfg = config_mod.parse(config_mod.EXAMPLE_PATH.read_text(), "example")
    assert cfg.sensor.kind == "simulated"
    assert cfg.alerts.cold_below_c == 18.0


def test_relative_database_is_relative_to_config_file(tmp_path):
    path = write_config(tmp_path / "c.toml", {"storage": {"database": "data/b.db"}})
    assert config_mod.load(path).storage.database == str(tmp_path / "data" / "b.db")


@pytest.mark.parametrize(
    ("sections", "key"),
    [
        ({"analysis": {"night_start": "01:00", "night_end": "07:00"}}, "[analysis] night_start"),
        (
            {"alerts": {"sensor_silent_s": 30}, "sensor": {"interval_s": 30}},
            "[alerts] sensor_silent_s",
        ),
    ],
)
def test_settings_that_would_break_nights_or_alerts_are_refused(tmp_path, sections, key):
    path = write_config(tmp_path / "c.toml", sections)
    with pytest.raises(config_mod.ConfigError) as err:
        config_mod.load(path)
    assert any(key in e for e in err.value.errors)
