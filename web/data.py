"""Store access for the web process: read-only connections per request, one lazy writer.

The daemon owns the readings; the web only writes rare rows (cramps) through the
same store functions, with a busy timeout.  Everything else reads through a
read-only connection opened for the request and closed at its end.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import g

from monitor import nights as nights_mod
from monitor.clock import FUTURE_SLACK_MS
from monitor.config import Config
from monitor.store import Store, StoreError

ROOM_COOKIE = "bedside_room"  # which room a browser looks at (pages and API alike)

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Current:
    """What the Now page and /api/current show for one room."""

    node: str
    ts_ms: int | None
    temperature_c: float | None
    humidity_pct: float | None
    age_s: float | None
    alerts: list[dict]
    health: dict | None
    cramps_tonight: int
    last_cramp_ms: int | None
    version: str
    sensor: dict | None = None  # sensor_state(): what the health line says


HEALTH_WORDS = {
    "ok": "Working",
    "starting": "Starting",
    "degraded": "Some reads fail",
    "failing": "Not answering",
}


def sensor_state(
    health: dict | None, newest_ms: int | None, now_ms: int, silent_s: float
) -> dict | None:
    """The health line, judged by the newest reading's age first.

    The daemon writes its health row every few minutes; a crashed monitor or a dead Pi
    writes nothing, so the last row ("ok") would stay "Working" for ever beside a red
    "silent" banner.  A stale newest reading overrules the row: {status, label, silent}.
    """
    if newest_ms is None and health is None:
        return None
    silent = newest_ms is None or (now_ms - newest_ms) / 1000 > silent_s
    if silent:
        alive = health is not None and (now_ms - health["updated_ms"]) / 1000 <= silent_s
        if alive and health["status"] != "ok":  # the daemon runs; its sensor does not answer
            return {
                "status": health["status"],
                "label": HEALTH_WORDS.get(health["status"], health["status"]),
                "silent": True,
            }
        label = "No readings yet" if newest_ms is None else "Not reporting"
        return {"status": "silent", "label": label, "silent": True}
    status = (health or {}).get("status", "ok")
    return {"status": status, "label": HEALTH_WORDS.get(status, status), "silent": False}


class DataAccess:
    def __init__(self, config: Config, clock):
        self.config = config
        self.clock = clock
        self.path = config.storage.database
        self.tz = ZoneInfo(config.node.timezone)
        self.params = nights_mod.NightParams.from_config(config)
        self._writer: Store | None = None
        self._writer_lock = threading.Lock()

    # -- connections ---------------------------------------------------------------

    def reader(self) -> Store:
        """This request's read-only store (the database is created if it is missing)."""
        store = g.get("bedside_reader")
        if store is None:
            try:
                store = Store.open_readonly(self.path)
            except StoreError:
                self.writer()  # creates and migrates an empty database once
                store = Store.open_readonly(self.path)
            g.bedside_reader = store
        return store

    def writer(self) -> Store:
        with self._writer_lock:
            if self._writer is None:
                self._writer = Store.open(self.path, busy_timeout_ms=10_000, verify=True)
            return self._writer

    def close_request(self, _exc=None) -> None:
        store = g.pop("bedside_reader", None)
        if store is not None:
            store.close()

    def close(self) -> None:
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def now_ms(self) -> int:
        return self.clock.now_ms()

    # -- rooms -----------------------------------------------------------------------

    def nodes(self) -> list[dict]:
        return self.reader().nodes()

    def choose_node(self, wanted: str | None) -> str:
        """The requested room if it exists, else this node, else the first known room."""
        ids = [n["id"] for n in self.nodes()]
        if wanted and wanted in ids:
            return wanted
        if self.config.node.id in ids or not ids:
            return self.config.node.id
        return ids[0]

    # -- the Now page ----------------------------------------------------------------

    def current(self, node: str) -> Current:
        store = self.reader()
        now = self.now_ms()
        # A row stamped in the future (a clock that ran ahead) is not the present.
        newest = store.newest_reading(node, until_ms=now + FUTURE_SLACK_MS)
        alerts = [
            {"kind": e.kind, "start_ms": e.start_ms, "min_temp_c": e.min_temp_c}
            for e in store.episodes(node, now - 1, None)
            if e.end_ms is None
        ]
        health = store.sensor_health(node)
        night = self.tonight_or_last(now)
        start, end = nights_mod.night_window(night, self.params)
        tonight = store.cramps(node, start, end)
        last = store.cramps(node, newest_first=True, limit=1)
        age = (now - newest.ts_ms) / 1000 if newest else None
        silent = age is not None and age > self.config.sensor_silent_s
        if silent and not any(a["kind"] == "sensor" for a in alerts):
            alerts.append({"kind": "sensor", "start_ms": newest.ts_ms, "min_temp_c": None})
        version = "|".join(
            str(x)
            for x in (
                node,
                newest.ts_ms if newest else 0,
                len(tonight),
                last[0].updated_ms if last else 0,
                store.data_version(),
                ",".join(a["kind"] for a in alerts),
            )
        )
        return Current(
            node=node,
            ts_ms=newest.ts_ms if newest else None,
            temperature_c=newest.temperature_c if newest else None,
            humidity_pct=newest.humidity_pct if newest else None,
            age_s=age,
            alerts=alerts,
            health=health,
            cramps_tonight=len(tonight),
            last_cramp_ms=last[0].ts_ms if last else None,
            version=version,
            sensor=sensor_state(
                health, newest.ts_ms if newest else None, now, self.config.sensor_silent_s
            ),
        )

    def local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(self.tz)

    def tonight_or_last(self, now_ms: int) -> date:
        """The night in progress, else the one that ended most recently."""
        night = nights_mod.night_of(now_ms, self.params)
        if night is not None:
            return night
        return self.local(now_ms).date() - timedelta(days=1)

    def in_night_window(self, now_ms: int) -> bool:
        return nights_mod.in_night_hours(now_ms, self.params)
