"""The command line of issue #16: global options after the command, --database, a node that
does not exist, and help that explains every command and option."""

from __future__ import annotations

import json
import re

import pytest

from monitor.store import Reading, Store
from tests.support import run_bedside

T0 = 1_780_272_000_000 + 10 * 86_400_000  # 2026-06-11T00:00Z


@pytest.fixture
def copied_db(tmp_path):
    """A database as copied from another Pi: node 'guestroom', a few nights of readings."""
    path = tmp_path / "copy.db"
    with Store.open(path) as s:
        s.add_readings("guestroom", [Reading(T0 + i * 300_000, 17.0, 50.0) for i in range(600)])
        s.add_cramp("guestroom", T0 + 3_600_000, source="cli", now_ms=T0)
    return path


def test_global_options_work_after_the_command(make_config, copied_db):
    path, _ = make_config({"storage": {"database": str(copied_db)}, "node": {"id": "guestroom"}})
    after = run_bedside("analyze", "--config", str(path), "--json")
    assert after.returncode == 0, after.stderr
    before = run_bedside("--config", str(path), "analyze", "--json")
    assert json.loads(after.stdout)["nights"] == json.loads(before.stdout)["nights"]
    assert json.loads(after.stdout)["nights"]["valid"] >= 1
    level = run_bedside("config", "show", "--config", str(path), "--log-level", "ERROR")
    assert level.returncode == 0 and "guestroom" in level.stdout


def test_a_global_option_after_the_command_wins_and_absent_keeps_the_first(make_config):
    from monitor.cli.main import build_parser

    p = build_parser()
    assert p.parse_args(["--config", "a", "analyze"]).config == "a"
    assert p.parse_args(["analyze", "--config", "b"]).config == "b"
    assert p.parse_args(["--config", "a", "analyze", "--config", "b"]).config == "b"
    assert p.parse_args(["analyze"]).config is None


def test_database_option_reads_a_copied_database_without_a_config(copied_db, tmp_path):
    done = run_bedside("analyze", "--database", str(copied_db), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["nights"]["valid"] >= 1  # its only node, 'guestroom', was analysed
    exported = run_bedside("export", "cramps", "--node", "guestroom", "--database", str(copied_db))
    assert exported.returncode == 0 and "2026-06-11T01:00:00Z" in exported.stdout
    backup = run_bedside("backup", str(tmp_path / "b.db"), "--database", str(copied_db))
    assert backup.returncode == 0 and str(copied_db) in backup.stdout


def test_an_unknown_node_is_named_with_the_known_ones(copied_db):
    done = run_bedside("analyze", "--database", str(copied_db), "--node", "guestrom")
    assert done.returncode == 2
    assert "no such node" in done.stderr and "--node guestrom" in done.stderr
    assert "known: guestroom" in done.stderr
    assert "keep logging" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "command", ["monitor", "recorder", "backup", "config", "demo", "analyze", "report"]
)
def test_help_explains_the_command_and_every_option(command):
    done = run_bedside(command, "--help")
    assert done.returncode == 0
    text = done.stdout
    _, _, rest = text.partition("\n\n")
    purpose = rest.split("\n\n")[0]
    assert not purpose.startswith(("options:", "positional arguments:")), command
    assert len(purpose.split()) >= 4, f"{command}: no line of purpose"
    # Every option and positional argument listed has an explanation beside or below it.
    body = text[text.index("options:") :]
    entries = re.findall(r"^  (\S.*?)(?:\s{2,}(\S.*))?$", body, re.M)
    for name, explanation in entries:
        if name.startswith("-h"):
            continue
        assert explanation or re.search(re.escape(name) + r"\n\s{10,}\S", body), (command, name)
    if command == "demo":
        assert re.search(r"--port PORT\s+dashboard port", text)
