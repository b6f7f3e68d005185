"""The store: idempotent rows, migrations, soft deletes, read-only readers, failed commits."""

from __future__ import annotations

import io
import sqlite3
import threading

import pytest

from monitor.csvio import CsvError, import_cramps
from monitor.store import Reading, Store, StoreError
from tests.support import run_bedside


def query(db_path, sql, *args):
    """Look at the file through a connection of the test's own (not the store's)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_readings_are_idempotent_and_migrations_recorded(store, db_path):
    r = Reading(1_790_000_000_000, 17.5, 50.0)
    assert store.add_readings("a", [r, r]) == 1
    assert store.add_readings("a", [r]) == 0
    assert store.count_readings("a") == 1
    assert store.schema_version() >= 1
    assert query(db_path, "PRAGMA journal_mode")[0][0] == "wal"


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
        query(db_path, "DELETE FROM schema_migrations WHERE version = ?", missing)
        assert [m[0] for m in s.pending_migrations()] == [missing]


def test_node_last_seen_is_exact_without_rewriting_the_row_every_reading(store, db_path):
    base = 1_790_000_000_000
    store.add_readings("a", [Reading(base, 18.0, 50.0)])
    changes = store.total_changes()
    store.add_readings("a", [Reading(base + 30_000, 18.0, 50.0)])
    assert store.total_changes() - changes == 1  # the reading only, not the nodes row
    assert store.nodes()[0]["last_seen_ms"] == base + 30_000
    store.add_readings("a", [Reading(base + 3_600_000, 18.0, 50.0)])
    assert query(db_path, "SELECT last_seen_ms FROM nodes")[0][0] == base + 3_600_000


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


def _fail_commits_of_node(db_path, node):
    """A deferred foreign key, violated by a trigger on the node's readings, makes COMMIT
    itself fail, as a full disk would."""
    query(db_path, "CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    query(
        db_path,
        "CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
    )
    query(
        db_path,
        f"CREATE TRIGGER fail_commit AFTER INSERT ON readings WHEN new.node = '{node}'"
        " BEGIN INSERT INTO child VALUES (42); END",
    )


def test_a_failed_commit_is_rolled_back_and_the_store_stays_writable(store, db_path):
    _fail_commits_of_node(db_path, "doomed")
    with pytest.raises(Exception, match="FOREIGN KEY"), store.transaction():
        store.add_readings("doomed", [Reading(1_790_000_000_000, 18.0, 50.0)])
    assert not store.in_transaction
    assert store.add_readings("a", [Reading(1_790_000_000_000, 18.0, 50.0)]) == 1


def test_a_method_whose_own_commit_fails_is_rolled_back(store, db_path):
    _fail_commits_of_node(db_path, "doomed")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        store.add_readings("doomed", [Reading(1_790_000_000_000, 18.0, 50.0)])
    assert not store.in_transaction
    assert store.count_readings() == 0
    assert store.add_readings("a", [Reading(1_790_000_000_000, 18.0, 50.0)]) == 1


def test_grouped_methods_commit_together_at_the_end(store, db_path):
    base = 1_790_000_000_000
    with store.transaction():
        assert store.add_readings("a", [Reading(base, 18.0, 50.0)]) == 1
        store.set_outbox_watermark("a", base)
        assert store.in_transaction
        # This thread sees its own writes; the file does not have them yet.
        assert store.count_readings("a") == 1
        assert query(db_path, "SELECT count(*) FROM readings")[0][0] == 0
    assert not store.in_transaction
    assert query(db_path, "SELECT count(*) FROM readings")[0][0] == 1
    assert store.outbox_watermark("a") == base


def test_an_error_leaving_a_group_rolls_all_of_it_back(store):
    base = 1_790_000_000_000
    with pytest.raises(RuntimeError), store.transaction():
        store.add_readings("a", [Reading(base, 18.0, 50.0)])
        store.set_outbox_watermark("a", base)
        store.add_cramp("a", base, source="cli", now_ms=1)
        raise RuntimeError("the caller changed its mind")
    assert store.count_readings() == 0
    assert store.outbox_watermark("a") is None
    assert store.cramps(None, include_deleted=True) == []
    assert store.nodes() == []


def test_a_failure_swallowed_inside_a_group_still_rolls_it_back(store):
    base = 1_790_000_000_000
    first, _ = store.add_cramp("a", base, source="cli", now_ms=1)
    second, _ = store.add_cramp("a", base + 60_000, source="cli", now_ms=1)
    with pytest.raises(StoreError, match="inside the transaction failed"), store.transaction():
        store.add_readings("a", [Reading(base, 18.0, 50.0)])
        with pytest.raises(ValueError, match="another cramp"):
            store.update_cramp(second.id, now_ms=2, ts_ms=first.ts_ms)
    assert store.count_readings() == 0
    assert store.get_cramp(second.id) == second
    assert store.add_readings("a", [Reading(base, 18.0, 50.0)]) == 1


def test_another_thread_waits_for_a_group_to_finish(store, db_path):
    base = 1_790_000_000_000
    other = threading.Thread(target=store.add_readings, args=("b", [Reading(base, 18.0, 50.0)]))
    with store.transaction():
        store.add_readings("a", [Reading(base, 18.0, 50.0)])
        other.start()
        other.join(0.2)
        assert other.is_alive()  # not joined into this thread's transaction
    other.join(10)
    assert (store.count_readings("a"), store.count_readings("b")) == (1, 1)


def test_the_fast_row_path_stores_what_add_readings_stores(store, db_path):
    base = 1_790_000_000_000
    store.add_readings("a", [Reading(base + 60_000, 18.0, 50.0)])
    v0 = store.data_version()
    rows = [
        ("a", base, 17.0, None),
        ("a", base + 60_000, 99.0, 1.0),
        ("a", base + 120_000, 19.0, 40.0),
    ]
    with store.transaction():
        assert store.add_reading_rows("a", rows) == 2
        assert store.add_reading_rows("a", []) == 0
    assert store.readings("a") == [
        Reading(base, 17.0, None),
        Reading(base + 60_000, 18.0, 50.0),
        Reading(base + 120_000, 19.0, 40.0),
    ]
    assert store.data_version() == v0 + 1  # the row before the newest is a backfill


def test_cramp_origins_map_a_nodes_cramp_to_the_recorded_one(store):
    cramp, _ = store.add_cramp("a", 1_790_000_000_000, source="mqtt", now_ms=1)
    assert store.cramp_origin("a", (7, 1_789_000_000_000)) is None
    store.set_cramp_origin("a", (7, 1_789_000_000_000), cramp.id)
    store.set_cramp_origin("a", (7, 1_789_000_000_000), cramp.id)  # idempotent
    assert store.cramp_origin("a", (7, 1_789_000_000_000)) == cramp.id
    assert store.cramp_origin("a", (7, 1_789_000_000_001)) is None  # a re-flashed node
    assert store.cramp_origin("b", (7, 1_789_000_000_000)) is None


def test_write_problem_probes_a_file_without_creating_its_folder(store, db_path, tmp_path):
    assert Store.write_problem(db_path) is None
    missing = tmp_path / "no" / "such.db"
    assert Store.write_problem(missing) is not None
    assert not missing.exists()
