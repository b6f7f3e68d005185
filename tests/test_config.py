"""Config: every key checked, errors name the key and the file, no traceback."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize(
    "line, key",
    [
        ("[sensor]\ninterval_s = inf\n", "[sensor] interval_s"),
        ("[sensor]\ninterval_s = 1e308\n", "[sensor] interval_s"),
        ("[sensor]\nretries = 1000000000\n", "[sensor] retries"),
        ("[sensor]\nmax_jump_c = 1e300\n", "[sensor] max_jump_c"),
        ("[alerts]\nmin_duration_s = 1e300\n", "[alerts] min_duration_s"),
        ("[alerts]\ncold_below_c = -inf\n", "[alerts] cold_below_c"),
        ("[alerts]\nsensor_silent_s = 1e308\n", "[alerts] sensor_silent_s"),
        ("[alerts]\nnotify_timeout_s = 1e308\n", "[alerts] notify_timeout_s"),
        ("[button]\nundo_window_s = 1e308\n", "[button] undo_window_s"),
        ("[button]\nhold_s = 1e308\n", "[button] hold_s"),
        ("[mqtt]\nkeepalive_s = 9999999999\n", "[mqtt] keepalive_s"),
        ("[web]\nthreads = 100000\n", "[web] threads"),
        ("[recorder]\nbatch_wait_s = 1e308\n", "[recorder] batch_wait_s"),
        ("[recorder]\nsession_expiry_s = 99999999999\n", "[recorder] session_expiry_s"),
    ],
)
def test_every_number_is_bounded_so_config_check_refuses_what_would_crash(tmp_path, line, key):
    path = tmp_path / "c.toml"
    path.write_text(line)
    r = run_bedside("config", "check", config=path)
    assert r.returncode == 2, r.stdout
    assert key in r.stderr and "Traceback" not in r.stderr


def test_a_huge_interval_was_accepted_and_crashed_the_daemon(make_config):
    """The repro: inf passed `config check`, then the daemon died of OverflowError."""
    path = write_config(make_config()[0], {"sensor": {"interval_s": 1e308}})
    r = run_bedside("monitor", config=path, timeout=60)
    assert r.returncode == 2 and "OverflowError" not in r.stderr
    assert "[sensor] interval_s" in r.stderr


def test_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbf[sensor]\ninterval_s = 60\n")
    assert config_mod.load(path).sensor.interval_s == 60


@pytest.mark.parametrize(
    "target, message",
    [("/dev/zero", "not a regular file"), ("big", "larger than 1 MB"), ("dir", "Is a directory")],
)
def test_a_config_that_is_not_a_small_text_file_is_a_clear_error(tmp_path, target, message):
    if target == "big":
        target = tmp_path / "big.toml"
        target.write_text("# padding\n" * 5_000_000)  # 50 MB
    elif target == "dir":
        target = tmp_path
    r = run_bedside("config", "check", config=target, timeout=60)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_home_and_variables_in_paths_are_expanded_and_unknown_ones_named(tmp_path, monkeypatch):
    monkeypatch.setenv("BEDSIDE_TEST_DIR", str(tmp_path / "data"))
    path = write_config(
        tmp_path / "c.toml",
        {"storage": {"database": "$BEDSIDE_TEST_DIR/b.db"}, "mqtt": {"ca_file": "~/ca.pem"}},
    )
    config = config_mod.load(path)
    assert config.storage.database == str(tmp_path / "data" / "b.db")
    assert config.mqtt.ca_file == str(Path.home() / "ca.pem")
    bad = write_config(tmp_path / "d.toml", {"storage": {"database": "${NO_SUCH_VAR_X}/b.db"}})
    with pytest.raises(config_mod.ConfigError) as err:
        config_mod.load(bad)
    assert "[storage] database: $NO_SUCH_VAR_X is not set" in err.value.errors[0]


def test_planned_looks_default_to_the_contract():
    cfg = config_mod.parse("", "empty")
    assert cfg.analysis.looks == [90, 180, 365, 730, 1095]
    assert cfg.analysis.look_alpha == 0.0135
    example = config_mod.parse(config_mod.EXAMPLE_PATH.read_text(), "example")
    assert (example.analysis.looks, example.analysis.look_alpha) == (
        [90, 180, 365, 730, 1095],
        0.0135,
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


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[study]\nnodes = ["kid", "no room"]', "[study] nodes: 'no room' is not a node id"),
        ('[study]\nnodes = ["kid", "kid"]', "[study] nodes: 'kid' is listed more than once"),
        ('[study.timezones]\nkid = "Mars/Olympus"', "[study] timezones: kid: unknown time zone"),
        ("[study]\nlooks = [720, 360]", "[study] looks: must be a strictly increasing list"),
    ],
)
def test_the_study_section_names_the_key_and_the_file(text, says):
    with pytest.raises(config_mod.ConfigError) as err:
        config_mod.parse(text, "study.toml")
    assert f"study.toml: {says}" in str(err.value)
