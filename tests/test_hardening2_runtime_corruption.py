"""Round 2, item 6: garbage written into the cramps table's root page under a running
`bedside monitor` (a real process, a real mosquitto, real garbage in the real file).
The daemon must stop writing into the file, say which table is damaged and where the
backup is, raise the sensor-problem alert over MQTT, and never say it works again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fault_support import NODE, log_count, stored_ts
from tests.support import Subscriber, start_bedside, stop_process, wait_until
from tests.test_faults_corrupt import corrupt, fill

pytestmark = pytest.mark.faults

ALERT = f"bedside/{NODE}/alert/sensor"


def files(db: Path) -> tuple[bytes, bytes]:
    """The database and its WAL, byte for byte (the -shm is SQLite's scratch memory)."""
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes(), wal.read_bytes() if wal.exists() else b""


def test_corruption_under_a_running_daemon_stops_writing_and_alerts(
    make_config, db_path, broker, tmp_path, clock
):
    path, _ = make_config(
        {
            "sensor": {"kind": "simulated", "interval_s": 2},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
        }
    )
    fill(db_path, clock, n=300)
    backup = tmp_path / "nightly.db"
    note = db_path.with_name(db_path.name + ".last-backup")
    note.write_text(f"{backup} (2026-06-01T00:00:00Z)\n")
    sub = Subscriber(broker, f"bedside/{NODE}/#")
    log = tmp_path / "monitor.log"
    proc = start_bedside("monitor", config=path, log=log)
    try:
        sub.wait_for(lambda s: (ALERT, b"OFF", False) in s or (ALERT, b"OFF", True) in s)
        before = len(stored_ts(db_path))
        wait_until(lambda: len(stored_ts(db_path)) > before, what="the daemon storing")
        # While the broker is away the dashboard edits a cramp (so the relay will read the
        # cramps table again), then garbage lands on the table's root page.
        broker.stop()
        conn = sqlite3.connect(db_path)
        with conn:
            conn.execute("UPDATE cramps SET note = 'edited', published = 0 WHERE id = 7")
        conn.close()
        corrupt(db_path, "cramps")
        broker.start()
        sub.wait_for(lambda s: [p for t, p, _ in s if t == ALERT][-1:] == [b"ON"])
        snapshot = files(db_path)
        wait_until(lambda: log_count(log, "are still read; nothing is written") >= 1)
    finally:
        code = stop_process(proc)
        sub.close()
    text = log.read_text(errors="replace")
    assert code == 1, text[-2000:]
    assert files(db_path) == snapshot  # nothing written after it was found, nor at shutdown
    assert "Traceback" not in text, text
    assert "working again" not in text
    damaged = [line for line in text.splitlines() if "storage: the database" in line]
    assert damaged and "cramps" in damaged[0] and str(backup) in damaged[0], damaged


def test_corruption_under_a_running_recorder_stops_it_in_words(broker, tmp_path, clock):
    """The recorder meets the damage on its next batch: it stops (the broker keeps the
    message), says which table and where the backup is, and writes nothing more."""
    from tests.support import write_config
    from tests.test_recorder import Publisher

    db = tmp_path / "hub.db"
    fill(db, clock, n=300)
    cfg = write_config(
        tmp_path / "rec.toml",
        {
            "node": {"id": "hub", "timezone": "UTC"},
            "storage": {"database": str(db)},
            "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": "bedside"},
            "recorder": {"client_id": "rec-corrupt", "batch_wait_s": 0.05},
        },
    )
    log = tmp_path / "recorder.log"
    proc = start_bedside("recorder", config=cfg, log=log)
    pub = Publisher(broker, "kid", prefix="bedside")
    try:
        wait_until(lambda: "connected to" in log.read_text(errors="replace"), what="connect")
        pub.reading(clock.now_ms() - 60_000)
        wait_until(lambda: "kid" in {n for (n,) in _nodes(db)}, what="a first reading stored")
        corrupt(db, "readings")
        snapshot = files(db)
        pub.reading(clock.now_ms() - 30_000)
        assert proc.wait(timeout=60) == 1
    finally:
        stop_process(proc)
        pub.close()
    text = log.read_text(errors="replace")
    assert files(db) == snapshot
    assert "Traceback" not in text, text
    assert "damaged (damaged: readings" in text and "backup" in text, text[-1500:]


def _nodes(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT DISTINCT node FROM readings").fetchall()
    finally:
        conn.close()
