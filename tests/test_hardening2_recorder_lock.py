"""Round 2, item 10: a second recorder on the same database is refused (two real
`bedside recorder` processes and a real mosquitto); a monitor beside one recorder on the
same database still runs (the documented one-Pi setup)."""

from __future__ import annotations

import pytest

from tests.support import run_bedside, start_bedside, stop_process, wait_until, write_config

pytestmark = pytest.mark.broker


def recorder_config(tmp_path, broker, db, client_id: str):
    return write_config(
        tmp_path / f"{client_id}.toml",
        {
            "node": {"id": "hub", "timezone": "UTC"},
            "storage": {"database": str(db)},
            "sensor": {"kind": "simulated", "interval_s": 2},
            "mqtt": {"host": broker.host, "port": broker.port},
            "recorder": {"client_id": client_id},
        },
    )


def test_a_second_recorder_on_one_database_is_refused(broker, tmp_path):
    db = tmp_path / "hub.db"
    first_cfg = recorder_config(tmp_path, broker, db, "rec-one")
    log = tmp_path / "one.log"
    monitor = start_bedside("monitor", config=first_cfg, log=tmp_path / "monitor.log")
    first = start_bedside("recorder", config=first_cfg, log=log)
    try:
        wait_until(lambda: "connected to" in log.read_text(errors="replace"), what="connect")
        second = run_bedside(
            "recorder", config=recorder_config(tmp_path, broker, db, "rec-two"), timeout=60
        )
        assert second.returncode == 1, second.stderr
        assert "Traceback" not in second.stderr
        assert "bedside recorder" in second.stderr and "already runs" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert first.poll() is None and monitor.poll() is None  # both still run
    finally:
        assert stop_process(first) == 0
        assert stop_process(monitor) == 0
    again = start_bedside("recorder", config=first_cfg, log=tmp_path / "again.log")
    try:  # the lock went with the first one
        wait_until(
            lambda: "connected to" in (tmp_path / "again.log").read_text(errors="replace"),
            what="a recorder after the first stopped",
        )
    finally:
        assert stop_process(again) == 0
