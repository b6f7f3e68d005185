"""The `bedside` command line: one console script, one subcommand per job.

Each subcommand's work lives in its own module, imported only when that
subcommand runs (the daemon never imports scipy, `bedside cramp` never imports
Flask).  Every user-facing failure is a message and an exit code, never a
traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import os
import sqlite3
import sys
import textwrap

from monitor import __version__
from monitor.config import Config, ConfigError, load
from monitor.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UserError
from monitor.store import StoreError

# subcommand -> "module:function"; the function takes (args, config) and returns an exit code.
COMMANDS = {
    "monitor": "monitor.cli.services:run_monitor",
    "import": "monitor.cli.commands:run_import",
    "export": "monitor.cli.commands:run_export",
    "cramp": "monitor.cli.commands:run_cramp",
    "backup": "monitor.cli.commands:run_backup",
    "config": "monitor.cli.commands:run_config",
    "analyze": "monitor.cli.analyze:run_analyze",
    "report": "monitor.cli.analyze:run_report",
    "web": "monitor.cli.services:run_web",
    "demo": "monitor.cli.services:run_demo",
    "recorder": "monitor.cli.services:run_recorder",
    "doctor": "monitor.cli.doctor:run",
    "trial": "monitor.cli.trial:run_trial",
    "prune-future": "monitor.cli.commands:run_prune_future",
    "broker-config": "monitor.cli.commands:run_broker_config",
}


# Examples under every command's --help (argparse epilog; RawDescriptionHelpFormatter keeps
# their lines, so descriptions are wrapped here by _wrapped).
EXAMPLES = {
    "bedside": """examples:
  bedside demo                       simulated nights on the dashboard
  bedside cramp --leg left           log a cramp now
  bedside analyze                    does a cold room go with your cramps?
  bedside doctor                     check an install, with a fix for each failure
  bedside COMMAND --help             a command's options, with examples""",
    "monitor": """examples:
  bedside monitor --config /etc/bedside/config.toml
  bedside monitor --log-level DEBUG  every reading and decision in the log""",
    "import": """examples:
  bedside import readings old-logger.csv
  bedside import cramps diary.csv --node bedroom
  bedside export readings | bedside import readings - --database copy.db""",
    "export": """examples:
  bedside export readings > readings.csv
  bedside export cramps --from 2026-11-01 --to 2026-12-01 > november.csv
  bedside export readings --all-nodes --from 2026-12-01T00:00Z""",
    "cramp": """examples:
  bedside cramp                      now
  bedside cramp --at 02:40 --leg right --severity 4
  bedside cramp --at 2026-12-06T02:40 --remedy stretch --relief-min 5""",
    "backup": """examples:
  bedside backup /media/usb/
  bedside backup ~/bedside-$(date +%F).db""",
    "config": """examples:
  bedside config example > config.toml
  bedside config check --config config.toml
  bedside config show""",
    "analyze": """examples:
  bedside analyze                    the verdict in words
  bedside analyze --json             the evidence JSON (docs: analysis contract)
  bedside analyze --database copy.db --node guestroom
  bedside analyze --cold-below 17 --night-start 22:00
  bedside analyze --json --as-of 2026-12-07T06:25:00Z   as of that instant
  bedside analyze --pooled           every person on a recorder, one answer
  bedside analyze --pooled --json --nodes kid,parents""",
    "report": """examples:
  bedside report                     what the morning timer runs (bedside-report.timer)
  bedside report --pooled            the study, for the dashboard's Study page""",
    "web": """examples:
  bedside web                        the dashboard on [web] host and port
  bedside web --host 0.0.0.0 --port 8080""",
    "demo": """examples:
  bedside demo
  bedside demo --port 8081 --weeks 12 --database /tmp/demo.db""",
    "recorder": """examples:
  bedside recorder --config /etc/bedside/recorder.toml""",
    "doctor": """examples:
  bedside doctor
  bedside doctor --press             also wait for a press of the button
  bedside doctor --skip broker --skip button""",
    "trial": """examples:
  bedside trial start --nights 56
  bedside trial show
  bedside trial report --json
  bedside trial stop --reason 'a cold week away'""",
    "trial start": """examples:
  bedside trial start --nights 56
  bedside trial start --nights 40 --first-night 2026-12-10 --warm-min-c 19""",
    "trial stop": """examples:
  bedside trial stop --reason 'the heater broke'""",
    "trial show": """examples:
  bedside trial show
  bedside trial show --node kids-room --json""",
    "trial report": """examples:
  bedside trial report
  bedside trial report --json > trial.json""",
    "prune-future": """examples:
  bedside prune-future               list what would go
  bedside backup /media/usb/ && bedside prune-future --yes""",
    "broker-config": """examples:
  bedside broker-config --nodes bedroom,kids-room --dir /etc/mosquitto/bedside""",
}


def _wrapped(text: str | None) -> str | None:
    """A description as paragraphs wrapped to the terminal's usual 80 columns."""
    if not text:
        return text
    return "\n\n".join(textwrap.fill(p, 78) for p in text.split("\n\n"))


def _with_examples(name: str, kwargs: dict) -> dict:
    """Every (sub)command's parser: its description wrapped, its examples as the epilog."""
    kwargs.setdefault("description", kwargs.get("help"))
    kwargs["description"] = _wrapped(kwargs["description"])
    kwargs.setdefault("epilog", EXAMPLES.get(name))
    kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    return kwargs


def _global_args(p: argparse.ArgumentParser, default) -> None:
    """The options every command takes, before or after its name (`bedside --config X
    analyze` and `bedside analyze --config X` alike)."""
    p.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="TOML config (default: $BEDSIDE_CONFIG, else /etc/bedside/config.toml, else defaults)",
    )
    p.add_argument(
        "--database",
        metavar="PATH",
        default=default,
        help="use this SQLite database instead of [storage] database (e.g. a copied one)",
    )
    p.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=default,
        help="override [logging] level",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bedside",
        description="Bedside environment monitor: readings, cramps, and the evidence.",
        epilog=EXAMPLES["bedside"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"bedside {__version__}")
    _global_args(p, None)
    # After the command name the same options must not reset what came before it.
    common = argparse.ArgumentParser(add_help=False)
    _global_args(common, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add = sub.add_parser

    def add_parser(name: str, **kwargs):
        return _add(name, parents=[common], **_with_examples(name, kwargs))

    sub.add_parser = add_parser

    sub.add_parser(
        "monitor",
        help="run the sensor daemon: read the room every [sensor] interval_s, store, alert,"
        " publish over MQTT",
        description="The daemon: reads the sensor every [sensor] interval_s, stores each"
        " reading, runs the cold and silent-sensor alerts, logs button presses as cramps and"
        " publishes to MQTT. Runs until SIGTERM or Ctrl-C, then stops cleanly. Everything is"
        " set in the config file; see `bedside config example`.",
    )

    imp = sub.add_parser("import", help="import readings or cramps from CSV (all or nothing)")
    imp.add_argument("kind", choices=["readings", "cramps"])
    imp.add_argument("file", help="CSV file ('-' for standard input)")
    imp.add_argument("--node", help="node id for rows without a node column (default: [node] id)")

    exp = sub.add_parser("export", help="export readings or cramps as CSV on standard output")
    exp.add_argument("kind", choices=["readings", "cramps"])
    exp.add_argument("--from", dest="from_", metavar="ISO", help="from this instant (inclusive)")
    exp.add_argument("--to", metavar="ISO", help="to this instant (exclusive)")
    who = exp.add_mutually_exclusive_group()
    who.add_argument("--node", help="export this node (default: [node] id)")
    who.add_argument(
        "--all-nodes", action="store_true", help="export every node, with a node column"
    )

    cr = sub.add_parser("cramp", help="log a cramp from the shell")
    cr.add_argument(
        "--at",
        metavar="ISO",
        help="when: ISO 8601 (local [node] timezone unless it has an offset or Z),"
        " or HH:MM for the most recent such time (default: now)",
    )
    cr.add_argument("--leg", choices=["left", "right", "both"])
    cr.add_argument("--severity", type=int, choices=range(1, 6), metavar="1-5")
    cr.add_argument("--note")
    cr.add_argument("--remedy", choices=["stretch", "reposition", "heat", "massage", "other"])
    cr.add_argument("--relief-min", type=float, metavar="N", help="minutes until relief")

    bk = sub.add_parser(
        "backup",
        help="consistent copy of the database (safe while running)",
        description="Copy the database with SQLite's online backup: consistent even while"
        " the daemon and the dashboard write to it.",
    )
    bk.add_argument("path", help="where to write the copy (a file, or a directory to put it in)")

    cf = sub.add_parser(
        "config",
        help="check the config, or print the commented example",
        description="check: validate the config file (every key, with the file and key"
        " named on a mistake); example: print the commented example config; show: print"
        " the config in effect, defaults filled in, secrets hidden.",
    )
    cf.add_argument(
        "action",
        choices=["check", "example", "show"],
        help="check the file, print the example, or show the config in effect",
    )

    an = sub.add_parser("analyze", help="does a cold room predict your cramps?")
    _analysis_args(an)
    an.add_argument("--json", action="store_true", help="print the contract JSON")
    an.add_argument("--save", action="store_true", help="also store the report for the dashboard")

    rp = sub.add_parser("report", help="compute and store the evidence report (morning job)")
    _analysis_args(rp)

    web = sub.add_parser("web", help="serve the dashboard (waitress)")
    web.add_argument("--host", help="override [web] host")
    web.add_argument("--port", type=int, help="override [web] port")

    demo = sub.add_parser(
        "demo",
        help="simulated sensor + dashboard on a fresh demo database",
        description="Weeks of simulated nights in a fresh database, a simulated sensor and"
        " a mock button running, and the dashboard on http://127.0.0.1:PORT. Nothing of a"
        " real install is touched. --database PATH keeps the demo database there (default:"
        " a fresh temporary one).",
    )
    demo.add_argument(
        "--port", type=int, default=8080, help="dashboard port on 127.0.0.1 (default: 8080)"
    )
    demo.add_argument("--weeks", type=int, default=8, help="weeks of simulated history")
    demo.add_argument("--no-browser", action="store_true", help=argparse.SUPPRESS)

    sub.add_parser(
        "recorder",
        help="store every node's MQTT messages (many bedrooms)",
        description="Subscribe to every bedroom's readings, cramps, alerts and status under"
        " [mqtt] topic_prefix and store them in this machine's database, for one dashboard"
        " over many rooms. A persistent session at QoS 1, acknowledged only after each"
        " commit. Runs until SIGTERM or Ctrl-C. Set it up in [mqtt] and [recorder].",
    )

    doc = sub.add_parser("doctor", help="check a fresh install, with a fix for every failure")
    doc.add_argument("--press", action="store_true", help="wait for a button press")
    doc.add_argument(
        "--skip", action="append", default=[], metavar="CHECK", help="skip a check (repeatable)"
    )

    # The warm-night trial (docs/trial.md): handler in monitor/cli/trial.py.
    tr = sub.add_parser("trial", help="the warm-night trial: warm or usual nights, at random")
    tr_sub = tr.add_subparsers(dest="trial_command", metavar="ACTION", required=True)
    _add_action = tr_sub.add_parser
    tr_sub.add_parser = lambda name, **kw: _add_action(name, **_with_examples(f"trial {name}", kw))
    tr_start = tr_sub.add_parser(
        "start",
        help="draw and store the plan (before the first night)",
        description="Plan the trial: draw which nights are warm (the bedroom kept at or above"
        " [trial] warm_min_c all night) and which are usual, in pairs, at random, and store"
        " the plan with a commitment that proves it was not changed later. Each evening at"
        " [trial] announce_at tonight's arm is revealed (dashboard, MQTT). Run it before the"
        " first night; docs/trial.md explains the design.",
    )
    tr_start.add_argument("--nights", type=int, required=True, metavar="N", help="even, >= 12")
    tr_start.add_argument(
        "--first-night", metavar="YYYY-MM-DD", help="default: tonight, else tomorrow"
    )
    tr_start.add_argument("--warm-min-c", type=float, metavar="C", help="override [trial]")
    tr_start.add_argument(
        "--yes", action="store_true", help="start even when the plan's chance is below 50%%"
    )
    tr_stop = tr_sub.add_parser("stop", help="end the trial early (no verdict)")
    tr_stop.add_argument("--reason", required=True, help="why it stops (kept in the report)")
    tr_show = tr_sub.add_parser("show", help="status, schedule so far, commitment")
    tr_report = tr_sub.add_parser("report", help="the result (the comparison once it has ended)")
    for action in (tr_start, tr_stop, tr_show, tr_report):
        action.add_argument("--node", help="the room (default: [node] id)")
        if action is not tr_stop:
            action.add_argument("--json", action="store_true", help="print JSON")
    pf = sub.add_parser("prune-future", help="list (--yes: remove) readings stamped in the future")
    pf.add_argument("--yes", action="store_true", help="remove them (after a backup)")

    bc = sub.add_parser(
        "broker-config", help="mosquitto config, passwords and ACL: a node writes only its own"
    )
    bc.add_argument("--nodes", required=True, help="node ids, comma-separated (bedroom,kid)")
    bc.add_argument("--dir", required=True, help="where to write (e.g. /etc/mosquitto/bedside)")
    bc.add_argument("--port", type=int, default=1883, help="the listener's port (1883)")
    bc.add_argument("--bind", help="the listener's address (default: all)")
    bc.add_argument("--no-recorder", action="store_true", help="no bedside-recorder account")
    bc.add_argument("--no-home-assistant", action="store_true", help="no homeassistant account")
    return p


def _analysis_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pooled",
        action="store_true",
        help="the pooled study: every person's nights on this recorder, one answer"
        " (docs/many-rooms.md)",
    )
    p.add_argument(
        "--nodes",
        metavar="A,B",
        help="with --pooled: who takes part (default: [study] nodes, else every node with"
        " readings)",
    )
    p.add_argument("--timezone", help="override [node] timezone")
    p.add_argument("--cold-below", type=float, metavar="C", help="override [analysis] cold_below_c")
    p.add_argument("--night-start", metavar="HH:MM", help="override [analysis] night_start")
    p.add_argument("--night-end", metavar="HH:MM", help="override [analysis] night_end")
    p.add_argument(
        "--min-coverage",
        type=float,
        metavar="FRACTION",
        help="override [analysis] min_coverage (share of the night with readings, 0-1)",
    )
    p.add_argument(
        "--node",
        help="analyse this node (default: [node] id, or the database's only node)",
    )
    p.add_argument(
        "--as-of",
        metavar="TIME",
        help="analyse as of this instant (ISO 8601 with an offset or Z); default: the"
        " earlier of the clock and the node's newest reading (with --pooled: the newest"
        " reading of anyone taking part)",
    )


def setup_logging(level: str) -> None:
    """Journal-friendly: under systemd (JOURNAL_STREAM) the journal adds the timestamp."""
    if os.environ.get("JOURNAL_STREAM"):
        fmt = "%(levelname)s %(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=getattr(logging, level.upper()), format=fmt, force=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config: Config = load(args.config)
    except ConfigError as exc:
        print("bedside: the configuration is not valid:", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return EXIT_USAGE
    if args.database:
        storage = dataclasses.replace(config.storage, database=args.database)
        config = dataclasses.replace(config, storage=storage)
    setup_logging(args.log_level or config.logging.level)
    module_name, func_name = COMMANDS[args.command].split(":")
    handler = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(handler(args, config) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `bedside export readings | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except UserError as exc:
        print(f"bedside {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except StoreError as exc:
        print(f"bedside {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except sqlite3.DatabaseError as exc:  # a full disk, a damaged file: words, no traceback
        print(f"bedside {args.command}: {_database_error(exc, config)}", file=sys.stderr)
        return EXIT_FAIL


def _database_error(exc: sqlite3.DatabaseError, config: Config) -> str:
    from monitor.store import corruption_message, is_corruption, is_disk_full

    if is_disk_full(exc, config.storage.database):
        return f"the disk holding {config.storage.database} is full; nothing more was saved"
    if is_corruption(exc):
        return corruption_message(config.storage.database, exc)
    return f"the database {config.storage.database} failed: {exc}"
