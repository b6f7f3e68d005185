"""`bedside cramp`: the shell's way to log what the button logs (real CLI, real database)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.cli.commands import cramp_instant
from monitor.clock import parse_instant
from monitor.store import Store
from tests.support import run_bedside

BERLIN = "Europe/Berlin"


def cramps(db_path):
    with Store.open(db_path) as store:
        return store.cramps("testroom", include_deleted=True)


def test_all_fields_and_local_time(make_config, db_path):
    path, _ = make_config()
    r = run_bedside(
        "cramp", "--at", "2026-11-21T02:10", "--leg", "left", "--severity", "4",
        "--note", "calf, woke me", "--remedy", "stretch", "--relief-min", "3.5",
        config=path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "2026-11-21T01:10:00Z (2026-11-21 02:10 Europe/Berlin)" in r.stdout
    (c,) = cramps(db_path)
    assert c.ts_ms == parse_instant("2026-11-21T01:10:00Z")
    assert (c.leg, c.severity, c.note, c.remedy, c.relief_min, c.source) == (
        "left", 4, "calf, woke me", "stretch", 3.5, "cli",
    )  # fmt: skip
    assert not c.published  # the running daemon's relay will publish it


def test_only_the_instant_is_required(make_config, db_path):
    path, _ = make_config()
    r = run_bedside("cramp", config=path)
    assert r.returncode == 0, r.stderr
    (c,) = cramps(db_path)
    assert (c.leg, c.severity, c.note, c.remedy, c.relief_min) == (None,) * 5


def test_same_instant_twice_is_one_cramp(make_config, db_path):
    path, _ = make_config()
    for _ in range(2):
        r = run_bedside("cramp", "--at", "2026-11-21T01:10:00Z", config=path)
        assert r.returncode == 0, r.stderr
    assert "already logged" in r.stdout
    assert len(cramps(db_path)) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--leg", "middle"], "invalid choice"),
        (["--severity", "7"], "invalid choice"),
        (["--remedy", "prayer"], "invalid choice"),
        (["--relief-min", "-1"], "--relief-min must be minutes from 0 to 1440"),
        (["--relief-min", "nan"], "--relief-min must be minutes"),
        (["--note", "x" * 2001], "--note must be text of at most 2000 characters"),
        (["--at", "yesterday"], "--at: not an ISO 8601 time"),
        (["--at", "25:10"], "--at: '25:10' is not a time of day"),
        (["--at", "2100-01-01T00:00Z"], "is in the future"),
        (["--at", "2999-01-01T00:00Z"], "outside the years 1970-2199"),
        # The dashboard's rule too: not before this software existed.
        (["--at", "1970-01-01T00:00Z"], "before this software existed"),
        (["--at", "2026-05-31T23:00Z"], "before this software existed"),
    ],
)
def test_bad_input_is_a_clear_error_and_logs_nothing(make_config, db_path, args, message):
    path, _ = make_config()
    r = run_bedside("cramp", *args, config=path)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not db_path.exists() or cramps(db_path) == []


def test_bare_clock_time_is_the_most_recent_one():
    tz = ZoneInfo(BERLIN)
    now = round(datetime(2026, 11, 21, 7, 30, tzinfo=tz).timestamp() * 1000)
    assert cramp_instant("02:10", BERLIN, now) == round(
        datetime(2026, 11, 21, 2, 10, tzinfo=tz).timestamp() * 1000
    )
    assert cramp_instant("23:50", BERLIN, now) == round(
        datetime(2026, 11, 20, 23, 50, tzinfo=tz).timestamp() * 1000
    )
    assert cramp_instant("2026-11-21T01:10Z", BERLIN, now) == parse_instant("2026-11-21T01:10Z")


def test_logging_again_at_a_deleted_cramps_instant_restores_it(make_config):
    from monitor.store import Store

    path, cfg = make_config()
    first = run_bedside("cramp", "--at", "2026-11-20T02:10:00Z", config=path)
    assert first.returncode == 0
    with Store.open(cfg.storage.database) as store:
        (cramp,) = store.cramps(None)
        store.delete_cramp(cramp.id, now_ms=cramp.ts_ms + 1)
    again = run_bedside("cramp", "--at", "2026-11-20T02:10:00Z", config=path)
    assert again.returncode == 0 and "restored" in again.stdout
    with Store.open(cfg.storage.database) as store:
        assert [c.id for c in store.cramps(None)] == [cramp.id]
