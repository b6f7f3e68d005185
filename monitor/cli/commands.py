"""Small CLI subcommands: import, export, cramp, backup, config."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.clock import (
    InstantError,
    SystemClock,
    check_instant,
    iso_utc,
    live_problem,
    parse_instant,
)
from monitor.config import EXAMPLE_PATH, Config
from monitor.csvio import (
    CsvError,
    count_lines,
    export_cramps,
    export_readings,
    import_cramps,
    import_readings,
    open_text,
)
from monitor.errors import EXIT_USAGE, UserError
from monitor.store import Store, StoreError, corruption_message, is_corruption, is_disk_full
from monitor.store.db import last_backup_note


def _instant(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_instant(text, require_offset=False)
    except InstantError as exc:
        raise UserError(f"{flag}: {exc}", EXIT_USAGE) from None


class _Progress:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self, total: int | None):
        self.total = total
        self.enabled = sys.stderr.isatty() and bool(total)

    def __call__(self, line: int) -> None:
        if self.enabled:
            frac = min(1.0, line / self.total)
            bar = "#" * int(frac * 30)
            print(f"\r  parsing [{bar:<30}] {frac:4.0%}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print("\r" + " " * 50 + "\r", end="", file=sys.stderr, flush=True)


def run_import(args, config: Config) -> int:
    node = args.node or config.node.id
    try:
        stream = open_text(args.file)
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
    name = "<stdin>" if args.file == "-" else args.file
    with Store.open(config.storage.database) as store, stream:
        try:
            if args.kind == "readings":
                progress = _Progress(count_lines(args.file))
                try:
                    result = import_readings(store, stream, node, name, progress)
                finally:
                    progress.done()
            else:
                result = import_cramps(store, stream, node, SystemClock().now_ms(), name)
        except CsvError as exc:
            print(
                f"bedside import: {name} was not imported (nothing was written):", file=sys.stderr
            )
            for line in exc.errors:
                print(f"  {line}", file=sys.stderr)
            return 1
        except UnicodeDecodeError:
            raise UserError(f"{name} is not UTF-8 text; nothing was written") from None
    skipped = [f"{result.already_stored} already stored"] if result.already_stored else []
    if result.repeated:
        skipped.append(f"{result.repeated} repeated in this file")
    print(
        f"imported {result.added} new {args.kind} of {result.rows} in {name}"
        f" ({', '.join(skipped) or '0 already stored'}) for {', '.join(result.nodes) or node}"
    )
    return 0


def run_export(args, config: Config) -> int:
    nodes = None if args.all_nodes else [args.node or config.node.id]
    lo, hi = _instant(args.from_, "--from"), _instant(args.to, "--to")
    export = export_readings if args.kind == "readings" else export_cramps
    # Reading only: an existing database is opened read-only (a read-only mount, a backup).
    exists = Path(config.storage.database).expanduser().exists()
    with (Store.open_readonly if exists else Store.open)(config.storage.database) as store:
        known = [n["id"] for n in store.nodes()]
        if args.node and args.node not in known:  # a typo would otherwise export nothing
            raise UserError(
                f"no node {args.node!r} in {config.storage.database}"
                f" (known: {', '.join(known) or 'none yet'})"
            )
        export(store, sys.stdout, nodes, lo, hi)
        sys.stdout.flush()
    return 0


def cramp_instant(text: str, tz_name: str, now_ms: int) -> int:
    """--at for a cramp: ISO 8601 with an offset, else local time in [node] timezone;
    a bare HH:MM is the most recent such local time (``--at 02:10`` the morning after)."""
    tz, s = ZoneInfo(tz_name), text.strip()
    hint = "use e.g. 2026-11-21T02:10 (local), 2026-11-21T01:10Z, or 02:10"
    if re.fullmatch(r"\d{1,2}:\d{2}", s):
        h, m = (int(x) for x in s.split(":"))
        if h > 23 or m > 59:
            raise UserError(f"--at: {text!r} is not a time of day; {hint}", EXIT_USAGE)
        today = datetime.fromtimestamp(now_ms / 1000, tz).date()
        for day in (today, today - timedelta(days=1)):
            local = datetime(day.year, day.month, day.day, h, m, tzinfo=tz)
            ms = round(local.timestamp() * 1000)
            if ms <= now_ms:
                return ms
    try:
        dt = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        raise UserError(f"--at: not an ISO 8601 time: {text!r}; {hint}", EXIT_USAGE) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    try:
        return check_instant(round(dt.timestamp() * 1000), text)
    except (InstantError, OverflowError, ValueError) as exc:
        raise UserError(f"--at: {exc}; {hint}", EXIT_USAGE) from None


def run_cramp(args, config: Config) -> int:
    now = SystemClock().now_ms()
    ts = now if args.at is None else cramp_instant(args.at, config.node.timezone, now)
    problem = live_problem(ts, now)  # the dashboard's and the API's rule too
    if problem:
        raise UserError(f"--at {args.at}: {problem}; nothing was logged", EXIT_USAGE)
    database = Path(config.storage.database).expanduser()
    new = not database.exists()
    with (
        _saving("the cramp", config.storage.database),
        Store.open(config.storage.database, verify=True) as store,
    ):
        try:
            cramp, created = store.add_cramp(
                config.node.id,
                ts,
                source="cli",
                now_ms=now,
                leg=args.leg,
                severity=args.severity,
                note=args.note,
                remedy=args.remedy,
                relief_min=args.relief_min,
            )
        except ValueError as exc:  # "relief_min must be ..." -> "--relief-min must be ..."
            flag = "--" + str(exc).replace("relief_min", "relief-min")
            raise UserError(f"{flag}; nothing was logged", EXIT_USAGE) from None
        what = "logged" if created else "already logged"
        if cramp.deleted:  # logged again at the instant of a deleted one: bring it back
            cramp = store.restore_cramp(cramp.id, now_ms=now)
            what = "restored (it had been deleted)"
    local = datetime.fromtimestamp(cramp.ts_ms / 1000, ZoneInfo(config.node.timezone))
    print(
        f"cramp {cramp.id} {what} at {iso_utc(cramp.ts_ms)}"
        f" ({local:%Y-%m-%d %H:%M} {config.node.timezone})"
    )
    # Where it went, once: a new database made here (no config, or a typo in its path)
    # would otherwise hold cramps the dashboard never shows.
    if new:
        why = (
            "no config file was found, so the default path is used"
            if config.source == "defaults"
            else f"[storage] database of {config.source}"
        )
        print(f"created the database {database} ({why})")
    return 0


@contextlib.contextmanager
def _saving(what: str, database: str):
    """A write that fails says what was not saved, in words (never a traceback)."""
    try:
        yield
    except (sqlite3.DatabaseError, StoreError) as exc:
        if is_disk_full(exc, database):
            raise UserError(
                f"the disk is full; {what} was NOT saved (free some space on the disk"
                f" holding {database}, then try again)"
            ) from None
        if is_corruption(exc) and not isinstance(exc, StoreError):
            raise UserError(f"{what} was NOT saved: {corruption_message(database, exc)}") from None
        raise UserError(f"{what} was NOT saved: {exc}") from None


def run_prune_future(args, config: Config) -> int:
    """`bedside prune-future`: list rows stamped in the future; with --yes remove the readings
    (after a backup beside the database). Cramps are precious: their time is corrected
    on the dashboard instead."""
    from monitor.clock import FUTURE_SLACK_MS
    from monitor.mqtt.relay import repair_watermark

    now = SystemClock().now_ms()
    after = now + FUTURE_SLACK_MS
    with Store.open(config.storage.database) as store:
        rows = store.future_rows(after)
        ahead = store.watermarks_after(after)
        if not rows and not ahead:
            print(f"nothing in {config.storage.database} is stamped after {iso_utc(after)}")
            return 0
        for node, wm in ahead.items():
            print(
                f"the MQTT watermark of {node} is ahead of the clock ({iso_utc(wm)}): no newer"
                " reading of it is published until then"
            )
        for r in rows:
            print(
                f"{r['count']} {r['table']} of {r['node']} stamped {iso_utc(r['first_ms'])}"
                f" to {iso_utc(r['last_ms'])}"
            )
        cramps = [c for c in store.cramps(None, after) if not c.deleted]
        for c in cramps:
            print(f"  cramp {c.id} ({c.node}): correct its time on the dashboard (/cramps)")
        if not args.yes:
            print(
                "nothing was removed; run again with --yes to remove the readings"
                + (" and move the watermarks back" if ahead else "")
            )
            return 0
        path = store.path
        backup = store.backup(path.with_name(f"{path.name}.pre-prune-{now // 1000}.bak"))
        removed = store.delete_future_readings(after)
        for node in ahead:
            wm = repair_watermark(store, node, after)
            print(
                f"moved the MQTT watermark of {node} back to {iso_utc(wm) if wm else 'the start'}"
            )
    print(f"removed {removed} readings stamped after {iso_utc(after)} (backup: {backup})")
    return 0


def run_broker_config(args, config: Config) -> int:
    """`bedside broker-config`: mosquitto.conf, passwd and acl for a list of nodes."""
    from monitor.mqtt.brokerconf import BrokerConfigError, write_broker_config

    directory = Path(args.dir).expanduser()
    try:
        accounts = write_broker_config(
            config,
            args.nodes.split(","),
            directory,
            port=args.port,
            bind=args.bind,
            recorder=not args.no_recorder,
            home_assistant=not args.no_home_assistant,
        )
    except BrokerConfigError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise UserError(f"cannot write into {directory}: {exc.strerror or exc}") from None
    print(f"wrote {directory / 'mosquitto.conf'}, passwd and acl for:")
    for a in accounts:
        print(f"  {a.role:<15} {a.user:<20} credentials/{a.user}.toml")
    print(
        f"next: include {directory / 'mosquitto.conf'} from /etc/mosquitto/mosquitto.conf"
        " (or copy its lines there), restart mosquitto, and put each node's"
        " credentials/<node>.toml lines into that node's /etc/bedside/config.toml"
    )
    return 0


def run_backup(args, config: Config) -> int:
    with Store.open(config.storage.database) as store:
        target = store.backup(args.path)
    try:  # where recovery_advice points when the database is damaged one day
        last_backup_note(config.storage.database).write_text(
            f"{Path(target).resolve()} ({iso_utc(SystemClock().now_ms())})\n", encoding="utf-8"
        )
    except OSError:
        pass
    print(f"backed up {config.storage.database} to {target}")
    return 0


def run_config(args, config: Config) -> int:
    if args.action == "example":
        sys.stdout.write(EXAMPLE_PATH.read_text(encoding="utf-8"))
        return 0
    if args.action == "show":
        import dataclasses
        import json

        data = dataclasses.asdict(config)
        source = data.pop("source")
        if data["mqtt"].get("password"):
            data["mqtt"]["password"] = "***"
        if data["web"].get("password"):
            data["web"]["password"] = "***"
        print(f"# from {source}")
        print(json.dumps(data, indent=2))
        return 0
    print(f"{config.source}: valid")
    return 0
