"""`bedside export --node/--all-nodes` and import's node column: many rooms in one file."""

from __future__ import annotations

import csv
import io

from monitor.clock import FakeClock, iso_utc
from monitor.store import Reading, Store
from tests.support import run_bedside

T0 = FakeClock().now_ms() - 86_400_000
ROOMS = {"kid": 16.5, "parents": 18.25, "guest": 20.0}


def seed(store: Store) -> None:
    for k, (node, temp) in enumerate(ROOMS.items()):
        store.add_readings(
            node, [Reading(T0 + i * 30_000, temp + i / 10, 40.0 + k) for i in range(5)]
        )
        store.add_cramp(
            node, T0 + 3_600_000 + k, source="mqtt", now_ms=T0, leg="left", severity=k + 1
        )
    gone, _ = store.add_cramp("kid", T0 + 7_200_000, source="mqtt", now_ms=T0, note="undone")
    store.delete_cramp(gone.id, now_ms=T0)


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_node_exports_one_room_without_a_node_column(make_config, store):
    seed(store)
    path, _ = make_config()
    out = run_bedside("export", "readings", "--node", "parents", config=path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "timestamp,temperature_c,humidity_pct"
    got = rows(out.stdout)
    assert [r["timestamp"] for r in got] == [iso_utc(T0 + i * 30_000) for i in range(5)]
    assert [float(r["temperature_c"]) for r in got] == [18.25 + i / 10 for i in range(5)]


def test_export_all_nodes_adds_a_node_column_and_round_trips(make_config, store, tmp_path):
    seed(store)
    path, _ = make_config()
    out = run_bedside("export", "readings", "--all-nodes", config=path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "timestamp,temperature_c,humidity_pct,node"
    assert {r["node"] for r in rows(out.stdout)} == set(ROOMS)
    assert len(rows(out.stdout)) == 15

    exported = tmp_path / "all.csv"
    exported.write_text(out.stdout)
    fresh_db = tmp_path / "fresh.db"
    fresh, _ = make_config({"storage": {"database": str(fresh_db)}}, name="fresh.toml")
    imp = run_bedside("import", "readings", str(exported), config=fresh)
    assert imp.returncode == 0, imp.stderr
    assert "imported 15 new readings" in imp.stdout
    with Store.open_readonly(fresh_db) as copy:
        for node in ROOMS:
            assert copy.readings(node) == store.readings(node)
    again = run_bedside("import", "readings", str(exported), config=fresh)
    assert "imported 0 new readings of 15" in again.stdout


def test_cramps_export_all_nodes_round_trips_without_deleted_ones(make_config, store, tmp_path):
    seed(store)
    path, _ = make_config()
    out = run_bedside("export", "cramps", "--all-nodes", config=path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].endswith(",node")
    got = rows(out.stdout)
    assert [(r["node"], r["severity"]) for r in got] == [
        ("kid", "1"),
        ("parents", "2"),
        ("guest", "3"),
    ]
    assert all(r["note"] != "undone" for r in got)

    exported = tmp_path / "cramps.csv"
    exported.write_text(out.stdout)
    fresh_db = tmp_path / "fresh.db"
    fresh, _ = make_config({"storage": {"database": str(fresh_db)}}, name="fresh.toml")
    imp = run_bedside("import", "cramps", str(exported), config=fresh)
    assert imp.returncode == 0, imp.stderr
    with Store.open_readonly(fresh_db) as copy:
        assert [(c.node, c.ts_ms, c.severity) for c in copy.cramps(None)] == [
            (c.node, c.ts_ms, c.severity) for c in store.cramps(None)
        ]


def test_import_uses_the_node_column_and_falls_back_to_node_flag(make_config, tmp_path, db_path):
    path, _ = make_config()
    csv_file = tmp_path / "mixed.csv"
    csv_file.write_text(
        "timestamp,temperature_c,humidity_pct,node\n"
        f"{iso_utc(T0)},17.5,40,kid\n"
        f"{iso_utc(T0)},19.0,,\n"  # blank node: the --node default
    )
    imp = run_bedside("import", "readings", str(csv_file), "--node", "hall", config=path)
    assert imp.returncode == 0, imp.stderr
    with Store.open_readonly(db_path) as s:
        assert s.readings("kid") == [Reading(T0, 17.5, 40.0)]
        assert s.readings("hall") == [Reading(T0, 19.0, None)]


def test_import_rejects_a_bad_node_naming_the_line_and_writes_nothing(
    make_config, tmp_path, db_path
):
    path, _ = make_config()
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "timestamp,temperature_c,humidity_pct,node\n"
        f"{iso_utc(T0)},17.5,40,kid\n"
        f"{iso_utc(T0 + 1000)},17.5,40,kid's room\n"
    )
    imp = run_bedside("import", "readings", str(csv_file), config=path)
    assert imp.returncode == 1
    assert "line 3" in imp.stderr and "node" in imp.stderr
    with Store.open(db_path) as s:
        assert s.count_readings() == 0


def test_node_and_all_nodes_together_is_a_usage_error(make_config):
    path, _ = make_config()
    out = run_bedside("export", "readings", "--node", "kid", "--all-nodes", config=path)
    assert out.returncode == 2
    assert "not allowed with argument" in out.stderr


def test_export_of_an_unknown_node_names_the_known_ones(make_config, store):
    seed(store)
    path, _ = make_config()
    out = run_bedside("export", "readings", "--node", "kidd", config=path)
    assert out.returncode == 1
    assert "kidd" in out.stderr and "guest, kid, parents" in out.stderr
    assert "Traceback" not in out.stderr
