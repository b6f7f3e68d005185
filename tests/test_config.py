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


def test_planned_looks_default_to_the_contract():
    cfg = config_mod.parse("", "empty")
    assert cfg.analysis.looks == [90, 180, 365, 730, 1095]
    assert cfg.analysis.look_alpha == 0.0158
    example = config_mod.parse(config_mod.EXAMPLE_PATH.read_text(), "example")
    assert (example.analysis.looks, example.analysis.look_alpha) == (
        [90, 180, 365, 730, 1095],
        0.0158,
    )
    custom = config_mod.parse("[analysis]\nlooks = [30, 60]\nlook_alpha = 0.01\n", "c")
    assert (custom.analysis.looks, custom.analysis.look_alpha) == ([30, 60], 0.01)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("looks = [90, 90, 180]", "[analysis] looks: must be a strictly increasing list"),
        ("looks = [180, 90]", "[analysis] looks: must be a strictly increasing list"),
        ("looks = [0, 90]", "[analysis] looks: must be a strictly increasing list"),
        ("looks = []", "[analysis] looks: must be a strictly increasing list"),
        ("looks = [90, 1.5]", "[analysis] looks: expected a list of whole numbers"),
        ("looks = [90, true]", "[analysis] looks: expected a list of whole numbers"),
        ("looks = 90", "[analysis] looks: expected a list of whole numbers"),
        ("look_alpha = 0", "[analysis] look_alpha: must be above 0 and below 0.5"),
        ("look_alpha = 0.5", "[analysis] look_alpha: must be above 0 and below 0.5"),
        ("look_alpha = 'x'", "[analysis] look_alpha: expected a number"),
    ],
)
def test_bad_planned_looks_name_the_key_and_the_file(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(f"[analysis]\n{text}\n")
    with pytest.raises(config_mod.ConfigError) as err:
        config_mod.load(path)
    assert any(e.startswith(f"{path}: {message}") for e in err.value.errors), err.value.errors
