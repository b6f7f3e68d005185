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
    body = text[text.index("options:") :].split("\nexamples:\n")[0]
    entries = re.findall(r"^  (\S.*?)(?:\s{2,}(\S.*))?$", body, re.M)
    for name, explanation in entries:
        if name.startswith("-h"):
            continue
        assert explanation or re.search(re.escape(name) + r"\n\s{10,}\S", body), (command, name)
    if command == "demo":
        assert re.search(r"--port PORT\s+dashboard port", text)


# -- issue 22: help with examples, plurals, where a new database went ------------------------


def _parsers():
    """Every (sub)command's parser with its name: bedside, bedside cramp, bedside trial start…"""
    import argparse

    from monitor.cli.main import build_parser

    def walk(parser, name):
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    yield from walk(child, f"{name} {sub}")

    yield from walk(build_parser(), "bedside")


def test_every_help_has_a_description_and_examples_that_parse():
    import shlex

    from monitor.cli.main import build_parser

    seen = 0
    for name, parser in _parsers():
        text = parser.format_help()
        assert parser.description, f"{name} --help has no description"
        assert "\nexamples:\n" in text, f"{name} --help has no examples"
        for line in text.split("\nexamples:\n", 1)[1].splitlines():
            command = re.split(r"\s{2,}", line.strip())[0]  # the words after it explain it
            if not command.startswith("bedside ") or "COMMAND" in command:
                continue
            for part in re.split(r"\s*(?:\||&&|>)\s*", command):
                words = shlex.split(part.replace("$(date +%F)", "2026-12-07"))
                if words and words[0] == "bedside" and not part.endswith(".csv"):
                    build_parser().parse_args(words[1:])  # SystemExit (2) fails the test
                    seen += 1
    assert seen >= 30


def test_trial_start_help_says_what_it_does():
    result = run_bedside("trial", "start", "--help")
    assert result.returncode == 0
    assert "Plan the trial: draw which nights are warm" in result.stdout
    assert "bedside trial start --nights 56" in result.stdout


def test_counts_of_one_are_singular():
    from monitor.cli.analyze import _nights_in_strata
    from monitor.cli.trial import render_start
    from monitor.vocabulary import plural

    assert plural(1, "valid night") == "1 valid night" and plural(2, "night") == "2 nights"
    assert _nights_in_strata({"nights": 1, "strata": 1}, "half-month") == "1 night in 1 half-month"
    shown = {
        "first_night": "2026-12-07",
        "nights": 8,
        "announce_at": "18:00",
        "warm_min_c": 19.0,
        "commitment": "abc",
    }
    plan = {
        "baseline": {"nights": 1, "cramp_rate": 1.0, "median_min_c": 17.0},
        "figures": {"effects": [], "warnings": []},
    }
    assert "Your last 1 valid night: cramps on 100%" in render_start(shown, plan)


def test_cramp_without_a_config_says_where_the_new_database_is_once(tmp_path):
    from tests.support import bedside_env

    env = bedside_env()
    env.pop("BEDSIDE_CONFIG", None)
    env["HOME"] = str(tmp_path)
    env.pop("XDG_DATA_HOME", None)
    first = run_bedside("cramp", env=env)
    assert first.returncode == 0, first.stderr
    database = tmp_path / ".local/share/bedside/bedside.db"
    assert database.exists()
    lines = first.stdout.splitlines()
    assert lines[0].startswith("cramp 1 logged at ")
    assert lines[1:] == [
        f"created the database {database} (no config file was found, so the default path is used)"
    ]
    assert "migration" not in first.stderr  # debug chatter, not for a person at 3 am
    second = run_bedside("cramp", "--at", "01:00", env=env)
    assert second.returncode == 0 and len(second.stdout.splitlines()) == 1
    assert "created" not in second.stdout and second.stderr == ""
