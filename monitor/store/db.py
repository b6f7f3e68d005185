"""The database itself: opening, pragmas, transactions, migrations, backups.

Every table family (readings.py, cramps.py, ...) is a mixin over :class:`Database`,
so the connection, its lock and the transaction rule live in one place.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from monitor.store import filemodes

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")  # shipped as package data
PAGE_SIZE = 512  # bytes; see Database.open
WAL_AUTOCHECKPOINT_PAGES = 1000  # the SQLite default: checkpoint every ~0.5 MB of WAL


class StoreError(Exception):
    """The database cannot be opened or written (message is for humans)."""


class CorruptDatabase(StoreError):
    """The database file is damaged (SQLITE_CORRUPT / SQLITE_NOTADB); never written over."""


def is_corruption(exc: BaseException) -> bool:
    """A damaged file (a bad page, garbage where the header should be), not a busy lock."""
    if isinstance(exc, CorruptDatabase):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return True
    text = str(exc)
    return "malformed" in text or "not a database" in text


def is_disk_full(exc: BaseException, path: str | Path | None = None) -> bool:
    """SQLITE_FULL, or an I/O error (SQLite cannot grow its -shm file) on a disk that has
    no room left where ``path`` lives."""
    if not isinstance(exc, sqlite3.DatabaseError | StoreError | OSError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if (code is not None and code & 0xFF == sqlite3.SQLITE_FULL) or "disk is full" in str(exc):
        return True
    if path is None:
        return False
    return _no_room(Path(path).expanduser())


def last_backup_note(path: str | Path) -> Path:
    """Where `bedside backup` notes its newest copy, beside the database."""
    path = Path(path)
    return path.with_name(path.name + ".last-backup")


def recovery_advice(path: str | Path) -> str:
    """What to do about a damaged database: the newest backup, and how to restore it."""
    path = Path(path)
    backups = []
    try:
        backups.append(last_backup_note(path).read_text(encoding="utf-8").strip())
    except OSError:
        pass
    backups += [str(b) for b in sorted(path.parent.glob(f"{path.name}.pre-v*.bak"))[-1:]]
    newest = f"the newest backup is {backups[0]}" if backups else "no backup of it is known"
    return (
        f"{newest}. Stop bedside (sudo systemctl stop bedside-monitor bedside-web), move"
        f" {path} aside (never delete it: `sqlite3 {path.name} .recover` can rescue rows),"
        " copy the backup to its place, start again; then `bedside backup PATH` regularly"
    )


def corruption_message(path: str | Path, exc: BaseException | None = None, tables=()) -> str:
    where = f" (damaged: {', '.join(tables)})" if tables else ""
    why = f": {exc}" if exc is not None else ""
    return f"the database {path} is damaged{where}{why}; nothing was written to it. " + (
        recovery_advice(path)
    )


def span(from_ms: int | None, to_ms: int | None) -> tuple[int, int]:
    """[from, to) with open ends made explicit, for range queries."""
    return (
        from_ms if from_ms is not None else -(2**62),
        to_ms if to_ms is not None else 2**62,
    )


def _migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every shipped migration, oldest first."""
    return sorted(
        (int(path.name[:4]), path.name, path.read_text(encoding="utf-8"))
        for path in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")
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


class Database:
    """One connection to the bedside database, its lock and its transactions.

    Use :meth:`open` for the writer (creates and migrates) and
    :meth:`open_readonly` for readers (the web, the analysis).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self._conn = conn
        self.path = path
        self.readonly = readonly
        # sqlite3 connections are not safe to share between threads without a lock.
        self._lock = threading.RLock()
        self._depth = 0  # transaction blocks open in the thread holding _lock (0: none)
        self._doomed = False  # a joined block raised: the outermost one must roll back
        self._orphans: list[sqlite3.Connection] = []  # connections to a swapped-away file
        # Why the file is damaged (corruption_message), once a query found it so: from then
        # on nothing is written (see seal).
        self.damaged: str | None = None
        self._probing = False  # quick_check / damaged_tables running: errors are findings

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_ms: int = 10_000, verify: bool = False) -> Self:
        """Open (creating if needed) for writing and apply pending migrations.

        ``verify``: run SQLite's quick_check first and refuse a damaged file
        (CorruptDatabase, naming the damaged tables and the newest backup) rather than
        write into it.  A damaged file found any other way is refused just the same.
        """
        path = Path(path).expanduser()
        try:
            conn = cls._connect(path, busy_timeout_ms)
        except (sqlite3.Error, OSError) as exc:
            if is_corruption(exc):
                raise CorruptDatabase(corruption_message(path, exc)) from None
            if is_disk_full(exc, path):
                raise StoreError(
                    f"cannot open database {path}: the disk holding it is full ({exc});"
                    " nothing was written; free some space on it"
                ) from None
            raise StoreError(f"cannot open database {path}: {exc}") from None
        store = cls(conn, path, readonly=False)
        try:
            if verify and store.quick_check():
                damaged = store.damaged_tables()
                raise CorruptDatabase(corruption_message(path, tables=damaged))
            store.migrate()
        except (sqlite3.DatabaseError, StoreError) as exc:
            store.close()
            if is_corruption(exc) and not isinstance(exc, CorruptDatabase):
                raise CorruptDatabase(corruption_message(path, exc)) from None
            raise
        return store

    @staticmethod
    def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        filemodes.prepare_database(path)  # never readable by every local user
        conn = sqlite3.connect(
            path,
            timeout=busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # SD-card wear (bench/bench_daemon.py): a committed reading writes one WAL
            # frame per changed page (readings leaf + nodes row), so small pages keep
            # a day of 30-s readings at a few MB. Only takes effect on a new database.
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def file_id(self) -> tuple[int, int] | None:
        """(device, inode) of the file at the database's path now; None when it is gone."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def reopen_swapped(self, node: str, stamp: str) -> str:
        """The file at our path was deleted or replaced while this connection wrote to the
        old one: keep every row, then write to the file at the path.

        Deleted: the open connection's database is written back to the path.  Replaced
        (a restore, or a fresh file `bedside cramp` made meanwhile): the old database is
        kept beside it (``<name>.swapped-<stamp>.bak``) and this node's readings and the
        cramps the new file lacks are copied into it.  Returns what was done, for the log.
        """
        with self._lock:
            kept = self.path.with_name(f"{self.path.name}.swapped-{stamp}.bak")
            self.backup(kept)
            count = self.count_own(node)
            deleted = self.file_id() is None
            old = self._conn
            wal = self.path.with_name(self.path.name + "-wal")
            if not wal.exists() or _held_by_this_process(wal):
                # The -wal and -shm at our path, if any, are the old file's (SQLite leaves
                # them when its file was moved away): remove them, or the file at the path
                # would be read through the old file's WAL. Then nothing is left at those
                # names for the old connection to touch when it closes.
                for name in (wal, self.path.with_name(self.path.name + "-shm")):
                    name.unlink(missing_ok=True)
                old.close()
            else:
                # They belong to the new file (another process has it open): closing would
                # delete them. Keep the old connection open, unused, until this store closes.
                self._orphans.append(old)
            if deleted:
                os.replace(kept, self.path)
                done = f"wrote the {count} readings this daemon had back to it"
            else:
                done = f"kept the old one as {kept}"
            self._conn = self._connect(self.path, 10_000)
            self._depth, self._doomed = 0, False
        self.migrate()
        if not deleted:
            copied = self._merge_from(kept, node)
            done += f" and copied {copied[0]} readings and {copied[1]} cramps it lacked into it"
        return done

    def count_own(self, node: str) -> int:
        return self._one("SELECT count(*) FROM readings WHERE node = ?", (node,))[0]

    def _merge_from(self, other: Path, node: str) -> tuple[int, int]:
        with self._lock:
            self._conn.execute("ATTACH DATABASE ? AS old", (f"{other.resolve().as_uri()}?mode=ro",))
            try:
                with self.transaction():
                    before = self._conn.total_changes
                    self._conn.execute(
                        "INSERT OR IGNORE INTO readings SELECT * FROM old.readings WHERE node = ?",
                        (node,),
                    )
                    readings = self._conn.total_changes - before
                    before = self._conn.total_changes
                    self._conn.execute(
                        "INSERT OR IGNORE INTO cramps (node, ts_ms, leg, severity, note, remedy,"
                        " relief_min, source, created_ms, updated_ms, deleted_ms, published)"
                        " SELECT node, ts_ms, leg, severity, note, remedy, relief_min, source,"
                        " created_ms, updated_ms, deleted_ms, published FROM old.cramps"
                    )
                    cramps = self._conn.total_changes - before
                    self._conn.execute("INSERT OR IGNORE INTO nodes SELECT * FROM old.nodes")
            finally:
                self._conn.execute("DETACH DATABASE old")
        return readings, cramps

    @classmethod
    def open_readonly(cls, path: str | Path, *, busy_timeout_ms: int = 5_000) -> Self:
        """A read-only connection (the file must exist and be migrated)."""
        path = Path(path).expanduser()
        if not path.exists():
            raise StoreError(f"database {path} does not exist yet (start `bedside monitor`)")
        try:
            conn = cls._connect_readonly(path, busy_timeout_ms, immutable=False)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                # A WAL database in a directory this process cannot write (a read-only
                # mount, the web running as another user while the daemon is stopped):
                # SQLite cannot create the -shm file a WAL reader needs. No writer can
                # be changing it either, so read it as an immutable file.
                # The same on a full disk: no room for the -shm file, and no writer can
                # have the file open (it would have made the -shm).
                conn.close()
                if os.access(path.parent, os.W_OK) and not _no_room(path):
                    raise
                conn = cls._connect_readonly(path, busy_timeout_ms, immutable=True)
        except sqlite3.Error as exc:
            if is_corruption(exc):
                raise CorruptDatabase(corruption_message(path, exc)) from None
            raise StoreError(f"cannot open database {path}: {exc}") from None
        return cls(conn, path, readonly=True)

    @staticmethod
    def _connect_readonly(path: Path, busy_timeout_ms: int, immutable: bool):
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro{'&immutable=1' if immutable else ''}",
            uri=True,
            isolation_level=None,
            timeout=busy_timeout_ms / 1000,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        return conn

    @staticmethod
    def write_problem(path: str | Path) -> str | None:
        """Take and release SQLite's write lock on a file; None when that works.

        For `bedside doctor`: it neither creates nor migrates the database.
        """
        try:
            conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            return str(exc)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return None  # a writer holds it right now: writable, just busy
            return str(exc)
        finally:
            conn.close()
        return None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            for orphan in self._orphans:  # see reopen_swapped
                orphan.close()
            self._orphans.clear()

    def quick_check(self, max_errors: int = 10) -> list[str]:
        """SQLite's quick_check: [] when the file is sound, else its complaints."""
        try:
            with self._probe():
                rows = self._all(f"PRAGMA quick_check({int(max_errors)})")
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        found = [r[0] for r in rows]
        return [] if found == ["ok"] else found

    @contextlib.contextmanager
    def _probe(self) -> Iterator[None]:
        with self._lock:
            before, self._probing = self._probing, True
            try:
                yield
            finally:
                self._probing = before

    def damaged_tables(self) -> list[str]:
        """The tables whose rows cannot all be read (a full scan of each, and its indexes)."""
        with self._probe():
            return self._damaged_tables()

    def _damaged_tables(self) -> list[str]:
        try:
            names = [r[0] for r in self._all("SELECT name FROM sqlite_master WHERE type='table'")]
        except sqlite3.DatabaseError:
            return ["sqlite_master (the schema)"]
        damaged = []
        for name in names:
            try:
                self._all(f'SELECT * FROM "{name}"')
                for (index,) in self._all(
                    "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=?", (name,)
                ):
                    self._all(f'SELECT count(*) FROM "{name}" INDEXED BY "{index}"')
            except sqlite3.DatabaseError:
                damaged.append(name)
        return damaged

    def seal(self, exc: BaseException | None = None) -> str:
        """The file turned out damaged while open (SQLITE_CORRUPT at run time): never write
        to it again, as a damaged file is refused at start.  Names the damaged tables and
        the backup (the message, also kept in ``damaged``).  The writable connection is
        swapped for a read-only one, closed while that one holds a read lock, so not even
        SQLite's checkpoint on close writes into the file; reads go on where they can."""
        with self._lock:
            if self.damaged is not None or self._probing:
                return self.damaged or ""
            if self.readonly:  # a reader (the web, per request): no full scan
                self.damaged = corruption_message(self.path, exc)
                return self.damaged
            tables = self.damaged_tables()
            self.damaged = corruption_message(self.path, None if tables else exc, tables)
            try:
                ro = self._connect_readonly(self.path, 5_000, immutable=False)
                ro.execute("BEGIN")
                ro.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            except sqlite3.Error:
                return self.damaged  # keep the writer open, unused: transaction() refuses
            old, self._conn, self.readonly = self._conn, ro, True
            with contextlib.suppress(sqlite3.Error):
                if old.in_transaction:
                    old.execute("ROLLBACK")
                old.close()
            ro.execute("COMMIT")
            return self.damaged

    def _watch(self, exc: BaseException) -> None:
        if is_corruption(exc) and not isinstance(exc, CorruptDatabase):
            self.seal(exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

        Re-entrant: inside a transaction of this thread it only joins it, so callers
        group store methods into one commit (one fsync), and the outermost block
        commits or rolls back.  A joined block that raised dooms the whole
        transaction: even if the caller swallows the error, nothing of it is
        committed (StoreError at the end), so a half-done method never is.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                except BaseException:
                    self._doomed = True
                    raise
                finally:
                    self._depth -= 1
                return
            if self.damaged is not None:
                raise CorruptDatabase(self.damaged)
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth, self._doomed = 1, False
            try:
                yield
                if self._doomed:
                    raise StoreError("a store operation inside the transaction failed")
                self._conn.execute("COMMIT")
            except BaseException as exc:
                # Also after a failed COMMIT (disk full, I/O error): SQLite may keep the
                # transaction open, and the write lock with it, unless we roll back.
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                self._depth = 0
                self._watch(exc)
                raise
            finally:
                self._depth, self._doomed = 0, False

    @property
    def in_transaction(self) -> bool:
        """A transaction is open on this connection (never after a failed commit)."""
        with self._lock:
            return self._conn.in_transaction

    def total_changes(self) -> int:
        """Rows changed through this connection since it opened (tests, benches)."""
        with self._lock:
            return self._conn.total_changes

    # -- reading helpers for the mixins ------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """A read that finds the file damaged seals it (outside a transaction: inside,
        the transaction does, after its rollback)."""
        with self._lock:
            try:
                yield
            except sqlite3.DatabaseError as exc:
                if not self._depth:
                    self._watch(exc)
                raise

    def _one(self, sql: str, args=()) -> tuple | None:
        with self._reading():
            return self._conn.execute(sql, args).fetchone()

    def _all(self, sql: str, args=()) -> list[tuple]:
        with self._reading():
            return self._conn.execute(sql, args).fetchall()

    def _dicts(self, sql: str, args=()) -> list[dict]:
        with self._reading():
            cur = self._conn.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- migrations --------------------------------------------------------------

    def _has_migrations_table(self) -> bool:
        return self._one("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'") is not None

    def schema_version(self) -> int:
        with self._lock:
            if not self._has_migrations_table():
                return 0
            return self._one("SELECT coalesce(max(version), 0) FROM schema_migrations")[0]

    def applied_migrations(self) -> set[int]:
        with self._lock:
            if not self._has_migrations_table():
                return set()
            return {v for (v,) in self._all("SELECT version FROM schema_migrations")}

    def pending_migrations(self) -> list[tuple[int, str, str]]:
        """Every shipped migration not yet recorded (not merely those above the newest)."""
        applied = self.applied_migrations()
        return [m for m in _migrations() if m[0] not in applied]

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; back up first."""
        pending = self.pending_migrations()
        if not pending:
            return []
        upgrade = self.schema_version() > 0
        if upgrade:
            backup = self.path.with_name(f"{self.path.name}.pre-v{pending[0][0]:04d}.bak")
            self.backup(backup)
            log.info("backed up %s to %s before migrating", self.path, backup)
        applied = []
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)"
            )
            for version, name, sql in pending:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    done = self._conn.execute(
                        "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                    ).fetchone()
                    if done:  # another process (web, daemon) started at once and won
                        self._conn.execute("ROLLBACK")
                        continue
                    for statement in _split_sql(sql):
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        (version, name, time.time_ns() // 1_000_000),
                    )
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise StoreError(f"migration {name} failed: {exc}") from None
                applied.append(name)
                log.debug("applied migration %s", name)
        # Creating a fresh database is routine (each command that made it says where it is);
        # upgrading one is news for the log, once.
        if upgrade and applied:
            log.info("upgraded %s: %s", self.path, ", ".join(applied))
        return applied

    def backup(self, target: str | Path) -> Path:
        """A consistent copy through SQLite's online backup API (safe while running)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        filemodes.prepare_backup(target)  # 0640 at most, like the database
        dest = sqlite3.connect(target)
        try:
            with self._lock:
                self._conn.backup(dest)
        finally:
            dest.close()
        from monitor.store import seal

        seal.copy_key(self.path, target)  # a sealed trial's schedule needs its key
        return target


def _no_room(path: Path) -> bool:
    """The disk holding ``path`` has (next to) no free space left."""
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _held_by_this_process(path: Path) -> bool:
    """Whether a file this process has open (a connection's -wal) is the one at ``path``."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            fst = os.fstat(int(fd))
        except (OSError, ValueError):
            continue
        if (fst.st_dev, fst.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False


@contextlib.contextmanager
def exclusive_lock(
    path: str | Path, what: str, suffix: str = ".lock", service: str = "bedside-monitor"
) -> Iterator[None]:
    """Hold ``<database><suffix>`` (flock) while one writer of readings runs; a second one
    gets StoreError naming the first one's pid, instead of both fighting over the file
    and the broker kicking them off each other.  The monitor and the recorder each have
    their own (one of each may share a database: the recorder skips its own node)."""
    import fcntl

    path = Path(path).expanduser()
    lock_path = path.with_name(path.name + suffix)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o664)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {lock_path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise StoreError(
                f"another {holder} already runs on {path} (it holds {lock_path});"
                f" stop it first (sudo systemctl stop {service}), or give this {what}"
                " its own [storage] database"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{what} (pid {os.getpid()})\n".encode(), 0)
        except OSError as exc:
            full = exc.errno == errno.ENOSPC or _no_room(lock_path)
            raise StoreError(
                f"the disk holding {path} is full: {what} cannot start (nothing was written);"
                " free some space on it, then start again"
                if full
                else f"cannot write the lock file {lock_path}: {exc.strerror}"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock
