"""CSV import and export: round trip, all-or-nothing with the line named, closed pipes."""

from __future__ import annotations

import io

import pytest

from monitor.csvio import CsvError, export_cramps, export_readings, import_cramps, import_readings
from monitor.store import Reading, Store
from tests.support import OWN_EXAMPLES, run_bedside

EXAMPLE = OWN_EXAMPLES / "vienna-winter"


def test_example_import_export_round_trip(store, tmp_path):
    with open(EXAMPLE / "readings.csv", newline="") as f:
        result = import_readings(store, f, "bedroom")
    assert result.added == result.rows == 32896
    with open(EXAMPLE / "cramps.csv", newline="") as f:
        assert import_cramps(store, f, "bedroom", now_ms=1).added == 26

    readings_csv, cramps_csv = io.StringIO(), io.StringIO()
    assert export_readings(store, readings_csv, ["bedroom"]) == 32896
    assert export_cramps(store, cramps_csv, ["bedroom"]) == 26

    other = Store.open(tmp_path / "other.db")
    readings_csv.seek(0)
    cramps_csv.seek(0)
    import_readings(other, readings_csv, "bedroom")
    import_cramps(other, cramps_csv, "bedroom", now_ms=1)
    assert other.readings("bedroom") == store.readings("bedroom")
    assert [(c.ts_ms, c.leg, c.severity) for c in other.cramps("bedroom")] == [
        (c.ts_ms, c.leg, c.severity) for c in store.cramps("bedroom")
    ]
    # a second import of the original changes nothing
    with open(EXAMPLE / "readings.csv", newline="") as f:
        assert import_readings(other, f, "bedroom").added == 0


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("2026-01-01T00:00:00Z,20,40\n2026-01-01T00:05:00,20,40\n", 3, "no UTC offset"),
        ("2026-01-01T00:00:00Z,abc,40\n", 2, "not a number"),
        ("2026-01-01T00:00:00Z,20,140\n", 2, "outside"),
        ("2026-01-01T00:00:00Z,nan,40\n", 2, "finite"),
        ("2026-01-01T00:00:00Z,20\n", 2, "expected 3 fields"),
    ],
)
def test_bad_csv_row_names_the_line_and_imports_nothing(store, body, line, reason):
    text = "timestamp,temperature_c,humidity_pct\n" + body
    with pytest.raises(CsvError) as err:
        import_readings(store, io.StringIO(text), "a", "r.csv")
    assert f"r.csv: line {line}:" in err.value.errors[0]
    assert reason in err.value.errors[0]
    assert store.count_readings() == 0


def test_import_cli_all_or_nothing(make_config, tmp_path):
    path, cfg = make_config()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,leg,severity,note\n2026-01-01T03:00:00Z,left,2,\n2026-01-02T03:00:00Z,left,9,\n"
    )
    result = run_bedside("import", "cramps", str(bad), config=path)
    assert result.returncode == 1
    assert "line 3" in result.stderr and "severity" in result.stderr
    assert "Traceback" not in result.stderr
    with Store.open(cfg.storage.database) as s:
        assert s.cramps(None) == []


def test_export_into_a_closed_pipe_is_not_a_traceback(make_config):
    import subprocess

    from tests.support import ROOT, bedside_env

    path, cfg = make_config()
    with Store.open(cfg.storage.database) as s:
        s.add_readings(
            "testroom", [Reading(1_790_000_000_000 + i * 30_000, 18.0, 50.0) for i in range(50_000)]
        )
    cmd = f"'{__import__('sys').executable}' -m monitor --config '{path}' export readings | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd],
        capture_output=True,
        text=True,
        env=bedside_env(),
        cwd=ROOT,
        timeout=120,
    )
    assert result.stdout == "timestamp,temperature_c,humidity_pct\n"
    assert "Traceback" not in result.stderr
    assert result.returncode == 0


@pytest.mark.parametrize(
    "note",
    ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "'=already", "'plain"],
)
def test_export_neutralises_formulas_in_notes_and_import_takes_it_back(store, note):
    store.add_cramp("n", 1_790_000_000_000, source="cli", now_ms=1, note=note)
    out = io.StringIO()
    export_cramps(store, out, ["n"])
    cell = out.getvalue().splitlines()[1].split(",", 3)[3]
    assert not cell.lstrip('"').startswith(("=", "+", "-", "@"))
    store.delete_cramp(1, now_ms=2)
    fresh = Store.open(store.path.with_name("copy.db"))
    import_cramps(fresh, io.StringIO(out.getvalue()), "n", 3)
    assert [c.note for c in fresh.cramps("n")] == [note]
    fresh.close()


def test_export_keeps_negative_temperatures_numeric_and_round_trips(store, tmp_path):
    store.add_readings("n", [Reading(1_790_000_000_000, -3.5, 40.0)])
    out = io.StringIO()
    export_readings(store, out, ["n"])
    assert "-3.5" in out.getvalue() and "'-3.5" not in out.getvalue()
    fresh = Store.open(tmp_path / "copy.db")
    import_readings(fresh, io.StringIO(out.getvalue()), "n", "r.csv")
    assert fresh.readings("n")[0].temperature_c == -3.5
    fresh.close()


@pytest.mark.parametrize(
    "kind, body, lines",
    [
        (
            "readings",
            "timestamp,temperature_c,humidity_pct\n2026-09-15T10:00:00Z,20.5,50\n"
            "2026-09-15T10:00:30Z,20.6,50\n2026-09-15T10:00:00Z,21.5,50\n",
            ("line 4", "line 2"),
        ),
        (
            "cramps",
            "timestamp,leg,severity,note\n2026-09-15T03:00:00Z,left,2,\n"
            "2026-09-15T05:00:00+02:00,right,2,\n",
            ("line 3", "line 2"),
        ),
    ],
)
def test_two_rows_for_one_instant_that_disagree_keep_the_first_and_say_so(
    make_config, tmp_path, db_path, kind, body, lines
):
    """The contract's import format: same node and instant = the same row, so the first
    one read stays (its lisbon-seasons example writes an hour twice). The repeat is not
    silent: the warning names both lines."""
    path, _ = make_config()
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(body)
    r = run_bedside("import", kind, str(csv_file), config=path)
    assert r.returncode == 0, r.stderr
    assert (
        f"{lines[0]}: 2026-09-15T03:00:00Z" in r.stderr or f"{lines[0]}: 2026-09-15T10" in r.stderr
    )
    assert f"also on {lines[1]} with other values" in r.stderr
    assert "the first one read is kept" in r.stderr
    with Store.open(db_path) as s:
        if kind == "readings":
            assert [x.temperature_c for x in s.readings("testroom")] == [20.5, 20.6]
        else:
            assert [c.leg for c in s.cramps(None)] == ["left"]


def test_the_same_row_twice_is_fine(store):
    text = "timestamp,temperature_c,humidity_pct\n2026-09-15T10:00:00Z,20.5,50\n"
    text += "2026-09-15T10:00:00Z,20.5,50\n"
    assert import_readings(store, io.StringIO(text), "a").added == 1


@pytest.mark.parametrize("kind", ["readings", "cramps"])
def test_rows_stamped_in_the_future_are_imported_with_their_line_named(
    make_config, tmp_path, db_path, kind
):
    """Imported (the contract's examples run past this machine's clock), never silently:
    the warning names the line and the way to remove such rows."""
    path, _ = make_config()
    header = (
        "timestamp,temperature_c,humidity_pct"
        if kind == "readings"
        else "timestamp,leg,severity,note"
    )
    row = "20.5,50" if kind == "readings" else "left,2,"
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(f"{header}\n2026-09-15T10:00:00Z,{row}\n2099-11-29T05:00:00Z,{row}\n")
    r = run_bedside("import", kind, str(csv_file), config=path)
    assert r.returncode == 0, r.stderr
    assert "line 3: 2099-11-29T05:00:00Z is in the future" in r.stderr
    assert "bedside prune-future" in r.stderr
    with Store.open(db_path) as s:
        assert (s.count_readings() if kind == "readings" else len(s.cramps(None))) == 2
