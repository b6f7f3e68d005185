"""Faults of the storage under bedside: a full disk, the database deleted or replaced
under a running daemon, two daemons on one database, a read-only database directory.
Each is a clear message and an exit code (or an HTTP status), never a traceback, and
no row is lost that could be kept."""

from __future__ import annotations

import shutil
import sqlite3
import threading

import pytest

from monitor.clock import FakeClock
from monitor.daemon.loop import Daemon
from monitor.store import Store
from tests.fault_support import NODE, ScriptedSensor, captured_logs
from tests.support import run_bedside, start_bedside, stop_process, wait_until

pytestmark = pytest.mark.faults

WARM = (20.0, 50.0)


def _config_on(make_config, db, **sections):
    return make_config({"storage": {"database": str(db)}, **sections})


# -- a full disk -----------------------------------------------------------------------------


def test_a_cramp_on_a_full_disk_says_it_was_not_saved(make_config, tiny_fs):
    db = tiny_fs.path / "bedside.db"
    path, _ = _config_on(make_config, db)
    assert run_bedside("cramp", config=path).returncode == 0  # the database exists
    tiny_fs.fill()
    r = run_bedside("cramp", "--leg", "left", "--note", "x" * 1500, config=path)
    assert r.returncode != 0
    assert "the disk is full; the cramp was NOT saved" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    tiny_fs.free()
    with Store.open_readonly(db) as s:
        assert len(s.cramps(NODE)) == 1


def test_the_api_on_a_full_disk_answers_507_in_words(make_config, tiny_fs, app_factory):
    db = tiny_fs.path / "bedside.db"
    with Store.open(db):
        pass
    app = app_factory({"storage": {"database": str(db)}}, clock=FakeClock())
    client = app.test_client()
    assert client.post("/api/cramps", json={}).status_code == 201
    tiny_fs.fill()
    r = client.post("/api/cramps", json={"note": "x" * 1500, "ts": "2026-06-02T00:01:00Z"})
    assert r.status_code == 507, r.get_data(as_text=True)
    assert "the disk is full" in r.get_json()["error"]
    assert client.get("/api/cramps").status_code == 200  # reading still works


# -- the file deleted or replaced under a running daemon ---------------------------------------


def _run_daemon(config, faults: dict, stop_at: int):
    clock = FakeClock()
    stop = threading.Event()

    def before_read(n):
        if n in faults:
            faults[n]()
        if n == stop_at:
            stop.set()

    with captured_logs() as logs:
        Daemon(config, clock=clock, sensor=ScriptedSensor(lambda n: WARM, before_read)).run(stop)
    return logs


def _remove(db):
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def test_the_database_deleted_under_the_daemon_is_written_back(make_config, db_path):
    _, config = make_config({"sensor": {"kind": "dht22", "interval_s": 30, "retries": 0}})
    logs = _run_daemon(config, {10: lambda: _remove(db_path)}, stop_at=20)
    assert logs.count("was deleted while the daemon ran") == 1
    with Store.open_readonly(db_path) as s:
        assert s.count_readings(NODE) == 20  # nothing lost, the 9 before the deletion too


def test_the_database_replaced_under_the_daemon_keeps_both(make_config, db_path, tmp_path):
    _, config = make_config({"sensor": {"kind": "dht22", "interval_s": 30, "retries": 0}})
    other = tmp_path / "restored.db"

    def replace():
        with Store.open(other) as s:  # e.g. `bedside cramp` made a fresh file meanwhile
            s.add_cramp(NODE, FakeClock().now_ms(), source="cli", now_ms=1)
        other.replace(db_path)

    logs = _run_daemon(config, {10: replace}, stop_at=20)
    assert logs.count("was replaced by another file") == 1
    with Store.open_readonly(db_path) as s:
        assert s.count_readings(NODE) == 20
        assert len(s.cramps(NODE)) == 1  # the new file's cramp is there, to be published
    assert list(db_path.parent.glob("bedside.db.swapped-*.bak"))


# -- two daemons ---------------------------------------------------------------------------


def test_a_second_daemon_on_the_same_database_refuses_clearly(make_config, db_path, tmp_path):
    path, _ = make_config({"sensor": {"interval_s": 2}})
    first = start_bedside("monitor", config=path, log=tmp_path / "first.log")
    try:
        wait_until(lambda: db_path.exists() and _count(db_path) > 0, what="first daemon stores")
        second = run_bedside("monitor", config=path, timeout=60)
        assert second.returncode == 1
        assert "another bedside monitor (pid" in second.stderr, second.stderr
        assert f"(pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None
    finally:
        assert stop_process(first) == 0


def _count(db) -> int:
    try:
        with Store.open_readonly(db) as s:
            return s.count_readings()
    except Exception:
        return 0


# -- a read-only database directory ------------------------------------------------------------


def test_on_a_read_only_mount_pages_read_writes_say_why_and_export_works(
    make_config, tiny_fs, app_factory
):
    db = tiny_fs.path / "bedside.db"
    path, _ = _config_on(make_config, db)
    shutil.copy(_example_db(make_config, db.parent.parent / "src.db"), db)
    tiny_fs.remount("ro")
    try:
        app = app_factory({"storage": {"database": str(db)}}, clock=FakeClock())
        client = app.test_client()
        for url in ("/", "/cramps", "/nights", "/api/current", "/api/cramps", "/healthz"):
            assert client.get(url).status_code == 200, url
        r = client.post("/api/cramps", json={})
        assert r.status_code == 503 and "cannot write" in r.get_json()["error"]
        out = run_bedside("export", "cramps", config=path)
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.splitlines()) == 2
    finally:
        tiny_fs.remount("rw")


def _example_db(make_config, where):
    with Store.open(where) as s:
        s.add_cramp(NODE, FakeClock().now_ms() - 3_600_000, source="cli", now_ms=1)
    conn = sqlite3.connect(where)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return where
