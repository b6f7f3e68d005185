"""The nodes table: which bedrooms exist, when they were last seen, their status."""

from __future__ import annotations

import json

from monitor.store.db import Database

REFUSED_KEY = "recorder_refused"

NODE_SEEN_STEP_MS = 600_000


class Nodes(Database):
    def _touch_node(self, node: str, ts_ms: int) -> None:
        """Record a node and, coarsely, when it was last seen (inside a transaction).

        last_seen_ms is only rewritten when it moves by more than NODE_SEEN_STEP_MS:
        rewriting that row on every 30-s reading was a third of the bytes the
        daemon wrote to the SD card.  nodes() reports the exact instant.
        """
        self._conn.execute(
            "INSERT INTO nodes (id, first_seen_ms, last_seen_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms"
            " WHERE excluded.last_seen_ms > coalesce(last_seen_ms, 0) + ?",
            (node, ts_ms, ts_ms, NODE_SEEN_STEP_MS),
        )

    def set_node_status(self, node: str, status: str, at_ms: int) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO nodes (id, first_seen_ms, status, status_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
                " status_ms = excluded.status_ms",
                (node, at_ms, status, at_ms),
            )

    def set_node_timezone(self, node: str, timezone: str) -> None:
        """The zone a node says it lives in (its retained info message)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO nodes (id, timezone) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone",
                (node, timezone),
            )

    def node_timezones(self) -> dict[str, str]:
        """node id -> the time zone it published, for nodes that did."""
        return dict(self._all("SELECT id, timezone FROM nodes WHERE timezone IS NOT NULL"))

    def set_trial_result(self, node: str, result: dict, received_ms: int) -> None:
        """A node's finished trial (its newest: a later trial replaces it)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO study_trials (node, first_night, pairs, usual_only, warm_only,"
                " received_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node) DO UPDATE SET"
                " first_night = excluded.first_night, pairs = excluded.pairs,"
                " usual_only = excluded.usual_only, warm_only = excluded.warm_only,"
                " received_ms = excluded.received_ms",
                (
                    node,
                    result["first_night"],
                    result["pairs"],
                    result["usual_only"],
                    result["warm_only"],
                    received_ms,
                ),
            )

    def trial_results(self) -> dict[str, tuple[int, int, int]]:
        """node -> (pairs, usual_only, warm_only) of the finished trials nodes published
        (a node publishes only once its trial has ended, by its own clock)."""
        rows = self._all("SELECT node, pairs, usual_only, warm_only FROM study_trials")
        return {node: (pairs, b, c) for node, pairs, b, c in rows}

    def nodes(self) -> list[dict]:
        """Every node with first/last seen (exact: the newest reading or cramp) and status."""
        rows = self._dicts(
            "SELECT id, name, first_seen_ms,"
            " max(coalesce(last_seen_ms, 0),"
            "     coalesce((SELECT max(ts_ms) FROM readings WHERE node = nodes.id), 0),"
            "     coalesce((SELECT max(ts_ms) FROM cramps WHERE node = nodes.id), 0))"
            " AS last_seen_ms, status, status_ms FROM nodes ORDER BY id"
        )
        for row in rows:
            row["last_seen_ms"] = row["last_seen_ms"] or None
        return rows

    def set_refused_nodes(self, summary: dict) -> None:
        """The recorder's refused node ids (beyond [recorder] max_nodes), for doctor and the
        Rooms page: {"nodes": [{"id", "messages"}], "distinct", "max_nodes", "since_ms"}."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (REFUSED_KEY, json.dumps(summary, separators=(",", ":"))),
            )

    def refused_nodes(self) -> dict | None:
        """What set_refused_nodes saved last, or None (nothing was ever refused)."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (REFUSED_KEY,))
        if row is None:
            return None
        try:
            summary = json.loads(row[0])
        except (TypeError, ValueError):
            return None
        return summary if isinstance(summary, dict) else None
