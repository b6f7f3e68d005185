"""Cramps: precious, soft-deleted, and an outbox (``published``) for the broker."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, fields

from monitor.store.db import span
from monitor.store.nodes import Nodes
from monitor.store.summaries import Summaries
from monitor.vocabulary import CRAMP_FIELDS, SOURCES, validate_cramp_fields

_INSERT = (
    "INSERT OR IGNORE INTO cramps (node, ts_ms, leg, severity, note, remedy,"
    " relief_min, source, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


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


_CRAMP_COLUMNS = ", ".join(f.name for f in fields(Cramp))


def _cramp(row) -> Cramp:
    values = list(row)
    values[-1] = bool(values[-1])
    return Cramp(*values)


class Cramps(Summaries, Nodes):
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
        with self.transaction():
            cur = self._conn.execute(
                _INSERT,
                (node, ts_ms, leg, severity, note, remedy, relief_min, source, now_ms, now_ms),
            )
            created = cur.rowcount == 1
            if created:
                self._mark_dirty(node, [ts_ms])
                self._touch_node(node, ts_ms)
            row = self._one(
                f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE node = ? AND ts_ms = ?", (node, ts_ms)
            )
        return _cramp(row), created

    def add_cramps(self, node: str, cramps: Iterable[dict], *, source: str, now_ms: int) -> int:
        """Bulk insert (import); each dict has ts_ms and optional fields. Returns new rows."""
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
        with self.transaction():
            if not rows:
                return 0
            before = self._conn.total_changes
            self._conn.executemany(_INSERT, rows)
            added = self._conn.total_changes - before
            if added:
                self._mark_dirty(node, (r[1] for r in rows))
                self._touch_node(node, max(r[1] for r in rows))
        return added

    def get_cramp(self, cramp_id: int) -> Cramp | None:
        row = self._one(f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE id = ?", (cramp_id,))
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
        args: list = [*span(from_ms, to_ms)]
        if node is not None:
            where.append("node = ?")
            args.append(node)
        if not include_deleted:
            where.append("deleted_ms IS NULL")
        order = "DESC" if newest_first else "ASC"
        args += [limit if limit is not None else -1, offset]
        rows = self._all(
            f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE {' AND '.join(where)}"
            f" ORDER BY ts_ms {order}, id {order} LIMIT ? OFFSET ?",
            args,
        )
        return [_cramp(r) for r in rows]

    def update_cramp(self, cramp_id: int, *, now_ms: int, **changes) -> Cramp | None:
        """Change optional fields (and ts_ms); marks the cramp for re-publishing."""
        allowed = set(CRAMP_FIELDS) | {"ts_ms"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        validate_cramp_fields(changes)
        with self.transaction():
            old = self.get_cramp(cramp_id)
            if old is None:
                return None
            if changes:
                sets = ", ".join(f"{k} = ?" for k in changes)
                try:
                    self._conn.execute(
                        f"UPDATE cramps SET {sets}, updated_ms = ?, published = 0 WHERE id = ?",
                        (*changes.values(), now_ms, cramp_id),
                    )
                except sqlite3.IntegrityError:
                    raise ValueError("another cramp is logged at that instant") from None
                self._mark_dirty(old.node, {old.ts_ms, changes.get("ts_ms", old.ts_ms)})
            return self.get_cramp(cramp_id)

    def delete_cramp(self, cramp_id: int, *, now_ms: int) -> Cramp | None:
        """Soft delete: recorded, restorable, published."""
        return self._set_deleted(cramp_id, now_ms, now_ms)

    def restore_cramp(self, cramp_id: int, *, now_ms: int) -> Cramp | None:
        return self._set_deleted(cramp_id, None, now_ms)

    def _set_deleted(self, cramp_id: int, deleted_ms: int | None, now_ms: int) -> Cramp | None:
        with self.transaction():
            row = self._one("SELECT node, ts_ms FROM cramps WHERE id = ?", (cramp_id,))
            if row is None:
                return None
            self._conn.execute(
                "UPDATE cramps SET deleted_ms = ?, updated_ms = ?, published = 0 WHERE id = ?",
                (deleted_ms, now_ms, cramp_id),
            )
            self._mark_dirty(row[0], [row[1]])
            return self.get_cramp(cramp_id)

    def unpublished_cramps(self, node: str, limit: int = 100) -> list[Cramp]:
        """Cramps (including deletions) whose current state the broker has not acknowledged."""
        rows = self._all(
            f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE node = ? AND published = 0"
            " ORDER BY id LIMIT ?",
            (node, limit),
        )
        return [_cramp(r) for r in rows]

    def cramps_after_id(self, node: str, after_id: int, limit: int = 100) -> list[Cramp]:
        """Cramps of one node (deleted ones too) with an id above after_id, lowest id first:
        the relay's cramp-event outbox (ids only grow: cramps are never removed)."""
        rows = self._all(
            f"SELECT {_CRAMP_COLUMNS} FROM cramps WHERE node = ? AND id > ? ORDER BY id LIMIT ?",
            (node, after_id, limit),
        )
        return [_cramp(r) for r in rows]

    def max_cramp_id(self, node: str) -> int:
        """The highest cramp id of one node (deleted ones too), 0 when it has none."""
        row = self._one("SELECT max(id) FROM cramps WHERE node = ?", (node,))
        return row[0] or 0

    def mark_cramp_published(self, cramp_id: int, updated_ms: int) -> bool:
        """Acknowledge one published state; a later edit keeps the row in the outbox."""
        with self.transaction():
            cur = self._conn.execute(
                "UPDATE cramps SET published = 1 WHERE id = ? AND updated_ms = ?",
                (cramp_id, updated_ms),
            )
        return cur.rowcount == 1
