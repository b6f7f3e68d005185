"""Round 2, item 1: a row stamped in the future, imported before the first start, must not
become the relay's watermark (it silenced MQTT until that future came); `prune-future`
repairs a watermark it finds ahead.  Against a real mosquitto and the real CLI."""

from __future__ import annotations

import pytest

from monitor.clock import iso_utc
from monitor.store import Store
from tests.fault_support import NODE, received_reading_ts, stored_ts
from tests.support import Subscriber, run_bedside, start_bedside, stop_process, wait_until

pytestmark = pytest.mark.faults

FUTURE_MS = 1_893_456_000_000  # 2030-01-01T00:00:00Z


@pytest.fixture
def monitor_config(make_config, broker):
    path, config = make_config(
        {
            "sensor": {"kind": "simulated", "interval_s": 2},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
        }
    )
    return path, config


def import_future_row(path, tmp_path) -> None:
    csv = tmp_path / "future.csv"
    csv.write_text(f"timestamp,temperature_c,humidity_pct\n{iso_utc(FUTURE_MS)},19.5,50\n")
    r = run_bedside("import", "readings", str(csv), config=path)
    assert r.returncode == 0, r.stderr


def watermark(db) -> int | None:
    with Store.open_readonly(db) as s:
        return s.outbox_watermark(NODE)


def run_until_fresh_reading_published(path, db, broker, tmp_path, name: str):
    """Start `bedside monitor`, wait for two readings stored after the start, stop it;
    return (the instants of the /reading messages the broker delivered, the fresh ones)."""
    sub = Subscriber(broker, f"bedside/{NODE}/reading")
    before = set(stored_ts(db))
    proc = start_bedside("monitor", config=path, log=tmp_path / f"{name}.log")
    try:
        fresh = wait_until(
            lambda: [t for t in stored_ts(db) if t not in before and t < FUTURE_MS][1:],
            what="readings stored by the daemon",
        )
        try:
            sub.wait_for(lambda seen: fresh[0] in received_reading_ts(sub), timeout=15)
        except AssertionError:
            pass  # asserted below, with what was received
        got = received_reading_ts(sub)
    finally:
        assert stop_process(proc) == 0
        sub.close()
    return got, fresh


def leave_watermark_ahead(db_path) -> None:
    """What the old relay left behind: the reading watermark at the 2030 row."""
    with Store.open(db_path) as store:
        store.set_outbox_watermark(NODE, FUTURE_MS)


def test_an_imported_future_row_does_not_silence_mqtt(monitor_config, db_path, broker, tmp_path):
    path, _ = monitor_config
    import_future_row(path, tmp_path)
    got, fresh = run_until_fresh_reading_published(path, db_path, broker, tmp_path, "first")
    assert fresh[0] in got, f"no fresh reading published (got {sorted(got)})"
    assert FUTURE_MS not in got  # a future row waits for its time
    assert watermark(db_path) < FUTURE_MS


def test_prune_future_repairs_a_watermark_left_ahead(monitor_config, db_path, broker, tmp_path):
    """A database the old relay already left with a 2030 watermark."""
    path, _ = monitor_config
    import_future_row(path, tmp_path)
    leave_watermark_ahead(db_path)
    r = run_bedside("prune-future", config=path)
    assert r.returncode == 0 and "watermark" in r.stdout, r.stdout
    assert watermark(db_path) == FUTURE_MS  # listed only, without --yes
    r = run_bedside("prune-future", "--yes", config=path)
    assert r.returncode == 0, r.stderr
    assert "watermark" in r.stdout, r.stdout
    assert watermark(db_path) < FUTURE_MS
    got, fresh = run_until_fresh_reading_published(path, db_path, broker, tmp_path, "after")
    assert fresh[0] in got, f"no fresh reading published (got {sorted(got)})"


def test_the_relay_repairs_a_watermark_ahead_at_start(monitor_config, db_path, broker, tmp_path):
    """Without prune-future: the daemon's own start moves it back (future row kept)."""
    path, _ = monitor_config
    import_future_row(path, tmp_path)
    leave_watermark_ahead(db_path)
    got, fresh = run_until_fresh_reading_published(path, db_path, broker, tmp_path, "start")
    assert fresh[0] in got, f"no fresh reading published (got {sorted(got)})"
