"""The trial's rows: one commit for a trial and its schedule, one open trial per node,
announcements stored once and only with the planned arm."""

from __future__ import annotations

import sqlite3

import pytest

from monitor.store import Store, StoreError, TrialConflict
from monitor.trial import design

NODE = "testroom"
DAY = 86_400_000


def schedule(n: int = 8, first: str = "2026-06-1") -> list[tuple[str, str]]:
    return [(f"2026-06-{10 + i}", "warm" if i % 2 == 0 else "usual") for i in range(n)]


def create(store: Store, *, created_ms: int = 1_000, end_ms: int = 10 * DAY, node=NODE, rows=None):
    rows = rows if rows is not None else schedule()
    return store.create_trial(
        node,
        created_ms=created_ms,
        first_night=rows[0][0],
        warm_min_c=19.0,
        announce_at="18:00",
        timezone="Europe/Berlin",
        night_start="20:00",
        night_end="08:00",
        min_coverage=0.8,
        end_ms=end_ms,
        salt="ab" * 16,
        commitment=design.commitment("ab" * 16, rows),
        schedule=rows,
        plan={"baseline": {"nights": 0}},
    )


def test_a_trial_and_its_schedule_are_stored_together(store, db_path):
    trial = create(store)
    assert (
        trial.nights == 8 and trial.stopped_ms is None and trial.plan == {"baseline": {"nights": 0}}
    )
    assert store.trial_schedule(trial.id) == schedule()
    assert store.latest_trial(NODE) == trial
    assert store.latest_trial("elsewhere") is None
    # Another connection (another process) sees all of it: it was committed.
    with Store.open_readonly(db_path) as reader:
        assert reader.trial_schedule(trial.id) == schedule()
        assert design.verify(trial.commitment, trial.salt, reader.trial_schedule(trial.id))


def test_a_failed_schedule_leaves_no_trial(store):
    rows = schedule()
    rows[3] = rows[2]  # the same night twice: the schedule insert fails
    with pytest.raises(sqlite3.IntegrityError):
        create(store, rows=rows)
    assert store.latest_trial(NODE) is None
    with pytest.raises(ValueError, match="warm or usual"):
        create(store, rows=[("2026-06-10", "hot")] * 8)
    assert store.latest_trial(NODE) is None


def test_one_open_trial_per_node(store):
    first = create(store, created_ms=1_000, end_ms=10 * DAY)
    with pytest.raises(TrialConflict, match="already planned or running"):
        create(store, created_ms=2_000)
    create(store, node="other", created_ms=2_000)  # another room may run its own
    store.stop_trial(first.id, now_ms=3_000, reason="flu")
    second = create(store, created_ms=4_000, end_ms=20 * DAY)
    assert store.latest_trial(NODE).id == second.id
    # Once its last night has ended a trial is over too.
    third = create(store, created_ms=20 * DAY, end_ms=30 * DAY)
    assert third.id > second.id


def test_stopping_is_recorded_once(store):
    trial = create(store)
    stopped = store.stop_trial(trial.id, now_ms=5_000, reason="travel")
    assert (stopped.stopped_ms, stopped.stop_reason) == (5_000, "travel")
    again = store.stop_trial(trial.id, now_ms=9_000, reason="other")
    assert (again.stopped_ms, again.stop_reason) == (5_000, "travel")


def test_an_announcement_is_stored_once_and_only_with_the_planned_arm(store):
    trial = create(store)
    first, created = store.record_trial_announcement(trial.id, "2026-06-10", "warm", now_ms=100)
    assert created and first.announced_ms == 100
    again, created = store.record_trial_announcement(trial.id, "2026-06-10", "warm", now_ms=999)
    assert not created and again == first  # a restart re-publishes; the record stays
    with pytest.raises(ValueError, match="not a usual night"):
        store.record_trial_announcement(trial.id, "2026-06-10", "usual", now_ms=100)
    with pytest.raises(ValueError):
        store.record_trial_announcement(trial.id, "2026-07-01", "warm", now_ms=100)
    assert store.trial_announcements(trial.id) == [first]


def test_a_reader_on_a_database_from_before_0012_sees_no_trial(tmp_path):
    path = tmp_path / "old.db"
    Store.open(path).close()
    conn = sqlite3.connect(path, isolation_level=None)  # the test's own connection
    try:
        for table in ("trial_announcements", "trial_nights", "trials"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_migrations WHERE version = 12")
    finally:
        conn.close()
    with Store.open_readonly(path) as reader:
        assert reader.latest_trial(NODE) is None
        assert reader.trial_announcements(1) == []
    with Store.open(path) as s:  # the writer migrates it
        assert 12 in s.applied_migrations()
        assert create(s).id == 1


def test_the_schema_refuses_a_bad_number_of_nights(store):
    with pytest.raises((sqlite3.IntegrityError, StoreError)):
        create(store, rows=schedule(7))
