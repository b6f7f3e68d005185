"""Alert episodes: when a room was too cold or its sensor failed, and how cold it got."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.store.db import Database, span

_EPISODE_COLUMNS = "id, node, kind, start_ms, end_ms, min_temp_c"


@dataclass(frozen=True, slots=True)
class AlertEpisode:
    id: int
    node: str
    kind: str
    start_ms: int
    end_ms: int | None
    min_temp_c: float | None


class Episodes(Database):
    def start_episode(
        self, node: str, kind: str, start_ms: int, min_temp_c: float | None = None
    ) -> AlertEpisode:
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO alert_episodes (node, kind, start_ms, min_temp_c)"
                " VALUES (?, ?, ?, ?)",
                (node, kind, start_ms, min_temp_c),
            )
            row = self._one(
                f"SELECT {_EPISODE_COLUMNS} FROM alert_episodes"
                " WHERE node = ? AND kind = ? AND start_ms = ?",
                (node, kind, start_ms),
            )
        return AlertEpisode(*row)

    def update_episode(
        self, episode_id: int, *, end_ms: int | None = None, min_temp_c: float | None = None
    ) -> None:
        with self.transaction():
            if min_temp_c is not None:
                self._conn.execute(
                    "UPDATE alert_episodes SET min_temp_c = min(coalesce(min_temp_c, ?), ?)"
                    " WHERE id = ?",
                    (min_temp_c, min_temp_c, episode_id),
                )
            if end_ms is not None:
                self._conn.execute(
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
        args: list = [*span(from_ms, to_ms)]
        if node is not None:
            where.append("node = ?")
            args.append(node)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        rows = self._all(
            f"SELECT {_EPISODE_COLUMNS} FROM alert_episodes"
            f" WHERE {' AND '.join(where)} ORDER BY start_ms",
            args,
        )
        return [AlertEpisode(*r) for r in rows]
