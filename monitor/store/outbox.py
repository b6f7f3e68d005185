"""Outbox watermarks: up to which instant the broker has acknowledged a node's stream."""

from __future__ import annotations

from monitor.store.db import Database


class Outbox(Database):
    def outbox_watermark(self, node: str, stream: str = "reading") -> int | None:
        row = self._one(
            "SELECT acked_ms FROM outbox_state WHERE node = ? AND stream = ?", (node, stream)
        )
        return row[0] if row else None

    def set_outbox_watermark(self, node: str, acked_ms: int, stream: str = "reading") -> None:
        """Never moves backwards.  The daemon calls it inside its own transaction, in the
        same commit as a reading: one fsync fewer."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO outbox_state (node, stream, acked_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (node, stream)"
                " DO UPDATE SET acked_ms = max(acked_ms, excluded.acked_ms)",
                (node, stream, acked_ms),
            )

    def rewind_outbox_watermark(self, node: str, to_ms: int, stream: str = "reading") -> None:
        """Move the watermark back to ``to_ms`` (not forward): readings after it go out again.
        For a clock that jumped ahead and back, whose future stamps had been acknowledged."""
        with self.transaction():
            self._conn.execute(
                "UPDATE outbox_state SET acked_ms = min(acked_ms, ?) WHERE node = ? AND stream = ?",
                (to_ms, node, stream),
            )

    def watermarks_after(self, after_ms: int, stream: str = "reading") -> dict[str, int]:
        """node -> watermark, for the watermarks stamped after ``after_ms`` (acknowledged
        for a row stamped in the future: nothing older is published until then)."""
        return dict(
            self._all(
                "SELECT node, acked_ms FROM outbox_state WHERE stream = ? AND acked_ms > ?"
                " ORDER BY node",
                (stream, after_ms),
            )
        )
