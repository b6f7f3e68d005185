"""Storage checks: the config file, the database, its integrity, rows stamped in the future,
rooms a recorder refused."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from monitor.cli.doctor.common import FAIL, OK, SKIP, WARN, Result, _user
from monitor.clock import SystemClock
from monitor.config import Config
from monitor.store import Store, StoreError, is_corruption, recovery_advice
from monitor.vocabulary import plural


def check_config(config: Config) -> Result:
    """The CLI already loaded and validated it; say which file that was."""
    if config.source == "defaults":
        return Result(
            "config",
            WARN,
            "no config file: using the built-in defaults (simulated sensor)",
            "run sudo scripts/install-pi.sh, or `bedside config example > config.toml`, "
            "edit it, and pass --config or set BEDSIDE_CONFIG",
        )
    return Result("config", OK, f"{config.source} is valid")


def check_database(config: Config) -> Result:
    """Exists, is migrated to this version's schema, and takes a write lock."""
    path = Path(config.storage.database)
    user = _user()
    if not path.exists():
        parent = path.parent
        while not parent.exists():
            parent = parent.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            return Result(
                "database",
                FAIL,
                f"cannot find or create {path}: {parent} is not open to {user}",
                f"join the service's group: sudo usermod -aG bedside {user} (log in again), "
                f"or run `sudo bedside doctor`; a missing directory: "
                f"sudo install -d -o bedside -g bedside -m 0770 {path.parent}",
            )
        return Result(
            "database",
            WARN,
            f"{path} does not exist yet (the daemon creates it on its first start)",
            "sudo systemctl start bedside-monitor (or run `bedside monitor`)",
        )
    try:
        with Store.open_readonly(path) as store:
            version = store.schema_version()
            pending = [name for _, name, _ in store.pending_migrations()]
            readings = store.count_readings()
    except (StoreError, sqlite3.Error) as exc:
        if is_corruption(exc) and "not a database" not in str(exc):
            return Result("database", FAIL, f"{path} is damaged: {exc}", recovery_advice(path))
        fix = (
            f"check ownership: sudo chown -R bedside:bedside {path.parent} "
            f"&& sudo chmod -R g+rwX {path.parent}; then `sudo usermod -aG bedside {user}`"
        )
        if is_corruption(exc):  # garbage where SQLite's header should be
            fix = (
                "if [storage] database names the right file, it is damaged: "
                + recovery_advice(path)
                + f"; if it names another program's file, correct it (and {fix})"
            )
        return Result("database", FAIL, f"cannot read {path}: {exc}", fix)
    problem = Store.write_problem(path)
    if problem:
        return Result(
            "database",
            FAIL,
            f"{path} is not writable by {user}: {problem}",
            f"sudo chown -R bedside:bedside {path.parent} && sudo chmod -R g+rwX {path.parent}"
            f" && sudo usermod -aG bedside {user} (log in again)",
        )
    if pending:
        return Result(
            "database",
            FAIL,
            f"{path} is at schema version {version}; {len(pending)} migration(s) pending: "
            + ", ".join(pending),
            "restart the daemon to migrate (it backs the database up first): "
            "sudo systemctl restart bedside-monitor",
        )
    return Result(
        "database", OK, f"{path}: schema version {version}, writable, {readings} readings"
    )


def _read(config: Config, name: str, query, *, corruption_raises: bool = False):
    """(query(store), None) on a read-only store, or (None, the check's SKIP saying why it
    could not read); a damaged file raises instead when the check is about damage."""
    path = Path(config.storage.database)
    if not path.exists():
        return None, Result(name, SKIP, f"{path} does not exist yet")
    try:
        with Store.open_readonly(path) as store:
            return query(store), None
    except (StoreError, sqlite3.Error) as exc:
        if corruption_raises and is_corruption(exc):
            raise
        return None, Result(name, SKIP, f"cannot read {path}: {exc} (see check database)")


def _quick_check(store: Store) -> tuple[list[str], list[str]]:
    problems = store.quick_check()
    return problems, (store.damaged_tables() if problems else [])


def check_integrity(config: Config) -> Result:
    """SQLite's quick_check, and which tables a damaged file has lost rows of."""
    path = Path(config.storage.database)
    try:
        found, skipped = _read(config, "integrity", _quick_check, corruption_raises=True)
    except (StoreError, sqlite3.Error) as exc:
        found, skipped = ([str(exc)], []), None
    if skipped:
        return skipped
    problems, damaged = found
    if not problems:
        return Result("integrity", OK, f"{path} passes SQLite's quick_check")
    what = f"tables affected: {', '.join(damaged)}" if damaged else "the whole file"
    return Result(
        "integrity",
        FAIL,
        f"{path} is damaged ({what}): {problems[0]}",
        recovery_advice(path),
    )


def check_future(config: Config, clock=None) -> Result:
    """Rows stamped in the future (an old import, a clock that ran ahead): they stand for
    "now" on the dashboard until their time has come; say which and how to remove them."""
    from monitor.clock import FUTURE_SLACK_MS, iso_utc

    clock = clock or SystemClock()
    now = clock.now_ms()
    rows, skipped = _read(config, "future", lambda store: store.future_rows(now + FUTURE_SLACK_MS))
    if skipped:
        return skipped
    if not rows:
        return Result("future", OK, "no reading or cramp is stamped in the future")
    parts = [
        f"{r['count']} {r['table']} of {r['node']} ({iso_utc(r['first_ms'])}"
        + (f" to {iso_utc(r['last_ms'])})" if r["count"] > 1 else ")")
        for r in rows
    ]
    fix = "`bedside prune-future` shows them; `bedside prune-future --yes` removes the readings"
    if any(r["table"] == "cramps" for r in rows):
        fix += " (it backs the database up first); correct a cramp's time on the dashboard"
    else:
        fix += " (it backs the database up first)"
    return Result(
        "future",
        WARN,
        f"stamped in the future (the clock says {iso_utc(now)}): " + "; ".join(parts),
        fix,
    )


def check_recorder(config: Config) -> Result:
    """Rooms `bedside recorder` refused for its cap ([recorder] max_nodes): a real new room
    among them is otherwise dropped without a word; name them, the busiest first."""
    refused, skipped = _read(config, "recorder", lambda store: store.refused_nodes())
    if skipped:
        return skipped
    if not refused or not refused.get("nodes"):
        return Result("recorder", OK, "no room was refused by a recorder")
    named = ", ".join(
        f"{n['id']} ({plural(n['messages'], 'message')})" for n in refused["nodes"][:10]
    )
    more = refused.get("distinct", 0) - min(10, len(refused["nodes"]))
    return Result(
        "recorder",
        WARN,
        f"refused {plural(refused.get('distinct', 0), 'new room id')} beyond"
        " [recorder] max_nodes ="
        f" {refused.get('max_nodes', '?')}: {named}" + (f" and {more} more" if more > 0 else ""),
        "if one is a real room, add its id to [recorder] nodes (always accepted) and restart"
        " bedside-recorder; the others are a broken or hostile client (the broker's ACL from"
        " `bedside broker-config` keeps nodes to their own ids)",
    )
