"""Fault: garbage written into a page of the database (a failing SD card, a stray dd).

Every entry point says the database is damaged, what is affected and how to get the
newest backup back; none prints a traceback, none writes over the file, and the
dashboard's /healthz stops saying ok."""

from __future__ import annotations

import sqlite3

import pytest

from monitor.cli import doctor
from monitor.clock import FakeClock
from monitor.store import Reading, Store
from tests.support import run_bedside

pytestmark = pytest.mark.faults

NODE = "testroom"


def fill(db, clock: FakeClock, n: int = 3000) -> None:
    now = clock.now_ms()
    with Store.open(db) as s:
        s.add_readings(NODE, [Reading(now - (n - i) * 30_000, 20.0, 50.0) for i in range(n)])
        for i in range(40):
            s.add_cramp(NODE, now - i * 3_600_000, source="cli", now_ms=now, note="x" * 200)


def corrupt(db, table: str) -> bytes:
    """Write garbage into the root page of ``table`` (or page 2 for "page2");
    returns the file's bytes afterwards, to show nothing rewrote it."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    if table == "page2":
        page = 2
    else:
        (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
        page = page[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((page - 1) * page_size)
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    return db.read_bytes()


@pytest.fixture
def damaged(make_config, db_path):
    def make(table: str):
        path, config = make_config()
        fill(db_path, FakeClock())
        after = corrupt(db_path, table)
        return path, config, after

    return make


@pytest.mark.parametrize("table", ["readings", "cramps", "page2"])
def test_doctor_finds_the_damage_names_the_table_and_points_to_the_backup(damaged, table):
    _, config, _ = damaged(table)
    result = doctor.check_integrity(config)
    assert result.status == doctor.FAIL
    if table != "page2":
        assert table in result.detail
    assert "backup" in result.fix and "chown" not in result.fix
    db = doctor.check_database(config)
    assert db.status == doctor.FAIL or "chown" not in (db.fix or "")


@pytest.mark.parametrize("table", ["readings", "cramps", "page2"])
def test_cramp_and_monitor_refuse_a_damaged_file_in_words_and_never_write_it(damaged, table):
    path, config, after = damaged(table)
    for args in (["cramp", "--leg", "left"], ["monitor"]):
        r = run_bedside(*args, config=path)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and "damaged" in r.stderr, r.stderr
        assert "backup" in r.stderr
        assert config.storage.database and open(config.storage.database, "rb").read() == after


def test_the_dashboard_says_damaged_and_healthz_stops_saying_ok(damaged, app_factory, db_path):
    _, _, after = damaged("readings")
    client = app_factory().test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and "damaged" in health.get_json()["error"]
    for url in ("/", "/api/current", "/api/readings?from=2026-06-01T00:00Z&to=2026-06-03T00:00Z"):
        r = client.get(url)
        assert r.status_code in (200, 503), (url, r.status_code)
    r = client.post("/api/cramps", json={})
    assert r.status_code == 503 and "damaged" in r.get_json()["error"]
    assert db_path.read_bytes() == after  # never written over
