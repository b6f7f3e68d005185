"""The sensor daemon (`bedside monitor`): read, store, then tell.

Each cycle (every ``[sensor] interval_s``): the sampler reads with retries and
filters; a plausible reading stamped by a plausible clock is committed to the
store (when the disk refuses it, e.g. full, it is held in memory, at most a day
of them, retried every cycle and reported once, while the alerts still hear
of it); the relay is woken to publish it (the store is the outbox, so a crash
between store and publish only delays the message); the components (button,
LED, alerts) hear about the cycle; systemd's watchdog is fed.

Pins: the components get one gpiozero pin factory through DaemonContext.  It
is ``MockFactory`` when ``GPIOZERO_PIN_FACTORY=mock``, or when the sensor is
simulated on a machine that is not a Raspberry Pi (demo, CI); otherwise None,
and gpiozero picks its default (lgpio on a Pi).  With no button, LED or
buzzer configured it is None and gpiozero is never imported (memory).  A factory the daemon created
is closed on shutdown, releasing every pin.

The sensor is a dependency that may fail: one that cannot be opened, or that
disappears, is reopened with backoff (monitor.sensing.drivers.ReopeningSensor)
while the button, LED, buzzer, alerts and MQTT keep working; its cycles count as
failed reads, so the silent-sensor alert fires and clears as for a mute sensor.

systemd: with ``NOTIFY_SOCKET`` set, READY=1 once the store is up and the sensor was tried,
WATCHDOG=1 every cycle (use ``WatchdogSec`` of a few intervals), STOPPING=1 on
the way out.  SIGTERM/SIGINT stop the loop; shutdown flushes the outbox
watermark, publishes ``offline``, closes the components and releases the pins.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sqlite3
import threading

from monitor.clock import RELEASE_DATE_MS, SystemClock, iso_utc
from monitor.config import Config
from monitor.daemon.components import DaemonContext, build_components
from monitor.daemon.sdnotify import sd_notify
from monitor.daemon.trial import TrialComponent
from monitor.mqtt.payloads import Topics
from monitor.sensing.drivers import ReopeningSensor, is_raspberry_pi, open_sensor
from monitor.sensing.sampler import ClockGuard, Sampler, SensorHealth
from monitor.store import (
    CorruptDatabase,
    Reading,
    Store,
    StoreError,
    corruption_message,
    is_corruption,
)
from monitor.store.db import exclusive_lock

log = logging.getLogger("monitor.daemon.loop")

HEALTH_EVERY_S = 600.0  # sensor_health row: on a status change, else at most this often
# The clock guard's persisted floor (Store.clock_floor) is written with the health row,
# so it lags the newest reading by at most about this much.
FLOOR_LAG_MS = int(HEALTH_EVERY_S * 1000) + 5 * 60_000
# Without a persisted floor (a database from before it existed): rows stamped more than
# this far ahead of a plausible clock are taken as stamped in the future.
NO_FLOOR_LAG_MS = 86_400_000
UNSAVED_MAX = 2880  # readings held in memory while storing fails: a day at 30 s


def uses_gpio(config: Config) -> bool:
    """Whether any component will drive a pin (the DHT goes through Blinka, not gpiozero)."""
    return config.button.enabled or config.led.pin is not None or config.buzzer.pin is not None


def choose_pin_factory(config: Config):
    """MockFactory for the demo/tests (see the module doc), else None (gpiozero's default).

    None too when no button, LED or buzzer is configured: gpiozero is not even imported.
    """
    wanted = os.environ.get("GPIOZERO_PIN_FACTORY", "").strip().lower()
    if not uses_gpio(config):
        return None
    if wanted == "mock" or (
        not wanted and config.sensor.kind == "simulated" and not is_raspberry_pi()
    ):
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    return None


def _check_watchdog(config: Config) -> None:
    """Warn when systemd's WatchdogSec is too short for one read cycle with its retries."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit():
        return
    cycle_s = config.sensor.interval_s + 2 * config.sensor.retries + 5
    if int(usec) / 1e6 < cycle_s:
        log.warning(
            "systemd WatchdogSec=%g s is shorter than one read cycle (%g s with retries):"
            " systemd will restart a healthy daemon; use at least %d s",
            int(usec) / 1e6,
            cycle_s,
            int(3 * config.sensor.interval_s),
        )


def _noop(*_args) -> None:
    return None


def start_clock_guard(store: Store, node: str, clock) -> ClockGuard:
    """The clock guard for a daemon starting on this database.

    Its floor is the newest reading the daemon stored with a plausible clock: the
    persisted floor (``Store.clock_floor``) tells a clock that is behind (a Pi booting
    without an RTC: hold off) from rows stamped in the future (an old import, a clock
    that ran ahead while the daemon was down: left out of the floor, said once).
    """
    newest = store.newest_reading(node)
    if newest is None:
        return ClockGuard(None)
    now = clock.now_ms()
    marker = store.clock_floor(node)
    if marker is not None:
        limit = max(now, marker) + FLOOR_LAG_MS
    elif now >= RELEASE_DATE_MS:
        limit = now + NO_FLOOR_LAG_MS
    else:
        limit = newest.ts_ms
    trusted = store.newest_reading(node, until_ms=limit)
    trusted_ms = trusted.ts_ms if trusted else None
    if trusted_ms == newest.ts_ms:
        return ClockGuard(newest.ts_ms)
    if now >= newest.ts_ms:
        # The clock is still as far ahead as those rows: perhaps it is right, perhaps it
        # jumped while the daemon was down. Should it step back soon, they were wrong.
        return ClockGuard(newest.ts_ms, trusted_ms=trusted_ms, pending_since_mono=clock.monotonic())
    future = [r for r in store.future_rows(limit) if r["node"] == node and r["table"] == "readings"]
    log.warning(
        "clock: %d stored reading(s) are stamped in the future (%s to %s; the clock says %s);"
        " storing on after %s (`bedside doctor` lists them, `bedside prune-future` removes them)",
        future[0]["count"] if future else 0,
        iso_utc(future[0]["first_ms"]) if future else "?",
        iso_utc(newest.ts_ms),
        iso_utc(now),
        iso_utc(trusted_ms) if trusted_ms is not None else "the release date",
    )
    return ClockGuard(trusted_ms)


class Daemon:
    """The read loop and everything it owns; ``run`` blocks, ``start``/``stop`` use a thread."""

    def __init__(self, config: Config, *, clock=None, sensor=None, pin_factory=None):
        self.config = config
        self.clock = clock or SystemClock()
        self._sensor = sensor
        self._pin_factory = pin_factory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # store, sensor, relay and components are up
        self.cycles = 0
        self.stored = 0
        self.last_reading: Reading | None = None
        self.error: BaseException | None = None
        self.relay = None  # the Relay when MQTT is enabled
        self.store: Store | None = None
        self._health_status: str | None = None
        self._health_written = 0.0
        # Accepted readings not yet committed (the disk is full or failing).
        self._unsaved: collections.deque[Reading] = collections.deque(maxlen=UNSAVED_MAX)
        self._store_failing = False
        self._dropping = False
        self._guard: ClockGuard | None = None
        self._lock_file = None  # the held exclusive_lock of the database
        self._file_id: tuple[int, int] | None = None
        self._floor_saved: int | None = None
        self._undone = 0  # clock steps the guard has undone so far
        self._damage_said = False  # the store found the file damaged, and we said so

    # -- thread API (the demo) -------------------------------------------------------------

    def start(self) -> None:
        def main():
            try:
                self.run(self._stop)
            except BaseException as exc:
                self.error = exc
                log.error("the monitor stopped: %s", exc)
                self.ready.set()  # do not leave a waiter hanging

        self._thread = threading.Thread(target=main, name="bedside-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- the loop ----------------------------------------------------------------------------

    def run(self, stop_event: threading.Event | None = None) -> None:
        stop = stop_event if stop_event is not None else self._stop
        config, clock, node = self.config, self.clock, self.config.node.id
        store = self.store = self._open_store()
        with contextlib.ExitStack() as stack:
            stack.callback(self._release_store, store)
            sensor = self._sensor
            if sensor is None:
                # Never fatal: a sensor that cannot be opened (or vanishes) is retried with
                # backoff while the button, alerts and MQTT go on; the silent-sensor alert
                # tells the user.
                sensor = ReopeningSensor(lambda: open_sensor(config, clock), clock)
                sensor.try_open()
            stack.callback(sensor.close)
            # Before anything announces: the trial's arm waits while the clock is in doubt.
            guard = self._guard = start_clock_guard(store, node, clock)
            relay = None
            if config.mqtt.enabled:
                from monitor.mqtt.relay import Relay  # paho & co. cost ~10 MB: only when used

                relay = self.relay = Relay(config, store, clock=clock)
                relay.piggyback = True
                relay.start()
                stack.callback(relay.stop)
            pin_factory = self._pin_factory
            if pin_factory is None:
                pin_factory = choose_pin_factory(config)
                if pin_factory is not None:
                    stack.callback(pin_factory.close)
            ctx = DaemonContext(
                config=config,
                store=store,
                clock=clock,
                topics=Topics(config.mqtt.topic_prefix, node),
                set_retained=relay.set_retained if relay else _noop,
                wake_outbox=relay.wake_outbox if relay else _noop,
                pin_factory=pin_factory,
                clock_trusted=lambda: guard.trusts(clock.now_ms(), clock.monotonic()),
            )
            # The warm-night trial's announcer beside the others (docs/trial.md).
            components = [*build_components(ctx), TrialComponent(ctx)]
            for component in components:
                component.start()
                stack.callback(component.close)
            sampler = Sampler(
                sensor,
                clock,
                model=config.sensor.kind,
                retries=config.sensor.retries,
                max_jump_c=config.sensor.max_jump_c,
            )
            log.info(
                "monitoring node %s: %s sensor%s every %g s into %s; MQTT %s",
                node,
                config.sensor.kind,
                "" if config.sensor.kind == "simulated" else f" on GPIO{config.sensor.pin}",
                config.sensor.interval_s,
                store.path,
                f"{config.mqtt.host}:{config.mqtt.port}"
                if relay
                else "off ([mqtt] enabled = false): readings are stored only",
            )
            _check_watchdog(config)
            stack.callback(sd_notify, "STOPPING=1")  # registered last: sent first on the way out
            sd_notify("READY=1")
            self.ready.set()
            self._loop(stop, sampler, guard, store, relay, components)
            log.info("shutting down: flushing the outbox, saying offline, releasing pins")
            if store.damaged:  # as at start: a damaged file ends in an error, in words
                raise CorruptDatabase(store.damaged)
            self._save_clock_floor(store)

    def _loop(self, stop, sampler: Sampler, guard: ClockGuard, store, relay, components) -> None:
        clock, interval = self.clock, self.config.sensor.interval_s
        next_due = clock.monotonic()
        while not stop.is_set():
            if not store.damaged:
                self._check_file(store, relay)
            sample = sampler.sample(stop)
            if sample is None and stop.is_set():
                break
            reading = None
            accepted = sample is not None and guard.accept(sample.ts_ms, clock.monotonic())
            if len(guard.future) != self._undone:  # the clock jumped ahead and back
                self._undone = len(guard.future)
                self._clock_step_undone(store, relay, guard)
            if accepted:
                # Accepted: the alerts hear of it even when the disk refuses it (held below).
                reading = Reading(sample.ts_ms, sample.temperature_c, sample.humidity_pct)
                guard.stored(reading.ts_ms)
                if len(self._unsaved) == self._unsaved.maxlen and not self._dropping:
                    self._dropping = True
                    log.error(
                        "storage: %d readings held in memory; dropping the oldest from now on",
                        len(self._unsaved),
                    )
                self._unsaved.append(reading)
                if not store.damaged:
                    self._flush_unsaved(store, relay)
            if not store.damaged:
                self._record_health(store, sampler.health)
            if store.damaged and not self._damage_said:
                self._storage_damaged(store, components)
            now_ms = clock.now_ms()
            for component in components:
                try:
                    component.on_reading(reading, now_ms)
                except Exception:
                    log.exception("component %s failed on a reading", type(component).__name__)
            sd_notify("WATCHDOG=1")
            self.last_reading = reading if reading is not None else self.last_reading
            self.cycles += 1
            next_due += interval
            now = clock.monotonic()
            if next_due < now:  # a slow cycle: skip what was missed rather than burst
                next_due = now
            clock.sleep(next_due - now, until=stop)
        if self._unsaved and not store.damaged:  # a last try on the way out
            self._flush_unsaved(store, relay)
            if self._unsaved:
                log.error(
                    "storage: %d readings could not be stored and are lost", len(self._unsaved)
                )

    def _storage_damaged(self, store: Store, components) -> None:
        """The file turned out damaged while running (the store sealed it): said once, with
        the damaged tables and the backup; the alerts carry it to MQTT and notifications.
        Readings go on feeding the alerts, held in memory; nothing is written to the file."""
        self._damage_said = True
        log.error(
            "storage: %s. Readings are still read; nothing is written to the file from now on"
            " (readings are held in memory until bedside stops)",
            store.damaged,
        )
        for component in components:
            told = getattr(component, "storage_damaged", None)
            if told is not None:
                try:
                    told(store.damaged)
                except Exception:
                    log.exception("component %s failed on the damage", type(component).__name__)

    def _flush_unsaved(self, store: Store, relay) -> None:
        """Store the readings held in memory (normally just the new one) in one commit.

        A failing store (a full disk, an I/O error) is logged once; the readings stay in
        memory (at most UNSAVED_MAX, oldest dropped first) and are retried every cycle.
        """
        try:
            self._store_readings(store, relay, list(self._unsaved))
        except (sqlite3.Error, StoreError) as exc:
            if store.damaged:
                return  # found damaged: said once by _storage_damaged, this very cycle
            if not self._store_failing:
                self._store_failing = True
                log.error(
                    "storage: could not store a reading (%s); holding readings in memory"
                    " (up to %d) and retrying every cycle; alerts go on",
                    corruption_message(store.path, exc) if is_corruption(exc) else exc,
                    self._unsaved.maxlen,
                )
            return
        saved = len(self._unsaved)
        newest = self._unsaved[-1]
        self._unsaved.clear()
        self.stored += saved
        if self._store_failing:
            self._store_failing = self._dropping = False
            log.info("storage: storing readings again (%d held in memory saved)", saved)
        if self.stored == saved:
            log.info(
                "first reading stored: %.1f °C, %s %%RH",
                newest.temperature_c,
                "-" if newest.humidity_pct is None else f"{newest.humidity_pct:.0f}",
            )
        if relay is not None:
            relay.wake_outbox()

    def _store_readings(self, store: Store, relay, readings: list[Reading]) -> None:
        """Commit the readings (before anyone hears of them), with the outbox watermark when
        it is due: one fsync'd commit instead of two (SD-card wear)."""
        node = self.config.node.id
        watermark = relay.watermark_due() if relay is not None else None
        with store.transaction():
            store.add_readings(node, readings)
            if watermark is not None:
                store.set_outbox_watermark(node, watermark)
        if watermark is not None:
            relay.watermark_saved(watermark)

    def _open_store(self) -> Store:
        """Take the database's lock file (one daemon per database), then open it, refusing a
        damaged file (SQLite's quick_check) rather than writing into it."""
        lock = exclusive_lock(self.config.storage.database, "bedside monitor")
        lock.__enter__()
        try:
            store = Store.open(self.config.storage.database, verify=True)
        except BaseException:
            lock.__exit__(None, None, None)
            raise
        self._lock_file = lock
        self._file_id = store.file_id()
        return store

    def _release_store(self, store: Store) -> None:
        store.close()
        lock, self._lock_file = self._lock_file, None
        if lock is not None:
            lock.__exit__(None, None, None)

    def _check_file(self, store: Store, relay) -> None:
        """The database file deleted or replaced under us (rm, a restore, a fresh file made by
        `bedside cramp` meanwhile): say so loudly, keep every row, go on with the file
        at the path (an inode check each cycle)."""
        now = store.file_id()
        if now == self._file_id:
            return
        what = "deleted" if now is None else "replaced by another file"
        log.error("storage: the database %s was %s while the daemon ran", store.path, what)
        try:
            done = store.reopen_swapped(self.config.node.id, str(self.clock.now_ms() // 1000))
        except (sqlite3.Error, OSError, StoreError) as exc:
            log.error("storage: could not reopen %s: %s; retrying next cycle", store.path, exc)
            return
        self._file_id = store.file_id()
        self._floor_saved = None
        log.error("storage: %s; storing into %s from now on", done, store.path)
        if relay is not None:
            relay.wake_outbox()

    def _clock_step_undone(self, store: Store, relay, guard: ClockGuard) -> None:
        """Readings were stamped by a clock that ran ahead: the next ones sort before them.
        Publish from the last trusted reading again, and remember the floor."""
        if relay is not None:
            relay.rewind(guard.trusted_ms or 0)
        self._save_clock_floor(store)

    def _save_clock_floor(self, store: Store) -> None:
        """Persist the guard's floor (the newest reading stored with a trusted clock)."""
        guard = self._guard
        if guard is None or guard.trusted_ms is None or guard.trusted_ms == self._floor_saved:
            return
        try:
            store.set_clock_floor(self.config.node.id, guard.trusted_ms)
        except sqlite3.Error as exc:
            log.debug("could not store the clock floor: %s", exc)
            return
        self._floor_saved = guard.trusted_ms

    def _record_health(self, store: Store, health: SensorHealth) -> None:
        snap = health.snapshot()
        mono = self.clock.monotonic()
        if snap.status == self._health_status and mono - self._health_written < HEALTH_EVERY_S:
            return
        try:
            store.set_sensor_health(
                self.config.node.id,
                status=snap.status,
                consecutive_failures=snap.consecutive_failures,
                failure_rate=snap.failure_rate,
                last_good_ms=snap.last_good_ms,
                last_error=snap.last_error,
                updated_ms=self.clock.now_ms(),
            )
        except sqlite3.Error as exc:
            # While readings cannot be stored either, that one message says it all.
            (log.debug if self._store_failing else log.error)(
                "could not store sensor health: %s", exc
            )
            return
        self._health_status = snap.status
        self._health_written = mono
        self._save_clock_floor(store)
