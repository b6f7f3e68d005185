"""The pooled study from a real store and the real CLI: who takes part, each person's own
time zone across clock changes, and bad choices said in words (exit 2, no traceback)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.analysis.study import pooled
from monitor.config import load
from monitor.store import Reading, Store
from tests.support import run_bedside, write_config

STEP_MS = 300_000


def fill(store: Store, node: str, zone: str, first: str, days: int, cramps: list[str]) -> None:
    """5-minute readings over `days` local days from `first` (local midnight), and cramps
    at local wall-clock times (resolved as zoneinfo does, fold=0)."""
    tz = ZoneInfo(zone)
    start = int(datetime.fromisoformat(first).replace(tzinfo=tz).timestamp() * 1000)
    end = int(
        (datetime.fromisoformat(first) + timedelta(days=days)).replace(tzinfo=tz).timestamp() * 1000
    )
    store.add_readings(
        node,
        [Reading(t, 17.0 + (t // STEP_MS) % 7 * 0.3, 50.0) for t in range(start, end, STEP_MS)],
    )
    for text in cramps:
        at = int(datetime.fromisoformat(text).replace(tzinfo=tz).timestamp() * 1000)
        store.add_cramp(node, at, source="import", now_ms=at)


@pytest.fixture
def two_zones(tmp_path, db_path):
    """Sydney and Berlin, each over both of its 2026 clock changes, cramps at 02:30 local on
    the change nights (a time that does not exist, and one that happens twice)."""
    with Store.open(db_path) as store:
        fill(store, "syd", "Australia/Sydney", "2026-04-01", 8, ["2026-04-05T02:30"])
        fill(store, "syd", "Australia/Sydney", "2026-10-01", 8, ["2026-10-04T02:30"])
        fill(store, "ber", "Europe/Berlin", "2026-03-26", 8, ["2026-03-29T02:30"])
        fill(store, "ber", "Europe/Berlin", "2026-10-22", 8, ["2026-10-25T02:30"])
        store.set_node_timezone("syd", "Australia/Sydney")
    path = write_config(
        tmp_path / "config.toml",
        {
            "node": {"id": "recorder", "timezone": "UTC"},
            "storage": {"database": str(db_path)},
            "mqtt": {"enabled": False},
            "study.timezones": {"ber": "Europe/Berlin"},
        },
    )
    return path


def test_each_person_gets_their_own_night_windows_across_both_clock_changes(two_zones):
    config = load(two_zones)
    with Store.open(config.storage.database) as store:
        report, who = pooled(store, config, now_ms=2**41, as_of_ms=None)
    assert who.zones == {"ber": "Europe/Berlin", "syd": "Australia/Sydney"}
    rows = {r["node"]: r for r in report["per_person"]}
    # 7 whole nights per stretch (the last local day's night runs past the data); the 11-
    # and 13-hour change nights are valid nights too, and each 02:30 cramp lands in the night
    # of the evening before it, in its own person's zone.
    assert (rows["syd"]["valid"], rows["syd"]["cramp"]) == (14, 2)
    assert (rows["ber"]["valid"], rows["ber"]["cramp"]) == (14, 2)
    # In the other person's zone, or in UTC, 02:30 in Sydney is an afternoon: no night.
    with Store.open(config.storage.database) as store:
        store.set_node_timezone("syd", "Europe/Berlin")
    with Store.open(config.storage.database) as store:
        wrong, _ = pooled(store, config, now_ms=2**41)
    assert {r["node"]: r["cramp"] for r in wrong["per_person"]}["syd"] == 0


def test_analyze_pooled_json_prints_the_contract_and_names_who_is_left_out(two_zones, db_path):
    with Store.open(db_path) as store:
        fill(store, "nozone", "UTC", "2026-05-01", 3, [])
    done = run_bedside("analyze", "--pooled", "--json", config=two_zones)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["contract"] == 3 and [r["node"] for r in report["per_person"]] == ["ber", "syd"]
    assert "left out of the study: nozone (no time zone known)" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--nodes", "ber,ghost"],
            "--nodes: no readings stored for ghost (nodes with readings: ber, syd)",
        ),
        (["--nodes", "ber,no zone"], "--nodes: expected node ids separated by commas"),
        (["--as-of", "2020-01-01T00:00:00Z"], "is before every reading of the people taking part"),
        (["--as-of", "yesterday"], "--as-of: expected an ISO 8601 instant"),
    ],
)
def test_bad_choices_are_a_clear_message_and_exit_2(two_zones, args, message):
    done = run_bedside("analyze", "--pooled", "--json", *args, config=two_zones)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_chosen_node_without_a_time_zone_is_refused_by_name(two_zones, db_path):
    with Store.open(db_path) as store:
        fill(store, "nozone", "UTC", "2026-05-01", 3, [])
    done = run_bedside("analyze", "--pooled", "--json", "--nodes", "ber,nozone", config=two_zones)
    assert done.returncode == 2
    assert "no time zone known for nozone" in done.stderr and "[study.timezones]" in done.stderr


def test_nodes_without_pooled_is_a_usage_error(two_zones):
    done = run_bedside("analyze", "--json", "--nodes", "ber", config=two_zones)
    assert done.returncode == 2 and "--nodes goes with --pooled" in done.stderr


def test_the_pooled_text_says_the_study_pages_sentences_first(two_zones):
    from monitor.analysis.reports import plain_lines

    report = json.loads(run_bedside("analyze", "--pooled", "--json", config=two_zones).stdout)
    done = run_bedside("analyze", "--pooled", "--as-of", report["as_of"], config=two_zones)
    assert done.returncode == 0, done.stderr
    said = [text for _, text in plain_lines(report, pooled=True)]
    assert done.stdout.splitlines()[: len(said)] == said
    assert f"Verdict: Too early ({report['verdict']})" in done.stdout
    assert "  ber:" in done.stdout and "  syd:" in done.stdout


def test_by_default_only_people_with_a_reading_by_as_of_take_part(two_zones, db_path):
    """analysis-spec.md: the default people are the nodes with a reading at or before as_of."""
    with Store.open(db_path) as store:
        fill(store, "late", "UTC", "2026-11-01", 3, [])
        store.set_node_timezone("late", "UTC")
    as_of = "2026-10-30T00:00:00Z"  # after Berlin's and Sydney's stretches, before "late"
    done = run_bedside("analyze", "--pooled", "--json", "--as-of", as_of, config=two_zones)
    assert done.returncode == 0, done.stderr
    assert [r["node"] for r in json.loads(done.stdout)["per_person"]] == ["ber", "syd"]
    assert "left out of the study: late (no reading by the time of the analysis)" in done.stderr


@pytest.mark.parametrize("flag", [["--node", "ber"], ["--timezone", "UTC"]])
def test_one_room_options_are_refused_with_pooled(two_zones, flag):
    done = run_bedside("analyze", "--pooled", "--json", *flag, config=two_zones)
    assert done.returncode == 2 and f"{flag[0]} is for one room" in done.stderr


def test_the_night_window_options_reach_every_person(two_zones):
    usual = run_bedside("analyze", "--pooled", "--json", config=two_zones)
    late = run_bedside(
        "analyze", "--pooled", "--json", "--night-start", "20:00", "--night-end", "02:00",
        config=two_zones,
    )  # fmt: skip
    assert usual.returncode == late.returncode == 0, late.stderr
    assert json.loads(usual.stdout)["nights"]["cramp"] == 4
    assert (
        json.loads(late.stdout)["nights"]["cramp"] == 0
    )  # nights end at 02:00 now: 02:30 is in none
