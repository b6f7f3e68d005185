"""Round 2, item 13: small input faults, each through the real CLI or the real app on
real SQLite files: a FIFO as --config, a re-import that disagrees with a stored row, the
import summary's words, notes that start with whitespace before a formula character, and
the Now page over a damaged page 2."""

from __future__ import annotations

import io
import os

import pytest

from monitor.clock import FakeClock
from monitor.csvio import export_cramps, import_cramps
from monitor.store import Store
from tests.support import run_bedside
from tests.test_faults_corrupt import corrupt, fill

NODE = "testroom"
T = "2026-06-02T01:00:00Z"


def test_a_fifo_as_config_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    r = run_bedside("config", "check", config=fifo, timeout=30)
    assert r.returncode == 2, r.stderr
    assert "not a regular file" in r.stderr and str(fifo) in r.stderr
    assert "Traceback" not in r.stderr


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_reimporting_another_value_for_a_stored_instant_is_named(make_config, db_path, tmp_path):
    path, _ = make_config()
    first = write(tmp_path, "a.csv", f"timestamp,temperature_c,humidity_pct\n{T},20.0,50\n")
    assert run_bedside("import", "readings", first, config=path).returncode == 0
    other = write(
        tmp_path,
        "b.csv",
        f"timestamp,temperature_c,humidity_pct\n2026-06-02T00:59:00Z,19,50\n{T},21.5,50\n",
    )
    r = run_bedside("import", "readings", other, config=path)
    assert r.returncode == 0, r.stderr
    warning = [line for line in r.stderr.splitlines() if "already stored" in line]
    assert warning and "line 3" in warning[0], r.stderr
    assert "20 °C" in warning[0] and "21.5 °C" in warning[0], warning
    assert "imported 1 new readings of 2" in r.stdout and "1 already stored" in r.stdout
    with Store.open_readonly(db_path) as s:  # nothing changed
        assert [(r.temperature_c) for r in s.readings(NODE)] == [19.0, 20.0]
    cramps = write(tmp_path, "c.csv", f"timestamp,leg,severity,note\n{T},left,3,first\n")
    assert run_bedside("import", "cramps", cramps, config=path).returncode == 0
    changed = write(tmp_path, "d.csv", f"timestamp,leg,severity,note\n{T},right,3,first\n")
    r = run_bedside("import", "cramps", changed, config=path)
    warning = [line for line in r.stderr.splitlines() if "already stored" in line]
    assert warning and "line 2" in warning[0] and "left" in warning[0] and "right" in warning[0]
    with Store.open_readonly(db_path) as s:
        assert [c.leg for c in s.cramps(NODE)] == ["left"]


def test_the_summary_tells_rows_repeated_in_the_file_from_rows_already_stored(
    make_config, tmp_path
):
    path, _ = make_config()
    twice = write(
        tmp_path, "twice.csv", f"timestamp,temperature_c,humidity_pct\n{T},20.0,50\n{T},20.0,50\n"
    )
    r = run_bedside("import", "readings", twice, config=path)
    assert r.returncode == 0, r.stderr
    assert "imported 1 new readings of 2" in r.stdout, r.stdout
    assert "1 repeated in this file" in r.stdout and "already stored" not in r.stdout


NOTES = [" =1+1", "\n=cmd|' /C calc'!A0", "\t=x", "  padded  ", "line\n", " @SUM(A1)", "'plain"]


@pytest.mark.parametrize("note", NOTES)
def test_notes_round_trip_exactly_and_stay_harmless(tmp_path, note):
    with Store.open(tmp_path / "a.db") as a:
        a.add_cramp(NODE, 1_790_000_000_000, source="cli", now_ms=1, note=note)
        out = io.StringIO()
        export_cramps(a, out, [NODE])
    text = out.getvalue()
    cell = text.split("\n", 1)[1].split(",", 3)[3]
    assert not cell.lstrip('"').lstrip().startswith(("=", "+", "-", "@")), cell
    with Store.open(tmp_path / "b.db") as b:
        import_cramps(b, io.StringIO(text), NODE, 3)
        assert [c.note for c in b.cramps(NODE)] == [note]


def test_the_now_page_says_the_database_is_damaged(make_config, db_path, app_factory):
    fill(db_path, FakeClock())
    corrupt(db_path, "page2")
    app = app_factory(clock=FakeClock())
    client = app.test_client()
    r = client.get("/")
    body = r.get_data(as_text=True)
    assert "is damaged" in body and "backup" in body, (r.status_code, body[:500])
    assert client.get("/healthz").status_code == 503
