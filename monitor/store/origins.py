"""Cramp origins (migration 0006, `bedside recorder` only): which node-local cramp
(its id and creation instant on the node) a recorded cramp is, so an edit of its
time on the node moves the recorded row instead of adding a second cramp."""

from __future__ import annotations

from monitor.store.db import Database


class Origins(Database):
    def cramp_origin(self, node: str, origin: tuple[int, int]) -> int | None:
        """The recorded cramp's id for a node's (id, created_ms), or None."""
        row = self._one(
            "SELECT cramp_id FROM cramp_origins WHERE node = ? AND remote_id = ?"
            " AND created_ms = ?",
            (node, *origin),
        )
        return row[0] if row else None

    def set_cramp_origin(self, node: str, origin: tuple[int, int], cramp_id: int) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO cramp_origins (node, remote_id, created_ms, cramp_id)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (node, remote_id, created_ms)"
                " DO UPDATE SET cramp_id = excluded.cramp_id",
                (node, *origin, cramp_id),
            )
