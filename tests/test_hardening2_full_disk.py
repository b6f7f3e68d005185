"""Round 2, item 9: a full disk (a real 2 MB tmpfs filled to the last byte).
`bedside monitor` says so in words and exits non-zero (it was a traceback writing its
lock file); the dashboard's pages and API that only read answer normally (they answered
507 "the cramp was NOT saved"); a write still says 507."""

from __future__ import annotations

import pytest

from monitor.clock import FakeClock
from monitor.store import Reading, Store
from tests.fault_support import NODE
from tests.support import run_bedside

pytestmark = pytest.mark.faults


def database_on(tiny_fs):
    db = tiny_fs.path / "bedside.db"
    now = FakeClock().now_ms()
    with Store.open(db) as s:  # closed: no -wal or -shm is left beside it
        s.add_readings(NODE, [Reading(now - i * 60_000, 20.0, 50.0) for i in range(50)])
        s.add_cramp(NODE, now - 3_600_000, source="cli", now_ms=now)
    return db


def test_the_monitor_on_a_full_disk_says_so_and_exits(make_config, tiny_fs):
    db = database_on(tiny_fs)
    path, _ = make_config({"storage": {"database": str(db)}, "sensor": {"kind": "simulated"}})
    tiny_fs.fill()
    r = run_bedside("monitor", config=path, timeout=60)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert "full" in r.stderr and str(tiny_fs.path) in r.stderr, r.stderr


def test_reading_pages_on_a_full_disk_answer_normally(make_config, tiny_fs, app_factory):
    db = database_on(tiny_fs)
    app = app_factory({"storage": {"database": str(db)}}, clock=FakeClock())
    client = app.test_client()
    tiny_fs.fill()
    for url in ("/", "/healthz", "/api/current", "/api/cramps"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
        assert "NOT saved" not in r.get_data(as_text=True)
    assert client.get("/api/current").get_json()["reading"]["temperature_c"] == 20.0
    r = client.post("/api/cramps", json={"note": "x" * 1500})
    assert r.status_code == 507 and "NOT saved" in r.get_json()["error"]
