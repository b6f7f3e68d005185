"""`bedside demo`: weeks of simulated history, the live daemon, and the dashboard.

Everything goes through the real code paths: readings and cramps are stored
with the store functions, the daemon runs with the simulated sensor and
gpiozero's MockFactory pins, the report is computed by `bedside report` in a
child process, and the dashboard is served by waitress.
"""

from __future__ import annotations

import logging
import math
import random
import socket
import threading
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.clock import SystemClock
from monitor.config import Config
from monitor.daemon.alerts import AlertMachines, ColdRules
from monitor.errors import UserError
from monitor.sensing import simroom
from monitor.store import Reading, Store

log = logging.getLogger(__name__)

HISTORY_STEP_MS = 30_000
DEMO_INTERVAL_S = 5.0
REMEDY_RELIEF = {"stretch": (2, 6), "massage": (4, 10), "heat": (6, 15), "reposition": (3, 12)}


def cramp_probability(min_temp_c: float) -> float:
    """The demo's made-up person: colder nights, more cramps (so the evidence shows something)."""
    return 0.05 + 0.6 / (1 + math.exp((min_temp_c - 18.2) * 2.2))


def fill_history(
    store: Store,
    node: str,
    tz: str,
    seed: int,
    weeks: int,
    now_ms: int,
    alert_rules: ColdRules | None = None,
) -> dict:
    """Store `weeks` of 30-s readings up to now and cramps on (mostly cold) nights.

    With ``alert_rules``, the real cold-alert machine runs over the history and
    its episodes are stored, as the daemon would have done on those nights.
    """
    zone = ZoneInfo(tz)
    start = now_ms - weeks * 7 * 86_400_000
    start -= start % HISTORY_STEP_MS
    machines = None
    if alert_rules:
        # History is sampled every 30 s, whatever the live interval: a shorter silent
        # timeout would call every gap between history readings a silent sensor.
        rules = replace(alert_rules, silent_ms=max(alert_rules.silent_ms, 5 * HISTORY_STEP_MS))
        machines = AlertMachines(rules, start)
    episode_id = None
    episodes = 0
    batch: list[Reading] = []
    added = 0
    for ts in range(start, now_ms, HISTORY_STEP_MS):
        t, rh = simroom.room(ts, zone, seed)
        reading = Reading(ts, t, rh)
        batch.append(reading)
        if len(batch) >= 20_000:
            added += store.add_readings(node, batch)
            batch = []
        for change in machines.step(reading, ts) if machines else ():
            if change.kind != "cold":
                continue
            if change.active:
                episode_id = store.start_episode(
                    node, "cold", change.since_ms, change.min_temp_c
                ).id
                episodes += 1
            elif episode_id is not None:
                store.update_episode(
                    episode_id, end_ms=change.end_ms or ts, min_temp_c=change.min_temp_c
                )
                episode_id = None
    added += store.add_readings(node, batch)
    if episode_id is not None:  # still cold now: record the episode's lowest so far
        store.update_episode(episode_id, min_temp_c=machines.cold.run_min_c)

    rng = random.Random(seed)
    cramps = []
    first = datetime.fromtimestamp(start / 1000, tz=UTC).astimezone(zone).date()
    last = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone).date()
    day = first
    while day < last:
        offset = simroom.night_offset_c(day, seed)
        min_temp = 20.6 - max(0.4, 2.4 - offset)
        if rng.random() < cramp_probability(min_temp):
            minute = rng.randrange(60, 330)  # 01:00-05:30
            local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
            ts = round((local + timedelta(minutes=minute)).timestamp() * 1000)
            ts += rng.randrange(0, 60_000)
            fields: dict = {"ts_ms": ts, "leg": rng.choice(["left", "right", "left", "both"])}
            if rng.random() < 0.7:
                fields["severity"] = rng.randint(2, 5)
            if rng.random() < 0.6:
                remedy = rng.choice(list(REMEDY_RELIEF))
                lo, hi = REMEDY_RELIEF[remedy]
                fields["remedy"] = remedy
                fields["relief_min"] = float(rng.randint(lo, hi))
            if ts < now_ms:
                cramps.append(fields)
        day += timedelta(days=1)
    n_cramps = store.add_cramps(node, cramps, source="import", now_ms=now_ms)
    return {"readings": added, "cramps": n_cramps, "cold_episodes": episodes}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write_config(config: Config, path: Path) -> Path:
    """The demo's effective config as TOML, so child processes (the report) see the same."""
    import dataclasses

    lines = []
    for section in dataclasses.fields(config):
        if section.name == "source":
            continue
        lines.append(f"[{section.name}]")
        tables = []  # a table value ([study] timezones) is its own [section.key] after the keys
        for f in dataclasses.fields(getattr(config, section.name)):
            value = getattr(getattr(config, section.name), f.name)
            if isinstance(value, dict):
                tables.append(f"[{section.name}.{f.name}]")
                tables += [f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items()]
            elif value is not None:
                lines.append(f"{f.name} = {_toml_value(value)}")
        lines += ["", *tables, ""] if tables else [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def demo_config(config: Config, database: Path, port: int) -> Config:
    mqtt_enabled = config.mqtt.enabled and config.source != "defaults"
    return config.replace(
        storage={"database": str(database)},
        sensor={"kind": "simulated", "interval_s": DEMO_INTERVAL_S},
        mqtt={"enabled": mqtt_enabled},
        web={"host": "127.0.0.1", "port": port},
    )


class _Feeder:
    """Fallback while monitor.daemon.loop.Daemon does not exist: simulated readings, stored."""

    def __init__(self, config: Config):
        self.config = config
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo-feeder", daemon=True)

    def _run(self) -> None:
        store = Store.open(self.config.storage.database)
        clock = SystemClock()
        try:
            while not self.stop_event.is_set():
                now = clock.now_ms()
                t, rh = simroom.room(now, self.config.node.timezone, self.config.sensor.seed)
                store.add_reading(self.config.node.id, Reading(now, t, rh))
                self.stop_event.wait(self.config.sensor.interval_s)
        finally:
            store.close()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)


def start_daemon(config: Config):
    try:
        from gpiozero.pins.mock import MockFactory

        from monitor.daemon.loop import Daemon
    except ImportError as exc:
        log.warning(
            "the live daemon is not available (%s): feeding simulated readings instead", exc
        )
        feeder = _Feeder(config)
        feeder.start()
        return feeder
    try:
        daemon = Daemon(config, clock=None, sensor=None, pin_factory=MockFactory())
        daemon.start()
    except Exception as exc:  # the demo must still show the dashboard
        log.warning("the live daemon did not start (%s): feeding simulated readings instead", exc)
        feeder = _Feeder(config)
        feeder.start()
        return feeder
    return daemon


def _check_port(port: int) -> None:
    """Fail before minutes of history-filling if the dashboard's port is taken."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
