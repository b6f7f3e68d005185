"""`bedside doctor`: every check says OK or what to fix.  Real SQLite files and a real
mosquitto; the hardware is gpiozero's MockFactory and a fake DHT driver that raises the
RuntimeErrors adafruit_dht raises."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from types import SimpleNamespace

import pytest
from gpiozero import Device

from monitor.cli import doctor
from monitor.clock import RELEASE_DATE_MS, FakeClock
from monitor.store import Reading, Store
from tests.support import Broker, run_bedside


@pytest.fixture(autouse=True)
def _reset_pins():
    yield
    if Device.pin_factory is not None:
        Device.pin_factory.reset()


class FakeDHT:
    """Answers from a script: a (temperature, humidity) tuple or an error message."""

    def __init__(self, script):
        self.script = list(script)
        self.closed = False

    def read(self):
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, str):
            raise RuntimeError(item)
        return item

    def close(self):
        self.closed = True


def opener_for(sensor):
    return lambda config, clock: sensor


def completed(stdout: str, rc: int = 0):
    return subprocess.CompletedProcess([], rc, stdout=stdout, stderr="")


# -- config ---------------------------------------------------------------------------


def test_config_check_names_the_file(make_config):
    path, config = make_config()
    result = doctor.check_config(config)
    assert result.status == doctor.OK and str(path) in result.detail


def test_config_defaults_are_a_warning_with_a_fix():
    from monitor.config import Config

    result = doctor.check_config(Config())
    assert result.status == doctor.WARN and "install-pi.sh" in result.fix


# -- database -------------------------------------------------------------------------


def test_database_migrated_and_writable(make_config, store):
    store.add_reading("testroom", Reading(RELEASE_DATE_MS, 19.0, 50.0))
    _, config = make_config()
    result = doctor.check_database(config)
    assert result.status == doctor.OK, result
    assert "writable" in result.detail and "1 readings" in result.detail


def test_database_with_pending_migrations_fails_with_restart_fix(make_config, db_path):
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(
        "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"
    )
    conn.commit()
    conn.close()
    _, config = make_config()
    result = doctor.check_database(config)
    assert result.status == doctor.FAIL
    assert "pending" in result.detail and "systemctl restart bedside-monitor" in result.fix


def test_missing_database_is_a_warning_and_is_not_created(make_config, db_path):
    _, config = make_config()
    result = doctor.check_database(config)
    assert result.status == doctor.WARN and "does not exist yet" in result.detail
    assert not db_path.exists(), "doctor must not create the database as the wrong user"


def test_unreadable_database_fails_with_a_fix(make_config, db_path):
    db_path.write_bytes(b"this is not sqlite" * 100)
    _, config = make_config()
    result = doctor.check_database(config)
    assert result.status == doctor.FAIL and "chown" in result.fix


# -- clock ----------------------------------------------------------------------------


def test_clock_synchronized(tmp_path):
    result = doctor.check_clock(FakeClock(), lambda cmd: completed("yes\n"), tmp_path / "none")
    assert result.status == doctor.OK


def test_clock_not_synchronized_fails(tmp_path):
    result = doctor.check_clock(FakeClock(), lambda cmd: completed("no\n"), tmp_path / "none")
    assert result.status == doctor.FAIL and "timedatectl set-ntp true" in result.fix


def test_clock_falls_back_to_timesyncd_flag(tmp_path):
    flag = tmp_path / "synchronized"
    flag.touch()

    def no_timedatectl(cmd):
        raise FileNotFoundError("timedatectl")

    assert doctor.check_clock(FakeClock(), no_timedatectl, flag).status == doctor.OK


def test_clock_unknown_off_systemd_is_only_a_warning(tmp_path):
    result = doctor.check_clock(
        FakeClock(), lambda cmd: completed("", 1), tmp_path / "none", has_systemd=False
    )
    assert result.status == doctor.WARN


def test_clock_in_1970_fails(tmp_path):
    result = doctor.check_clock(FakeClock(0), lambda cmd: completed("yes\n"), tmp_path / "none")
    assert result.status == doctor.FAIL and "network" in result.fix


# -- broker ---------------------------------------------------------------------------


@pytest.mark.broker
def test_broker_reachable(make_config, broker):
    _, config = make_config({"mqtt": {"enabled": True, "port": broker.port, "host": "127.0.0.1"}})
    result = doctor.check_broker(config)
    assert result.status == doctor.OK and str(broker.port) in result.detail


@pytest.mark.broker
def test_stopped_broker_fails_with_a_fix(make_config, broker):
    _, config = make_config({"mqtt": {"enabled": True, "port": broker.port, "host": "127.0.0.1"}})
    broker.stop()
    result = doctor.check_broker(config)
    assert result.status == doctor.FAIL
    assert "refused" in result.detail and "systemctl enable --now mosquitto" in result.fix


@pytest.mark.broker
@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
def test_bad_credentials_are_named(make_config, tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "bedside", "right"], check=True)
    passwd.chmod(0o644)
    secured = Broker(tmp_path, extra_conf=f"allow_anonymous false\npassword_file {passwd}\n")
    secured.start()
    try:
        mqtt = {"enabled": True, "port": secured.port, "host": "127.0.0.1", "username": "bedside"}
        _, good = make_config({"mqtt": {**mqtt, "password": "right"}}, name="good.toml")
        _, bad = make_config({"mqtt": {**mqtt, "password": "wrong"}}, name="bad.toml")
        assert doctor.check_broker(good).status == doctor.OK
        result = doctor.check_broker(bad)
        _, anonymous = make_config({"mqtt": {**mqtt, "username": None}}, name="anon.toml")
        anon = doctor.check_broker(anonymous)
    finally:
        secured.kill()
    assert result.status == doctor.FAIL
    assert "credentials" in result.detail and "password" in result.fix
    assert anon.status == doctor.FAIL and "requires a username" in anon.detail


@pytest.mark.broker
def test_tls_against_a_plain_listener_is_explained(make_config, broker):
    mqtt = {"enabled": True, "port": broker.port, "host": "127.0.0.1", "tls": True}
    _, config = make_config({"mqtt": mqtt})
    result = doctor.check_broker(config, timeout=5)
    assert result.status == doctor.FAIL
    assert "TLS" in result.detail and "8883" in result.fix


def test_a_port_that_is_not_mqtt_is_explained(make_config):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        _, config = make_config({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": port}})
        result = doctor.check_broker(config, timeout=0.5)
    assert result.status == doctor.FAIL and "never answered as MQTT" in result.detail


def test_broker_skipped_when_mqtt_is_off(make_config):
    _, config = make_config()
    assert doctor.check_broker(config).status == doctor.SKIP


# -- sensor ---------------------------------------------------------------------------


def dht_config(make_config, **sensor):
    return make_config({"sensor": {"kind": "dht22", "pin": 4, **sensor}})[1]


def test_sensor_answers(make_config):
    sensor = FakeDHT([(19.4, 52.0)])
    result = doctor.check_sensor(dht_config(make_config), FakeClock(), opener_for(sensor))
    assert result.status == doctor.OK
    assert "19.4 °C" in result.detail and "0/5 reads failed" in result.detail
    assert sensor.closed


def test_sensor_returning_reading_objects_is_understood(make_config):
    sensor = FakeDHT([Reading(RELEASE_DATE_MS, 17.5, None)])
    result = doctor.check_sensor(dht_config(make_config), FakeClock(), opener_for(sensor))
    assert result.status == doctor.OK and "17.5 °C" in result.detail


def test_sensor_returning_none_counts_as_a_failed_read(make_config):
    sensor = FakeDHT([(None, None), (None, None), (21.0, 40.0)])
    result = doctor.check_sensor(dht_config(make_config), FakeClock(), opener_for(sensor))
    assert result.status == doctor.OK and "2/5 reads failed" in result.detail


def test_sensor_error_rate_is_reported(make_config):
    sensor = FakeDHT(["Checksum did not validate. Try again.", (19.0, 50.0)])
    result = doctor.check_sensor(dht_config(make_config), FakeClock(), opener_for(sensor))
    assert result.status == doctor.OK and "1/5 reads failed" in result.detail


def test_sensor_reads_are_spaced_for_the_dht(make_config):
    clock = FakeClock()
    start = clock.monotonic()
    doctor.check_sensor(dht_config(make_config), clock, opener_for(FakeDHT([(19.0, 50.0)])))
    assert clock.monotonic() - start >= 4 * 2.0


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        ("DHT sensor not found, check wiring", "pull-up"),
        (
            "Timed out waiting for PulseIn message. Make sure libgpiod is installed.",
            "use_pulseio = false",
        ),
        ("Unable to set line 4 to input", "another process holds GPIO4"),
    ],
)
def test_sensor_that_never_answers_fails_with_the_known_fix(make_config, error, fix):
    result = doctor.check_sensor(dht_config(make_config), FakeClock(), opener_for(FakeDHT([error])))
    assert result.status == doctor.FAIL
    assert "5/5 reads failed" in result.detail and error in result.detail
    assert fix in result.fix


def test_mostly_failing_sensor_is_a_warning(make_config):
    sensor = FakeDHT(["DHT sensor not found, check wiring"] * 4 + [(20.0, 40.0)])
    result = doctor.check_sensor(dht_config(make_config), FakeClock(), opener_for(sensor))
    assert result.status == doctor.WARN and "pull-up" in result.fix


def test_sensor_that_cannot_open_fails(make_config):
    def broken(config, clock):
        raise RuntimeError("Unable to set line 4 to input")

    result = doctor.check_sensor(dht_config(make_config), FakeClock(), broken)
    assert result.status == doctor.FAIL and "bedside-monitor" in result.fix


def test_running_daemon_is_judged_by_its_newest_reading(make_config, store):
    clock = FakeClock()
    _, config = make_config()
    assert doctor.sensor_in_daemon(config, clock).status == doctor.FAIL
    store.add_reading("testroom", Reading(clock.now_ms() - 30_000, 18.2, 55.0))
    result = doctor.sensor_in_daemon(config, clock)
    assert result.status == doctor.OK and "18.2 °C" in result.detail
    clock.advance(3600)
    assert doctor.sensor_in_daemon(config, clock).status == doctor.FAIL


# -- button ---------------------------------------------------------------------------


def test_button_readable(make_config):
    _, config = make_config()
    result = doctor.check_button(config)
    assert result.status == doctor.OK and "GPIO17 (physical pin 11)" in result.detail


def test_button_stuck_pressed_is_a_warning(make_config, monkeypatch):
    _, config = make_config()
    pin = Device.pin_factory.pin(17)
    monkeypatch.setattr(pin, "drive_high", lambda: None)  # the pull-up cannot win: stuck low
    pin.drive_low()
    result = doctor.check_button(config)
    assert result.status == doctor.WARN and "GND" in result.fix


def test_button_press_mode_sees_the_press(make_config):
    _, config = make_config()
    prompts = []

    def press_now(text):
        prompts.append(text)
        Device.pin_factory.pin(17).drive_low()

    result = doctor.check_button(config, press=True, timeout=30, prompt=press_now)
    assert result.status == doctor.OK and "press seen" in result.detail
    assert "press the button" in prompts[0]


def test_button_press_mode_without_press_fails(make_config):
    _, config = make_config()
    result = doctor.check_button(config, press=True, timeout=0.05, prompt=lambda text: None)
    assert result.status == doctor.FAIL and "physical pin 9" in result.fix


def test_button_disabled_is_skipped(make_config):
    _, config = make_config({"button": {"enabled": False}})
    assert doctor.check_button(config).status == doctor.SKIP


# -- units ----------------------------------------------------------------------------


def systemctl(states: dict[str, tuple[str, str]]):
    def runner(cmd):
        verb, unit = cmd[1], cmd[2]
        enabled, active = states.get(unit, ("not-found", "inactive"))
        return completed(enabled if verb == "is-enabled" else active)

    return runner


def test_units_enabled_and_active():
    runner = systemctl({u: ("enabled", "active") for u in doctor.UNITS})
    results = doctor.check_units(runner, has_systemd=True)
    assert [r.status for r in results] == [doctor.OK] * 3


def test_units_problems_each_have_a_fix():
    runner = systemctl(
        {
            "bedside-monitor.service": ("enabled", "failed"),
            "bedside-web.service": ("disabled", "inactive"),
        }
    )
    monitor, web, timer = doctor.check_units(runner, has_systemd=True)
    assert monitor.status == doctor.FAIL and "journalctl -u bedside-monitor" in monitor.fix
    assert (
        web.status == doctor.FAIL and web.fix == "sudo systemctl enable --now bedside-web.service"
    )
    assert timer.status == doctor.FAIL and "install-pi.sh" in timer.fix


def test_units_skipped_off_systemd():
    [result] = doctor.check_units(has_systemd=False)
    assert result.status == doctor.SKIP


# -- the whole run --------------------------------------------------------------------


def test_diagnose_defers_to_a_running_daemon(make_config, store):
    clock = FakeClock()
    store.add_reading("testroom", Reading(clock.now_ms() - 10_000, 20.0, 45.0))
    _, config = make_config()
    runner = systemctl({u: ("enabled", "active") for u in doctor.UNITS})

    def must_not_open(config, clock):
        raise AssertionError("the daemon holds the pin")

    results = doctor.diagnose(
        config,
        clock=clock,
        runner=runner,
        has_systemd=True,
        sensor_opener=must_not_open,
        skip=["clock"],
    )
    by_name = {r.name: r for r in results}
    assert (
        by_name["sensor"].status == doctor.OK
        and "bedside-monitor reads it" in by_name["sensor"].detail
    )
    assert by_name["button"].status == doctor.SKIP
    assert not any(r.failed for r in results)


def test_format_shows_fix_under_failures():
    text = doctor.format_result(doctor.Result("broker", doctor.FAIL, "refused", "start it"))
    assert text.splitlines() == ["FAIL  broker    refused", "      fix: start it"]


def test_unknown_skip_is_a_usage_error(make_config):
    from monitor.errors import UserError

    _, config = make_config()
    with pytest.raises(UserError, match="no such check"):
        doctor.run(SimpleNamespace(skip=["sensr"], press=False), config)


@pytest.mark.broker
def test_cli_exit_code_follows_the_checks(make_config, broker):
    mqtt = {"enabled": True, "port": broker.port, "host": "127.0.0.1"}
    path, _ = make_config({"mqtt": mqtt})
    skip = ["--skip", "sensor", "--skip", "clock", "--skip", "units"]
    ok = run_bedside("doctor", *skip, config=path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK    broker" in ok.stdout and "OK    button" in ok.stdout
    assert "SKIP  sensor" in ok.stdout
    broker.stop()
    failed = run_bedside("doctor", *skip, config=path)
    assert failed.returncode == 1
    assert "FAIL  broker" in failed.stdout and "fix: start the broker" in failed.stdout


def test_missing_driver_is_explained(make_config):
    def no_driver(config, clock):
        raise ModuleNotFoundError("No module named 'adafruit_dht'")

    result = doctor.check_sensor(dht_config(make_config), FakeClock(), no_driver)
    assert result.status == doctor.FAIL and "install-pi.sh" in result.fix


def test_database_hidden_from_this_user_fails_with_the_group_fix(make_config, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can open any directory")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    try:
        _, config = make_config({"storage": {"database": str(locked / "bedside.db")}})
        result = doctor.check_database(config)
    finally:
        locked.chmod(0o700)
    assert result.status == doctor.FAIL and "usermod -aG bedside" in result.fix


def test_rows_stamped_in_the_future_are_reported_with_the_way_to_remove_them(make_config, store):
    clock = FakeClock()
    now = clock.now_ms()
    store.add_reading("testroom", Reading(now - 60_000, 20.0, 45.0))
    assert doctor.check_future(make_config()[1], clock).status == doctor.OK
    store.add_readings("testroom", [Reading(now + 365 * 86_400_000, 20.5, 50.0)])
    store.add_cramp("testroom", now + 86_400_000, source="import", now_ms=now)
    result = doctor.check_future(make_config()[1], clock)
    assert result.status == doctor.WARN
    assert "1 readings of testroom" in result.detail and "1 cramps of testroom" in result.detail
    assert "bedside prune-future --yes" in result.fix


def test_prune_future_lists_then_removes_readings_after_a_backup(make_config, store, db_path):
    path, _ = make_config()
    now = FakeClock().now_ms()  # before the real clock: stored, not in the future
    far = 4_102_444_800_000  # 2100: in the future of any clock running these tests
    store.add_readings("testroom", [Reading(now, 20.0, 45.0), Reading(far, 20.5, 50.0)])
    listed = run_bedside("prune-future", config=path)
    assert listed.returncode == 0 and "1 readings of testroom stamped 2100-01-01" in listed.stdout
    assert store.count_readings() == 2
    pruned = run_bedside("prune-future", "--yes", config=path)
    assert pruned.returncode == 0, pruned.stderr
    assert "removed 1 readings" in pruned.stdout
    assert [r.ts_ms for r in store.readings("testroom")] == [now]
    assert list(db_path.parent.glob("bedside.db.pre-prune-*.bak"))
