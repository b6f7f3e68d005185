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
