"""Night summaries as stored rows: the SQL aggregate of a window, dirty days, the cache.

A finished night's summary is computed once and kept in ``night_summaries``; it
is stale when a ``dirty_days`` row of a UTC day it touches is newer than it
(imports, cramp edits, backfill).  Live appends never mark days dirty.  What a
night *is* (windows, coverage) is monitor.nights' business, not the store's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.store.db import Database

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class NightTotals:
    """What SQLite aggregates over one node's [start_ms, end_ms)."""

    start_ms: int
    end_ms: int
    n_readings: int
    bins: int  # bins (of the width asked for, counted from start_ms) holding a reading
    min_temp_c: float | None
    mean_temp_c: float | None
    mean_humidity_pct: float | None
    cramps: int  # not deleted


class NightCache:
    """The stored summaries of one node under one window key, read in one go.

    :meth:`fresh` gives a stored night that no later out-of-order write touched;
    :meth:`remember` queues a computed one and :meth:`save` writes the queue in
    one transaction (never on a read-only store or an older database).
    """

    def __init__(self, store: Summaries, node: str, window_key: str):
        self.store, self.node, self.window_key = store, node, window_key
        self.persist = not store.readonly
        self.version = store.data_version()
        self.pending: list[tuple] = []
        with store._lock:
            # Two queries: SQLite answers a lone min() or max() from the index.
            first = store._one("SELECT min(ts_ms) FROM readings WHERE node = ?", (node,))
            newest = store._one("SELECT max(ts_ms) FROM readings WHERE node = ?", (node,))
            self.first_ms, self.newest_ms = first[0], newest[0]
            try:
                rows = store._all(
                    "SELECT night, start_ms, end_ms, n_readings, bins, min_temp_c, mean_temp_c,"
                    " mean_humidity_pct, cramps, version FROM night_summaries"
                    " WHERE node = ? AND params_key = ?",
                    (node, window_key),
                )
            except sqlite3.OperationalError:  # an older read-only database without 0003
                rows, self.persist = [], False
            self.dirty = dict(
                store._all("SELECT day, version FROM dirty_days WHERE node = ?", (node,))
            )
        self.stored: dict[str, tuple[NightTotals, int]] = {
            r[0]: (NightTotals(*r[1:9]), r[9]) for r in rows
        }

    def fresh(self, night: str, start_ms: int, end_ms: int) -> NightTotals | None:
        """The stored totals of a night (ISO date) if stored for this very window and
        no dirty day it touches is newer."""
        stored = self.stored.get(night)
        if stored is None:
            return None
        totals, version = stored
        if (totals.start_ms, totals.end_ms) != (start_ms, end_ms):
            return None
        for day in range(start_ms // DAY_MS, (end_ms - 1) // DAY_MS + 1):
            if self.dirty.get(day, -1) > version:
                return None
        return totals

    def remember(self, night: str, totals: NightTotals, total_bins: int, now_ms: int) -> None:
        """Queue a finished night for :meth:`save`.  Only once the node's readings have
        moved past its end, so a later reading inside it is an out-of-order write that
        marks its day dirty."""
        if not self.persist or self.newest_ms is None or self.newest_ms < totals.end_ms:
            return
        t = totals
        self.pending.append(
            (
                self.node,
                self.window_key,
                night,
                t.start_ms,
                t.end_ms,
                t.n_readings,
                t.bins,
                total_bins,
                t.min_temp_c,
                t.mean_temp_c,
                t.mean_humidity_pct,
                t.cramps,
                self.version,
                now_ms,
            )
        )

    def save(self) -> int:
        """Write the queued nights; returns how many (0 when the file is read-only or busy)."""
        if not self.pending:
            return 0
        rows, self.pending = self.pending, []
        try:
            with self.store.transaction():
                self.store._conn.executemany(
                    "INSERT OR REPLACE INTO night_summaries (node, params_key, night, start_ms,"
                    " end_ms, n_readings, bins, total_bins, min_temp_c, mean_temp_c,"
                    " mean_humidity_pct, cramps, version, computed_ms)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
        except sqlite3.OperationalError:  # read-only file or a busy writer: next time
            return 0
        return len(rows)


class Summaries(Database):
    # -- data version and dirty days ------------------------------------------------

    def data_version(self) -> int:
        """Grows whenever rows change out of order (imports, cramps): reports cite it."""
        row = self._one("SELECT value FROM meta WHERE key = 'data_version'")
        return int(row[0]) if row else 0

    def _mark_dirty(self, node: str, ts_values: Iterable[int]) -> None:
        """Inside a transaction: the UTC days of these instants changed out of order."""
        days = {ts // DAY_MS for ts in ts_values}
        if not days:
            return
        conn = self._conn
        conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'"
        )
        version = conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0]
        conn.executemany(
            "INSERT INTO dirty_days (node, day, version) VALUES (?, ?, ?)"
            " ON CONFLICT (node, day) DO UPDATE SET version = excluded.version",
            [(node, day, int(version)) for day in sorted(days)],
        )

    # -- nights -------------------------------------------------------------------------

    def night_totals(self, node: str, start_ms: int, end_ms: int, bin_ms: int) -> NightTotals:
        """One window from its raw rows; SQLite does the aggregation (no row reaches Python)."""
        with self._lock:
            n, bins, lo, mean_t, mean_h = self._one(
                "SELECT count(*), count(DISTINCT (ts_ms - ?) / ?), min(temperature_c),"
                " avg(temperature_c), avg(humidity_pct) FROM readings"
                " WHERE node = ? AND ts_ms >= ? AND ts_ms < ?",
                (start_ms, bin_ms, node, start_ms, end_ms),
            )
            cramps = self._one(
                "SELECT count(*) FROM cramps WHERE node = ? AND ts_ms >= ? AND ts_ms < ?"
                " AND deleted_ms IS NULL",
                (node, start_ms, end_ms),
            )[0]
        return NightTotals(start_ms, end_ms, n, bins, lo, mean_t, mean_h, cramps)

    def night_cache(self, node: str, window_key: str) -> NightCache:
        """The stored summaries of a node under one window key (see NightCache)."""
        return NightCache(self, node, window_key)
