"""The SQLite store: the single source of truth for readings, cramps and alerts.

Principles (see docs/architecture.md):
- WAL, ``synchronous=FULL``: a commit is on disk when it returns, so a cramp
  confirmed to the user survives a power cut.
- One writer connection per process; readers open read-only connections.
- Versioned migrations in ``monitor/store/migrations/NNNN_name.sql``, recorded in
  ``schema_migrations`` and applied on open, after an online backup.
- Idempotent rows: (node, ts_ms) identifies a reading or a cramp.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from monitor.vocabulary import CRAMP_FIELDS, SOURCES, validate_cramp_fields

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
MIGRATIONS_DIR = Path(__file__).with_name("migrations")  # shipped as package data
NODE_SEEN_STEP_MS = 600_000
PAGE_SIZE = 512  # bytes; see Store.open
WAL_AUTOCHECKPOINT_PAGES = 1000  # the SQLite default: checkpoint every ~0.5 MB of WAL


class StoreError(Exception):
    """The database cannot be opened or written (message is for humans)."""


@dataclass(frozen=True, slots=True)
class Reading:
    ts_ms: int
    temperature_c: float
    humidity_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Cramp:
    id: int
    node: str
    ts_ms: int
    leg: str | None
    severity: int | None
    note: str | None
    remedy: str | None
    relief_min: float | None
    source: str
    created_ms: int
    updated_ms: int
    deleted_ms: int | None
    published: bool

    @property
    def deleted(self) -> bool:
        return self.deleted_ms is not None


@dataclass(frozen=True, slots=True)
class AlertEpisode:
    id: int
    node: str
    kind: str
    start_ms: int
    end_ms: int | None
    min_temp_c: float | None


_CRAMP_COLUMNS = ", ".join(f.name for f in fields(Cramp))


def _migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every shipped migration, oldest first."""
    return sorted(
        (int(path.name[:4]), path.name, path.read_text(encoding="utf-8"))
        for path in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")
    )


def _cramp(row) -> Cramp:
    values = list(row)
    values[-1] = bool(values[-1])
    return Cramp(*values)


class Store:
    """A connection to the bedside database with the operations the system needs.

    Use :meth:`open` for the writer (creates and migrates) and
    :meth:`open_readonly` for readers (the web, the analysis).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self.conn = conn
        self.path = path
        self.readonly = readonly
        # sqlite3 connections are not safe to share between threads without a lock.
        self.lock = threading.RLock()

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_ms: int = 10_000) -> Store:
        """Open (creating if needed) for writing and apply pending migrations."""
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # SD-card wear (bench/bench_daemon.py): a committed reading writes one WAL
            # frame per changed page (readings leaf + nodes row), so small pages keep
            # a day of 30-s readings at a few MB. Only takes effect on a new database.
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        store = cls(conn, path, readonly=False)
        store.migrate()
        return store

    @classmethod
    def open_readonly(cls, path: str | Path, *, busy_timeout_ms: int = 5_000) -> Store:
        """A read-only connection (the file must exist and be migrated)."""
        path = Path(path).expanduser()
        if not path.exists():
            raise StoreError(f"database {path} does not exist yet (start `bedside monitor`)")
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                timeout=busy_timeout_ms / 1000,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        return cls(conn, path, readonly=True)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT (disk full, I/O error): SQLite may keep the
                # transaction open, and the write lock with it, unless we roll back.
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise

    # -- migrations --------------------------------------------------------------

    def schema_version(self) -> int:
        with self.lock:
            exists = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"
            ).fetchone()
            if not exists:
                return 0
            return self.conn.execute(
                "SELECT coalesce(max(version), 0) FROM schema_migrations"
            ).fetchone()[0]

    def applied_migrations(self) -> set[int]:
        with self.lock:
            exists = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"
            ).fetchone()
            if not exists:
                return set()
            return {v for (v,) in self.conn.execute("SELECT version FROM schema_migrations")}

    def pending_migrations(self) -> list[tuple[int, str, str]]:
        """Every shipped migration not yet recorded (not merely those above the newest)."""
        applied = self.applied_migrations()
        return [m for m in _migrations() if m[0] not in applied]

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; back up first."""
        pending = self.pending_migrations()
        if not pending:
            return []
        if self.schema_version() > 0:
            backup = self.path.with_name(f"{self.path.name}.pre-v{pending[0][0]:04d}.bak")
            self.backup(backup)
            log.info("backed up %s to %s before migrating", self.path, backup)
        applied = []
        with self.lock:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)"
            )
            for version, name, sql in pending:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                    done = self.conn.execute(
                        "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                    ).fetchone()
                    if done:  # another process (web, daemon) started at once and won
                        self.conn.execute("ROLLBACK")
                        continue
                    for statement in _split_sql(sql):
                        self.conn.execute(statement)
                    self.conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        (version, name, time.time_ns() // 1_000_000),
                    )
                    self.conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise StoreError(f"migration {name} failed: {exc}") from None
                applied.append(name)
                log.info("applied migration %s", name)
        return applied

    def backup(self, target: str | Path) -> Path:
        """A consistent copy through SQLite's online backup API (safe while running)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(target)
        try:
            with self.lock:
                self.conn.backup(dest)
        finally:
            dest.close()
        return target

    # -- data version and dirty days ------------------------------------------------

    def data_version(self) -> int:
        """Grows whenever rows change out of order (imports, cramps): reports cite it."""
        with self.lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return int(row[0]) if row else 0

    def _mark_dirty(self, conn: sqlite3.Connection, node: str, ts_values: Iterable[int]) -> None:
        days = {ts // DAY_MS for ts in ts_values}
        if not days:
            return
        conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'"
        )
        version = conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0]
        conn.executemany(
            "INSERT INTO dirty_days (node, day, version) VALUES (?, ?, ?)"
            " ON CONFLICT (node, day) DO UPDATE SET version = excluded.version",
            [(node, day, int(version)) for day in sorted(days)],
        )

    # -- readings -------------------------------------------------------------------

    def add_readings(self, node: str, readings: Iterable[Reading]) -> int:
        """Store readings in one transaction; duplicates of (node, ts) are ignored.

        Returns how many rows were new.
        """
        with self.transaction() as conn:
            return self.insert_readings(conn, node, readings)

    def insert_readings(
        self, conn: sqlite3.Connection, node: str, readings: Iterable[Reading]
    ) -> int:
        """The insert itself, inside a caller's transaction (imports span several nodes).

        Rows at or before the node's newest reading mark their days dirty so
        stored night summaries get recomputed; live appends do not.
        """
        rows = [(node, r.ts_ms, r.temperature_c, r.humidity_pct) for r in readings]
        return self.insert_reading_rows(conn, node, rows)

    def insert_reading_rows(
        self, conn: sqlite3.Connection, node: str, rows: list[tuple[str, int, float, float | None]]
    ) -> int:
        """insert_readings for ready-made (node, ts_ms, temperature_c, humidity_pct) tuples
        (every tuple's node is ``node``): the CSV import's fast path, no objects per row."""
        if not rows:
            return 0
        newest = conn.execute("SELECT max(ts_ms) FROM readings WHERE node = ?", (node,)).fetchone()[
            0
        ]
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO readings (node, ts_ms, temperature_c, humidity_pct)"
            " VALUES (?, ?, ?, ?)",
            rows,
        )
        added = conn.total_changes - before
        if added and newest is not None:
            self._mark_dirty(conn, node, (r[1] for r in rows if r[1] <= newest))
        if added:
            self._touch_node(conn, node, max(r[1] for r in rows))
        return added

    def add_reading(self, node: str, reading: Reading) -> bool:
        return self.add_readings(node, [reading]) == 1

    def newest_reading(self, node: str) -> Reading | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT ts_ms, temperature_c, humidity_pct FROM readings WHERE node = ?"
                " ORDER BY ts_ms DESC LIMIT 1",
                (node,),
            ).fetchone()
        return Reading(*row) if row else None

    def readings(
        self,
        node: str,
        from_ms: int | None = None,
        to_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Reading]:
        """Readings of a node in [from_ms, to_ms), oldest first."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT ts_ms, temperature_c, humidity_pct FROM readings"
                " WHERE node = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms LIMIT ?",
                (
                    node,
                    *span(from_ms, to_ms),
                    limit if limit is not None else -1,
                ),
            ).fetchall()
        return [Reading(*r) for r in rows]

    def readings_after(self, node: str, after_ms: int, limit: int) -> list[Reading]:
        """Readings strictly after an instant, oldest first (the reading outbox)."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT ts_ms, temperature_c, humidity_pct FROM readings"
                " WHERE node = ? AND ts_ms > ? ORDER BY ts_ms LIMIT ?",
                (node, after_ms, limit),
            ).fetchall()
        return [Reading(*r) for r in rows]

    def count_readings(self, node: str | None = None) -> int:
        with self.lock:
            if node is None:
                return self.conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            return self.conn.execute(
                "SELECT count(*) FROM readings WHERE node = ?", (node,)
            ).fetchone()[0]

    # -- outbox watermarks -----------------------------------------------------------

    def outbox_watermark(self, node: str, stream: str = "reading") -> int | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT acked_ms FROM outbox_state WHERE node = ? AND stream = ?", (node, stream)
            ).fetchone()
        return row[0] if row else None

    def set_outbox_watermark(self, node: str, acked_ms: int, stream: str = "reading") -> None:
        with self.transaction() as conn:
            self.write_outbox_watermark(conn, node, acked_ms, stream)

    def write_outbox_watermark(
        self, conn: sqlite3.Connection, node: str, acked_ms: int, stream: str = "reading"
    ) -> None:
        """set_outbox_watermark inside a caller's transaction (the daemon saves it in the
        same commit as a reading: one fsync fewer); never moves backwards."""
        conn.execute(
            "INSERT INTO outbox_state (node, stream, acked_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (node, stream)"
            " DO UPDATE SET acked_ms = max(acked_ms, excluded.acked_ms)",
            (node, stream, acked_ms),
        )

    # -- sensor health (migration 0002; written by the daemon) ----------------------------

    def set_sensor_health(
        self,
        node: str,
        *,
        status: str,
        consecutive_failures: int,
        failure_rate: float,
        last_good_ms: int | None,
        updated_ms: int,
        last_error: str | None = None,
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO sensor_health (node, status, consecutive_failures, failure_rate,"
                " last_good_ms, last_error, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (node) DO UPDATE SET status = excluded.status,"
                " consecutive_failures = excluded.consecutive_failures,"
                " failure_rate = excluded.failure_rate, last_good_ms = excluded.last_good_ms,"
                " last_error = excluded.last_error, updated_ms = excluded.updated_ms",
                (
                    node,
                    status,
                    consecutive_failures,
                    failure_rate,
                    last_good_ms,
                    last_error,
                    updated_ms,
                ),
            )

    def sensor_health(self, node: str) -> dict | None:
        """{node, status, consecutive_failures, failure_rate, last_good_ms, last_error,
        updated_ms} or None when the daemon has not reported yet."""
        with self.lock:
            cur = self.conn.execute("SELECT * FROM sensor_health WHERE node = ?", (node,))
            row = cur.fetchone()
            if row is None:
                return None
            return dict(zip([d[0] for d in cur.description], row, strict=True))

    # -- cramps ---------------------------------------------------------------------

    def add_cramp(
        self,
        node: str,
        ts_ms: int,
        *,
        source: str,
        now_ms: int,
        leg: str | None = None,
        severity: int | None = None,
        note: str | None = None,
        remedy: str | None = None,
        relief_min: float | None = None,
    ) -> tuple[Cramp, bool]:
        """Store one cramp durably; returns (cramp, created).  Same (node, ts) = same cramp."""
        validate_cramp_fields(
            {
                "ts_ms": ts_ms,
                "leg": leg,
                "severity": severity,
                "note": note,
                "remedy": remedy,
                "relief_min": relief_min,
            }
        )
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}")
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO cramps (node, ts_ms, leg, severity, note, remedy,"
                " relief_min, source, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (node, ts_ms, leg, severity, note, remedy, relief_min, source, now_ms, now_ms),
            )
            created = cur.rowcount == 1
            if created:
                self._mark_dirty(conn, node, [ts_ms])
                self._touch_node(conn, node, ts_ms)
            row = conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE node = ? AND ts_ms = ?", (node, ts_ms)
            ).fetchone()
        return _cramp(row), created

    def add_cramps(self, node: str, cramps: Iterable[dict], *, source: str, now_ms: int) -> int:
        """Bulk insert (import); each dict has ts_ms and optional fields. Returns new rows."""
        with self.transaction() as conn:
            return self.insert_cramps(conn, node, cramps, source=source, now_ms=now_ms)

    def insert_cramps(
        self,
        conn: sqlite3.Connection,
        node: str,
        cramps: Iterable[dict],
        *,
        source: str,
        now_ms: int,
    ) -> int:
        """The bulk insert inside a caller's transaction."""
        rows = []
        for c in cramps:
            validate_cramp_fields(c)
            rows.append(
                (
                    node,
                    c["ts_ms"],
                    c.get("leg"),
                    c.get("severity"),
                    c.get("note"),
                    c.get("remedy"),
                    c.get("relief_min"),
                    source,
                    now_ms,
                    now_ms,
                )
            )
        if not rows:
            return 0
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO cramps (node, ts_ms, leg, severity, note, remedy,"
            " relief_min, source, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        added = conn.total_changes - before
        if added:
            self._mark_dirty(conn, node, (r[1] for r in rows))
            self._touch_node(conn, node, max(r[1] for r in rows))
        return added

    def get_cramp(self, cramp_id: int) -> Cramp | None:
        with self.lock:
            row = self.conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE id = ?", (cramp_id,)
            ).fetchone()
        return _cramp(row) if row else None

    def cramps(
        self,
        node: str | None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        *,
        include_deleted: bool = False,
        newest_first: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Cramp]:
        """Cramps in [from_ms, to_ms) of one node (or all nodes when node is None)."""
        where = ["ts_ms >= ?", "ts_ms < ?"]
        args: list = [
            *span(from_ms, to_ms),
        ]
        if node is not None:
            where.append("node = ?")
            args.append(node)
        if not include_deleted:
            where.append("deleted_ms IS NULL")
        order = "DESC" if newest_first else "ASC"
        args += [limit if limit is not None else -1, offset]
        with self.lock:
            rows = self.conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE {' AND '.join(where)}"
                f" ORDER BY ts_ms {order}, id {order} LIMIT ? OFFSET ?",
                args,
            ).fetchall()
        return [_cramp(r) for r in rows]

    def update_cramp(self, cramp_id: int, *, now_ms: int, **changes) -> Cramp | None:
        """Change optional fields (and ts_ms); marks the cramp for re-publishing."""
        allowed = set(CRAMP_FIELDS) | {"ts_ms"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        validate_cramp_fields(changes)
        with self.transaction() as conn:
            old = conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE id = ?", (cramp_id,)
            ).fetchone()
            if old is None:
                return None
            old = _cramp(old)
            if changes:
                sets = ", ".join(f"{k} = ?" for k in changes)
                try:
                    conn.execute(
                        f"UPDATE cramps SET {sets}, updated_ms = ?, published = 0 WHERE id = ?",
                        (*changes.values(), now_ms, cramp_id),
                    )
                except sqlite3.IntegrityError:
                    raise ValueError("another cramp is logged at that instant") from None
                self._mark_dirty(conn, old.node, {old.ts_ms, changes.get("ts_ms", old.ts_ms)})
            row = conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE id = ?", (cramp_id,)
            ).fetchone()
        return _cramp(row)

    def delete_cramp(self, cramp_id: int, *, now_ms: int) -> Cramp | None:
        """Soft delete: recorded, restorable, published."""
        return self._set_deleted(cramp_id, now_ms, now_ms)

    def restore_cramp(self, cramp_id: int, *, now_ms: int) -> Cramp | None:
        return self._set_deleted(cramp_id, None, now_ms)

    def _set_deleted(self, cramp_id: int, deleted_ms: int | None, now_ms: int) -> Cramp | None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT node, ts_ms FROM cramps WHERE id = ?", (cramp_id,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE cramps SET deleted_ms = ?, updated_ms = ?, published = 0 WHERE id = ?",
                (deleted_ms, now_ms, cramp_id),
            )
            self._mark_dirty(conn, row[0], [row[1]])
            new = conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE id = ?", (cramp_id,)
            ).fetchone()
        return _cramp(new)

    def unpublished_cramps(self, node: str, limit: int = 100) -> list[Cramp]:
        """Cramps (including deletions) whose current state the broker has not acknowledged."""
        with self.lock:
            rows = self.conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE node = ? AND published = 0"
                " ORDER BY id LIMIT ?",
                (node, limit),
            ).fetchall()
        return [_cramp(r) for r in rows]

    def cramps_after_id(self, node: str, after_id: int, limit: int = 100) -> list[Cramp]:
        """Cramps of one node (deleted ones too) with an id above after_id, lowest id first:
        the relay's cramp-event outbox (ids only grow: cramps are never removed)."""
        with self.lock:
            rows = self.conn.execute(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE node = ? AND id > ?"
                " ORDER BY id LIMIT ?",
                (node, after_id, limit),
            ).fetchall()
        return [_cramp(r) for r in rows]

    def max_cramp_id(self, node: str) -> int:
        """The highest cramp id of one node (deleted ones too), 0 when it has none."""
        with self.lock:
            row = self.conn.execute("SELECT max(id) FROM cramps WHERE node = ?", (node,)).fetchone()
        return row[0] or 0

    def mark_cramp_published(self, cramp_id: int, updated_ms: int) -> bool:
        """Acknowledge one published state; a later edit keeps the row in the outbox."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE cramps SET published = 1 WHERE id = ? AND updated_ms = ?",
                (cramp_id, updated_ms),
            )
        return cur.rowcount == 1

    # -- alert episodes -----------------------------------------------------------------

    def start_episode(
        self, node: str, kind: str, start_ms: int, min_temp_c: float | None = None
    ) -> AlertEpisode:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO alert_episodes (node, kind, start_ms, min_temp_c)"
                " VALUES (?, ?, ?, ?)",
                (node, kind, start_ms, min_temp_c),
            )
            row = conn.execute(
                "SELECT id, node, kind, start_ms, end_ms, min_temp_c FROM alert_episodes"
                " WHERE node = ? AND kind = ? AND start_ms = ?",
                (node, kind, start_ms),
            ).fetchone()
        return AlertEpisode(*row)

    def update_episode(
        self, episode_id: int, *, end_ms: int | None = None, min_temp_c: float | None = None
    ) -> None:
        with self.transaction() as conn:
            if min_temp_c is not None:
                conn.execute(
                    "UPDATE alert_episodes SET min_temp_c = min(coalesce(min_temp_c, ?), ?)"
                    " WHERE id = ?",
                    (min_temp_c, min_temp_c, episode_id),
                )
            if end_ms is not None:
                conn.execute(
                    "UPDATE alert_episodes SET end_ms = ? WHERE id = ?", (end_ms, episode_id)
                )

    def episodes(
        self,
        node: str | None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        kind: str | None = None,
    ) -> list[AlertEpisode]:
        """Episodes overlapping [from_ms, to_ms), oldest first; open ones have end_ms None."""
        where = ["(end_ms IS NULL OR end_ms > ?)", "start_ms < ?"]
        args: list = [
            *span(from_ms, to_ms),
        ]
        if node is not None:
            where.append("node = ?")
            args.append(node)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        with self.lock:
            rows = self.conn.execute(
                "SELECT id, node, kind, start_ms, end_ms, min_temp_c FROM alert_episodes"
                f" WHERE {' AND '.join(where)} ORDER BY start_ms",
                args,
            ).fetchall()
        return [AlertEpisode(*r) for r in rows]

    # -- nodes --------------------------------------------------------------------------

    def _touch_node(self, conn: sqlite3.Connection, node: str, ts_ms: int) -> None:
        """Record a node and, coarsely, when it was last seen.

        last_seen_ms is only rewritten when it moves by more than NODE_SEEN_STEP_MS:
        rewriting that row on every 30-s reading was a third of the bytes the
        daemon wrote to the SD card.  nodes() reports the exact instant.
        """
        conn.execute(
            "INSERT INTO nodes (id, first_seen_ms, last_seen_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms"
            " WHERE excluded.last_seen_ms > coalesce(last_seen_ms, 0) + ?",
            (node, ts_ms, ts_ms, NODE_SEEN_STEP_MS),
        )

    def set_node_status(self, node: str, status: str, at_ms: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO nodes (id, first_seen_ms, status, status_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
                " status_ms = excluded.status_ms",
                (node, at_ms, status, at_ms),
            )

    def nodes(self) -> list[dict]:
        """Every node with first/last seen (exact: the newest reading or cramp) and status."""
        with self.lock:
            cur = self.conn.execute(
                "SELECT id, name, first_seen_ms,"
                " max(coalesce(last_seen_ms, 0),"
                "     coalesce((SELECT max(ts_ms) FROM readings WHERE node = nodes.id), 0),"
                "     coalesce((SELECT max(ts_ms) FROM cramps WHERE node = nodes.id), 0))"
                " AS last_seen_ms, status, status_ms FROM nodes ORDER BY id"
            )
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        for row in rows:
            row["last_seen_ms"] = row["last_seen_ms"] or None
        return rows


def span(from_ms: int | None, to_ms: int | None) -> tuple[int, int]:
    """[from, to) with open ends made explicit, for range queries."""
    return (
        from_ms if from_ms is not None else -(2**62),
        to_ms if to_ms is not None else 2**62,
    )


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows the grammar)."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        if not buf and line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements
