"""Sensor health (migration 0002): the daemon's view of its sensor, for the dashboard."""

from __future__ import annotations

from monitor.store.db import Database


class Health(Database):
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
        with self.transaction():
            self._conn.execute(
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
        rows = self._dicts("SELECT * FROM sensor_health WHERE node = ?", (node,))
        return rows[0] if rows else None
