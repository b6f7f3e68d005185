"""The store: idempotent rows, migrations, soft deletes, read-only readers, failed commits."""

from __future__ import annotations

import io

import pytest

from monitor.csvio import CsvError, import_cramps
from monitor.store import Reading, Store
from tests.support import run_bedside


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
