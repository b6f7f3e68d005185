# ruff: noqa: F811  (the recorder fixtures, imported from tests.test_recorder, are parameters)
"""Round 2, item 11: the recorder's node cap was first come, first served, and silent.
A flood of invented rooms, then a real new room: the owner's listed rooms (`[recorder]
nodes`) are always accepted, and the rooms refused are named (the busiest first) on the
Rooms page and by `bedside doctor`.  A real mosquitto, the real recorder and app."""

from __future__ import annotations

import pytest

from monitor.cli import doctor
from monitor.store import Store
from tests.support import run_bedside, wait_until
from tests.test_recorder import (  # noqa: F401  (fixtures)
    PREFIX,
    T0,
    publishers,
    query,
    rec_config,
    recorder_factory,
)

pytestmark = pytest.mark.broker


def test_listed_rooms_pass_the_cap_and_refused_ones_are_named(
    rec_config, recorder_factory, publishers, db_path, app_factory
):
    config = rec_config.replace(recorder={"max_nodes": 2, "nodes": ["nursery"]})
    recorder_factory(config)
    for i in range(5):  # the flood: room0 and room1 fill the cap
        publishers(f"room{i}").reading(T0 + i * 1000)
    attic = publishers("attic")  # a real room, added later: keeps sending
    for i in range(3):
        attic.reading(T0 + i * 30_000)
    publishers("nursery").reading(T0)  # listed by the owner
    marker = publishers("room0")
    marker.send(f"{PREFIX}/room0/status", b"online")
    wait_until(
        lambda: query(db_path, "SELECT status FROM nodes WHERE id='room0'") == [("online",)],
        what="the marker, sent last, stored",
    )
    stored = {n for (n,) in query(db_path, "SELECT DISTINCT node FROM readings")}
    assert stored == {"room0", "room1", "nursery"}

    def refused_now():
        with Store.open_readonly(db_path) as s:
            return s.refused_nodes()

    # Saved right after the batch that refused them (maybe the marker's own batch).
    refused = wait_until(
        lambda: (r := refused_now()) and sum(n["messages"] for n in r["nodes"]) == 6 and r,
        what="the refused ids saved",
    )
    assert refused["nodes"][0] == {"id": "attic", "messages": 3}, refused
    assert {n["id"] for n in refused["nodes"]} == {"attic", "room2", "room3", "room4"}
    app = app_factory({"storage": {"database": str(db_path)}})
    page = app.test_client().get("/rooms").get_data(as_text=True)
    assert "attic" in page and "[recorder] nodes" in page and "max_nodes" in page
    result = doctor.check_recorder(config)
    assert result.status == doctor.WARN and "attic (3 messages)" in result.detail
    assert "[recorder] nodes" in result.fix


@pytest.mark.parametrize(
    ("nodes", "says"),
    [
        ('["Bad Room"]', "Bad Room"),
        ('["kid", "kid"]', "more than once"),
        ('"kid"', "expected"),
    ],
)
def test_recorder_nodes_are_validated_with_clear_errors(tmp_path, nodes, says):
    path = tmp_path / "c.toml"
    path.write_text(f'[node]\nid = "hub"\ntimezone = "UTC"\n[recorder]\nnodes = {nodes}\n')
    r = run_bedside("config", "check", config=path)
    assert r.returncode == 2, r.stdout
    assert "[recorder] nodes" in r.stderr and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
