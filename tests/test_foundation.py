"""Config, store and CSV round-trip: the foundation everything else stands on."""

from __future__ import annotations

import io

import pytest

from monitor import config as config_mod
from monitor.csvio import CsvError, export_cramps, export_readings, import_cramps, import_readings
from monitor.store import Reading, Store
from tests.support import EXAMPLES, run_bedside, write_config

BERLIN = EXAMPLES / "berlin-autumn"


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


def test_readings_are_idempotent_and_migrations_recorded(store):
    r = Reading(1_790_000_000_000, 17.5, 50.0)
    assert store.add_readings("a", [r, r]) == 1
    assert store.add_readings("a", [r]) == 0
    assert store.count_readings("a") == 1
    assert store.schema_version() >= 1
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_out_of_order_rows_mark_days_dirty_and_live_appends_do_not(store):
    base = 1_790_000_000_000
    store.add_readings("a", [Reading(base, 18.0, 50.0)])
    v0 = store.data_version()
    store.add_readings("a", [Reading(base + 30_000, 18.0, 50.0)])  # live append
    assert store.data_version() == v0
    store.add_readings("a", [Reading(base - 86_400_000, 18.0, 50.0)])  # backfill
    assert store.data_version() == v0 + 1


def test_readonly_store_cannot_write(store, db_path):
    ro = Store.open_readonly(db_path)
    with pytest.raises(Exception, match="readonly"):
        ro.add_readings("a", [Reading(1, 1.0, 1.0)])


def test_cramp_soft_delete_restore_and_outbox(store):
    cramp, created = store.add_cramp("a", 1_790_000_000_000, source="web", now_ms=1)
    assert created and not cramp.published
    assert store.mark_cramp_published(cramp.id, cramp.updated_ms)
    assert store.unpublished_cramps("a") == []
    deleted = store.delete_cramp(cramp.id, now_ms=2)
    assert deleted.deleted and store.cramps("a") == []
    assert [c.id for c in store.unpublished_cramps("a")] == [cramp.id]
    # acknowledging an older state does not clear a newer change
    assert not store.mark_cramp_published(cramp.id, cramp.updated_ms)
    store.restore_cramp(cramp.id, now_ms=3)
    assert [c.id for c in store.cramps("a")] == [cramp.id]


def test_cramp_fields_are_validated(store):
    with pytest.raises(ValueError, match="severity"):
        store.add_cramp("a", 1, source="web", now_ms=1, severity=6)
    with pytest.raises(ValueError, match="leg"):
        store.add_cramp("a", 1, source="web", now_ms=1, leg="arm")
    assert store.cramps("a") == []


def test_berlin_example_import_export_round_trip(store, tmp_path):
    with open(BERLIN / "readings.csv", newline="") as f:
        result = import_readings(store, f, "bedroom")
    assert result.added == result.rows == 25536
    with open(BERLIN / "cramps.csv", newline="") as f:
        assert import_cramps(store, f, "bedroom", now_ms=1).added == 35

    readings_csv, cramps_csv = io.StringIO(), io.StringIO()
    assert export_readings(store, readings_csv, ["bedroom"]) == 25536
    assert export_cramps(store, cramps_csv, ["bedroom"]) == 35

    other = Store.open(tmp_path / "other.db")
    readings_csv.seek(0)
    cramps_csv.seek(0)
    import_readings(other, readings_csv, "bedroom")
    import_cramps(other, cramps_csv, "bedroom", now_ms=1)
    assert other.readings("bedroom") == store.readings("bedroom")
    assert [(c.ts_ms, c.leg, c.severity) for c in other.cramps("bedroom")] == [
        (c.ts_ms, c.leg, c.severity) for c in store.cramps("bedroom")
    ]
    # a second import of the original changes nothing
    with open(BERLIN / "readings.csv", newline="") as f:
        assert import_readings(other, f, "bedroom").added == 0


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("2026-01-01T00:00:00Z,20,40\n2026-01-01T00:05:00,20,40\n", 3, "no UTC offset"),
        ("2026-01-01T00:00:00Z,abc,40\n", 2, "not a number"),
        ("2026-01-01T00:00:00Z,20,140\n", 2, "outside"),
        ("2026-01-01T00:00:00Z,nan,40\n", 2, "finite"),
        ("2026-01-01T00:00:00Z,20\n", 2, "expected 3 fields"),
    ],
)
def test_bad_csv_row_names_the_line_and_imports_nothing(store, body, line, reason):
    text = "timestamp,temperature_c,humidity_pct\n" + body
    with pytest.raises(CsvError) as err:
        import_readings(store, io.StringIO(text), "a", "r.csv")
    assert f"r.csv: line {line}:" in err.value.errors[0]
    assert reason in err.value.errors[0]
    assert store.count_readings() == 0


def test_import_cli_all_or_nothing(make_config, tmp_path):
    path, cfg = make_config()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,leg,severity,note\n2026-01-01T03:00:00Z,left,2,\n2026-01-02T03:00:00Z,left,9,\n"
    )
    result = run_bedside("import", "cramps", str(bad), config=path)
    assert result.returncode == 1
    assert "line 3" in result.stderr and "severity" in result.stderr
    assert "Traceback" not in result.stderr
    with Store.open(cfg.storage.database) as s:
        assert s.cramps(None) == []


def test_export_into_a_closed_pipe_is_not_a_traceback(make_config):
    import subprocess

    from tests.support import ROOT, bedside_env

    path, cfg = make_config()
    with Store.open(cfg.storage.database) as s:
        s.add_readings(
            "testroom", [Reading(1_790_000_000_000 + i * 30_000, 18.0, 50.0) for i in range(50_000)]
        )
    cmd = f"'{__import__('sys').executable}' -m monitor --config '{path}' export readings | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd],
        capture_output=True,
        text=True,
        env=bedside_env(),
        cwd=ROOT,
        timeout=120,
    )
    assert result.stdout == "timestamp,temperature_c,humidity_pct\n"
    assert "Traceback" not in result.stderr
    assert result.returncode == 0


def test_a_migration_skipped_by_number_is_still_applied(db_path):
    with Store.open(db_path) as s:
        shipped = {v for v, _, _ in s.pending_migrations()} | s.applied_migrations()
        assert s.pending_migrations() == []
        # Simulate a database made before a lower-numbered migration existed.
        missing = sorted(shipped)[1]
        s.conn.execute("DELETE FROM schema_migrations WHERE version = ?", (missing,))
        assert [m[0] for m in s.pending_migrations()] == [missing]


def test_node_last_seen_is_exact_without_rewriting_the_row_every_reading(store):
    base = 1_790_000_000_000
    store.add_readings("a", [Reading(base, 18.0, 50.0)])
    changes = store.conn.total_changes
    store.add_readings("a", [Reading(base + 30_000, 18.0, 50.0)])
    assert store.conn.total_changes - changes == 1  # the reading only, not the nodes row
    assert store.nodes()[0]["last_seen_ms"] == base + 30_000
    store.add_readings("a", [Reading(base + 3_600_000, 18.0, 50.0)])
    assert store.conn.execute("SELECT last_seen_ms FROM nodes").fetchone()[0] == base + 3_600_000


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+05:00", "2300-01-01T00:00:00Z"])
def test_instants_outside_1970_to_2199_are_refused_everywhere(store, make_config, text):
    from monitor.clock import InstantError, parse_instant

    with pytest.raises(InstantError, match="1970-2199"):
        parse_instant(text)
    with pytest.raises(ValueError, match="between 1970 and 2199"):
        store.add_cramp("a", -62_135_596_800_000, source="cli", now_ms=1)
    path, _ = make_config()
    result = run_bedside("cramp", "--at", text, config=path)
    assert result.returncode == 2 and "1970-2199" in result.stderr
    assert "Traceback" not in result.stderr
    bad = "timestamp,leg,severity,note\n" + text + ",left,,\n"
    with pytest.raises(CsvError, match="line 2"):
        import_cramps(store, io.StringIO(bad), "a", now_ms=1)
    assert store.cramps(None, include_deleted=True) == []


def test_a_migration_applied_meanwhile_by_another_process_is_skipped(db_path):
    from monitor.store import _migrations

    with Store.open(db_path) as s:
        s.pending_migrations = _migrations  # the list as seen before the other process won
        assert s.migrate() == []


def test_a_failed_commit_is_rolled_back_and_the_store_stays_writable(store):
    # A deferred foreign key makes COMMIT itself fail, as a full disk would.
    store.conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    store.conn.execute(
        "CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(Exception, match="FOREIGN KEY"), store.transaction() as conn:
        conn.execute("INSERT INTO child VALUES (42)")
    assert not store.conn.in_transaction
    assert store.add_readings("a", [Reading(1_790_000_000_000, 18.0, 50.0)]) == 1


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
