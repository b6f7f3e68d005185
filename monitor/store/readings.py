"""Readings: (node, instant) -> temperature and humidity, idempotent by key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.store.db import span
from monitor.store.nodes import Nodes
from monitor.store.summaries import Summaries

ReadingRow = tuple[str, int, float, float | None]  # (node, ts_ms, temperature_c, humidity_pct)


@dataclass(frozen=True, slots=True)
class Reading:
    ts_ms: int
    temperature_c: float
    humidity_pct: float | None = None


class Readings(Summaries, Nodes):
    def add_readings(self, node: str, readings: Iterable[Reading]) -> int:
        """Store readings; duplicates of (node, ts) are ignored.  Returns how many were new.

        Rows at or before the node's newest reading mark their days dirty so
        stored night summaries get recomputed; live appends do not.
        """
        rows = [(node, r.ts_ms, r.temperature_c, r.humidity_pct) for r in readings]
        return self.add_reading_rows(node, rows)

    def add_reading_rows(self, node: str, rows: list[ReadingRow]) -> int:
        """add_readings for ready-made (node, ts_ms, temperature_c, humidity_pct) tuples
        (every tuple's node is ``node``): the CSV import's fast path, no objects per row."""
        with self.transaction():
            if not rows:
                return 0
            conn = self._conn
            newest = conn.execute(
                "SELECT max(ts_ms) FROM readings WHERE node = ?", (node,)
            ).fetchone()[0]
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO readings (node, ts_ms, temperature_c, humidity_pct)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
            added = conn.total_changes - before
            if added and newest is not None:
                self._mark_dirty(node, (r[1] for r in rows if r[1] <= newest))
            if added:
                self._touch_node(node, max(r[1] for r in rows))
        return added

    def add_reading(self, node: str, reading: Reading) -> bool:
        return self.add_readings(node, [reading]) == 1

    def newest_reading(self, node: str, *, until_ms: int | None = None) -> Reading | None:
        """The node's newest reading (stamped at or before ``until_ms`` when given: a row
        stamped in the future does not stand for the present)."""
        row = self._one(
            "SELECT ts_ms, temperature_c, humidity_pct FROM readings WHERE node = ?"
            " AND ts_ms <= ? ORDER BY ts_ms DESC LIMIT 1",
            (node, 2**62 if until_ms is None else until_ms),
        )
        return Reading(*row) if row else None

    def oldest_reading(self, node: str) -> Reading | None:
        row = self._one(
            "SELECT ts_ms, temperature_c, humidity_pct FROM readings WHERE node = ?"
            " ORDER BY ts_ms LIMIT 1",
            (node,),
        )
        return Reading(*row) if row else None

    def nodes_with_readings(self) -> list[str]:
        """Every node id that has at least one reading, sorted (the pooled study's
        default participants)."""
        return [
            n
            for (n,) in self._all(
                "SELECT id FROM nodes WHERE EXISTS"
                " (SELECT 1 FROM readings WHERE node = nodes.id) ORDER BY id"
            )
        ]

    # -- the clock guard's floor, and rows stamped in the future ---------------------------

    def clock_floor(self, node: str) -> int | None:
        """The newest reading the node's daemon stored with a clock it trusted (or None)."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (f"clock_floor:{node}",))
        return int(row[0]) if row and str(row[0]).lstrip("-").isdigit() else None

    def set_clock_floor(self, node: str, ts_ms: int) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (f"clock_floor:{node}", str(int(ts_ms))),
            )

    def future_rows(self, after_ms: int) -> list[dict]:
        """Readings and cramps (not deleted) stamped after ``after_ms``, per table and node:
        {table, node, count, first_ms, last_ms}."""
        rows = []
        for table, extra in (("readings", ""), ("cramps", " AND deleted_ms IS NULL")):
            rows += [
                {"table": table, **row}
                for row in self._dicts(
                    f"SELECT node, count(*) AS count, min(ts_ms) AS first_ms,"
                    f" max(ts_ms) AS last_ms FROM {table} WHERE ts_ms > ?{extra}"
                    " GROUP BY node ORDER BY node",
                    (after_ms,),
                )
            ]
        return rows

    def delete_future_readings(self, after_ms: int) -> int:
        """Remove readings stamped after ``after_ms`` (a clock that ran ahead); how many."""
        with self.transaction():
            cur = self._conn.execute("DELETE FROM readings WHERE ts_ms > ?", (after_ms,))
        return cur.rowcount

    def readings(
        self,
        node: str,
        from_ms: int | None = None,
        to_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Reading]:
        """Readings of a node in [from_ms, to_ms), oldest first."""
        rows = self._all(
            "SELECT ts_ms, temperature_c, humidity_pct FROM readings"
            " WHERE node = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms LIMIT ?",
            (node, *span(from_ms, to_ms), limit if limit is not None else -1),
        )
        return [Reading(*r) for r in rows]

    def temperatures(self, node: str, from_ms: int, to_ms: int) -> list[tuple[int, float]]:
        """(ts_ms, temperature_c) of a node in [from_ms, to_ms): the analysis's exposure
        windows, thousands of them, without building a Reading per row."""
        return self._all(
            "SELECT ts_ms, temperature_c FROM readings WHERE node = ? AND ts_ms >= ? AND ts_ms < ?",
            (node, from_ms, to_ms),
        )

    def readings_after(
        self, node: str, after_ms: int, limit: int, until_ms: int | None = None
    ) -> list[Reading]:
        """Readings strictly after an instant (and at or before ``until_ms``), oldest first
        (the reading outbox)."""
        rows = self._all(
            "SELECT ts_ms, temperature_c, humidity_pct FROM readings"
            " WHERE node = ? AND ts_ms > ? AND ts_ms <= ? ORDER BY ts_ms LIMIT ?",
            (node, after_ms, 2**62 if until_ms is None else until_ms, limit),
        )
        return [Reading(*r) for r in rows]

    def count_readings(self, node: str | None = None) -> int:
        if node is None:
            return self._one("SELECT count(*) FROM readings")[0]
        return self._one("SELECT count(*) FROM readings WHERE node = ?", (node,))[0]
