"""MQTT relay: the store's outbox, published with paho-mqtt 2.x at QoS 1.

The store is the source of truth; this module only tells the broker about it.

Readings
    Published in instant order from the store, strictly after the node's
    acknowledged watermark (``Store.outbox_watermark``), with at most
    ``WINDOW`` unacknowledged at a time.  PUBACKs (``on_publish``) advance an
    in-memory contiguous watermark; it is written to the database at most every
    ``PERSIST_EVERY_S`` (by the daemon, in the same commit as a reading, see
    :meth:`Relay.watermark_due`) and on shutdown, to spare the SD card.  After a crash
    up to a minute of readings is therefore sent again: delivery is
    at-least-once and consumers are idempotent by (node, ts).
    **First start** (no watermark yet): the watermark is set to the newest
    reading already stored (imported history is not flooded onto the broker);
    from then on every reading the daemon stores is published.  The watermark never
    passes the newest row a trusted clock could have stored (:meth:`Relay.trusted_limit`):
    a row stamped in the future (an import, a clock that ran ahead) is left out at the
    first start, and a watermark found ahead at start is moved back to it.
Cramps
    ``Store.unpublished_cramps`` -> ``<prefix>/<node>/cramp`` at QoS 1;
    ``Store.mark_cramp_published(id, updated_ms)`` on PUBACK, so an edit made
    while the old state was in flight is sent again.  The web process writes
    cramps into the same database, so the outbox is polled every
    ``POLL_S`` seconds, and at once on :meth:`Relay.wake_outbox`.
Cramp events
    One ``<prefix>/<node>/cramp/event`` per *new* cramp (Home Assistant's event
    entity and the button's device trigger), never for an edit, a deletion or a
    restore: cramp ids only grow, and the highest id whose event the broker
    acknowledged is kept in ``outbox_state`` (stream ``cramp_event``).  On the first
    start it is set to the newest cramp already stored (history is not fired);
    deleted and imported cramps are passed over.  A cramp logged during an outage
    fires when the broker is back, carrying its own instant (``ts``) and ``id``.
    Retained beside it: ``cramps/tonight`` (the count in the current night window,
    the last night's by day) and ``cramps/last`` (null fields when none), re-computed
    when a cramp changes and when a night starts.
Connection
    ``online``/``offline`` (last will) on ``<prefix>/<node>/status``, Home
    Assistant discovery and every ``set_retained`` state re-sent on each
    (re)connect, discovery again when ``<discovery_prefix>/status`` says
    online; ``<prefix>/<node>/state`` carries the latest reading, retained.
    A broker that is down only delays messages: paho reconnects with backoff;
    the outage is logged once and the recovery once.

Threads: paho's network loop (``loop_start``) only enqueues events; one outbox
thread owns all bookkeeping and every store access of the relay.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import OrderedDict
from datetime import timedelta

import paho.mqtt.client as mqtt

from monitor import nights
from monitor.clock import FUTURE_SLACK_MS, RELEASE_DATE_MS, SystemClock
from monitor.config import Config
from monitor.mqtt.client import RelayError as RelayError  # where the CLI looks for it
from monitor.mqtt.client import Will, build_client, connect_failure
from monitor.mqtt.payloads import (
    Topics,
    cramp_event_payload,
    cramp_payload,
    cramps_tonight_payload,
    discovery_messages,
    info_payload,
    last_cramp_payload,
    reading_payload,
    summary_discovery,
)
from monitor.store import Store

log = logging.getLogger(__name__)

WINDOW = 16  # unacknowledged readings (and cramps) in flight at most
POLL_S = 2.0  # how often the outbox looks for rows written by other processes
PERSIST_EVERY_S = 60.0  # watermark writes at most this often (SD-card wear)
FLUSH_TIMEOUT_S = 3.0  # how long shutdown waits for outstanding PUBACKs
EVENT_STREAM = "cramp_event"  # outbox_state row: the highest cramp id whose event was acked
NO_EVENT_SOURCES = frozenset({"import"})  # history brought in from a file is not news


def trusted_limit(store: Store, node: str, now_ms: int) -> int:
    """The newest instant a reading can carry and be published: this machine's clock
    (plus the usual slack), or the daemon's persisted clock floor when the clock is
    behind it (a Pi booting without an RTC must not pull the watermark back)."""
    floor = store.clock_floor(node) or 0
    return max(now_ms, floor, RELEASE_DATE_MS) + FUTURE_SLACK_MS


def repair_watermark(store: Store, node: str, limit_ms: int) -> int:
    """A watermark ahead of ``limit_ms`` (acknowledged for a row stamped in the future):
    move it back to the newest reading not after the limit, so readings stored from now
    on are published again.  Returns the new watermark."""
    old = store.outbox_watermark(node) or 0
    newest = store.newest_reading(node, until_ms=limit_ms)
    wm = newest.ts_ms if newest else 0
    store.rewind_outbox_watermark(node, wm)
    log.warning(
        "MQTT outbox: the watermark of %s was ahead of the clock (%s, a row stamped in the"
        " future); moved back to the newest reading before now (%s)",
        node,
        old,
        wm,
    )
    return wm


class Relay:
    """Publishes the store's outbox and retained states to one broker."""

    def __init__(self, config: Config, store: Store, *, clock=None, client_id: str | None = None):
        self.config = config
        self.mqtt = config.mqtt
        self.node = config.node.id
        self.store = store
        self._clock = clock or SystemClock()
        self._mono = self._clock.monotonic  # paces watermark writes
        self._now = self._clock.now_ms  # rows stamped in the future wait
        self.topics = Topics(self.mqtt.topic_prefix, self.node)
        self.discovery_status_topic = f"{self.mqtt.discovery_prefix}/status"
        self._events: queue.SimpleQueue = queue.SimpleQueue()  # ("ack", mid) / ("session", n)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._stopping = False
        self._retained: dict[str, bytes] = {}
        self._retained_dirty: set[str] = set()  # to (re)send: set_retained, a reconnect
        self._retained_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._outage_since: float | None = None
        self._ever_connected = False
        # Bookkeeping owned by the outbox thread.
        self._session = 0
        self._mids: dict[int, tuple] = {}
        self._inflight: OrderedDict[int, bool] = OrderedDict()  # ts_ms -> acked
        self._cramps_inflight: set[tuple[int, int]] = set()
        self._state_ts: int | None = None
        # Retained states sent, by mid, kept across reconnects (paho re-sends unacknowledged
        # messages with their old mids): mid -> (topic, send number); the newest send number
        # acknowledged per topic.
        self._retained_sends = itertools.count()
        self._retained_mids: dict[int, tuple[str, int]] = {}
        self._retained_acked: dict[str, int] = {}
        self._event_acked = 0  # a cramp id, loaded by start()
        self._event_cursor = 0
        self._events_inflight: OrderedDict[int, bool] = OrderedDict()  # cramp id -> done
        self._night_params = nights.NightParams.from_config(config)
        self._summary_night = None
        self._summary_due = True
        self.acked_ms = 0
        self._persisted_ms = 0
        self._last_persist = 0.0
        self._cursor = 0
        self._persist_lock = threading.Lock()
        # True when the daemon saves the watermark with its readings (watermark_due).
        self.piggyback = False
        self.bytes_published = 0  # MQTT PUBLISH packet bytes handed to paho (bench figures)
        self.client = self._make_client(client_id)

    # -- setup -----------------------------------------------------------------------

    def _make_client(self, client_id: str | None) -> mqtt.Client:
        """RelayError when the [mqtt] TLS files cannot be used."""
        # Readings and cramps (WINDOW each) plus connection-state messages in flight;
        # paho's queue beyond that is unlimited (its default).
        client = build_client(
            self.config,
            client_id=client_id,
            will=Will(self.topics.status, b"offline"),
            max_inflight=2 * WINDOW + 20,
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Load (or on first start, create) the watermark; connect in the background."""
        wm = self.store.outbox_watermark(self.node)
        limit = trusted_limit(self.store, self.node, self._now())
        if wm is None:
            newest = self.store.newest_reading(self.node, until_ms=limit)
            wm = newest.ts_ms if newest else 0
            self.store.set_outbox_watermark(self.node, wm)
            if newest:
                log.info(
                    "MQTT outbox: first start; readings stored before now are not published"
                    " (watermark %s)",
                    newest.ts_ms,
                )
        elif wm > limit:
            wm = repair_watermark(self.store, self.node, limit)
        self.acked_ms = self._persisted_ms = self._cursor = wm
        self._last_persist = self._mono()
        events = self.store.outbox_watermark(self.node, EVENT_STREAM)
        if events is None:  # first start: the cramps already stored are history, not news
            events = self.store.max_cramp_id(self.node)
            self.store.set_outbox_watermark(self.node, events, EVENT_STREAM)
        self._event_acked = self._event_cursor = events
        self.client.loop_start()  # connects (build_client set host and port), retrying
        self._thread = threading.Thread(target=self._outbox_loop, name="relay-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Flush acknowledgements and the watermark, say ``offline``, disconnect."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._stopping = True
        if self.connected.is_set():
            info = self._publish(self.topics.status, b"offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=FLUSH_TIMEOUT_S)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # -- what the daemon and components call ---------------------------------------------

    def wake_outbox(self) -> None:
        """New rows are in the store: send them now rather than at the next poll."""
        self._wake.set()

    def rewind(self, to_ms: int) -> None:
        """Publish again every reading stamped after ``to_ms`` (the daemon's clock jumped
        ahead and back: readings stamped after the future ones sort before them)."""
        self._events.put(("rewind", to_ms))
        self._wake.set()

    def set_retained(self, topic: str, payload: bytes) -> None:
        """A retained state (alerts, the trial's arm): published at once by the outbox thread
        if connected, re-sent on every reconnect, and sent again if an older state reached
        the broker after it (see _retained_acknowledged)."""
        with self._retained_lock:
            self._retained[topic] = payload
            self._retained_dirty.add(topic)
        self._wake.set()

    # -- paho callbacks (network thread): enqueue, publish connection state -------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if self._outage_since is None:
                self._outage_since = time.monotonic()
                log.warning(
                    "MQTT: %s:%d refused the connection: %s (check [mqtt] username/password);"
                    " readings are still stored",
                    self.mqtt.host,
                    self.mqtt.port,
                    reason_code,
                )
            return
        self._publish(self.topics.status, b"online", qos=1, retain=True)
        self._publish(self.topics.info, info_payload(self.config.node.timezone), retain=True)
        self._publish_discovery()
        with self._retained_lock:  # sent by the outbox thread once it hears of the session
            self._retained_dirty.update(self._retained)
        if self.mqtt.discovery:
            client.subscribe(self.discovery_status_topic, qos=1)
        if self._outage_since is not None:
            log.info(
                "MQTT: connected again to %s:%d after %.0f s; sending what was stored meanwhile",
                self.mqtt.host,
                self.mqtt.port,
                time.monotonic() - self._outage_since,
            )
            self._outage_since = None
        elif not self._ever_connected:
            log.info("MQTT: connected to %s:%d", self.mqtt.host, self.mqtt.port)
        self._ever_connected = True
        self._session += 1
        self._events.put(("session", self._session))
        self.connected.set()
        self._wake.set()

    def _note_outage(self, why: str) -> None:
        self.connected.clear()
        if self._stopping or self._outage_since is not None:
            return
        self._outage_since = time.monotonic()
        log.warning(
            "MQTT: %s %s:%d (%s); readings are still stored and will be sent when it is back"
            " (retrying quietly)",
            "lost the broker at" if self._ever_connected else "cannot reach the broker at",
            self.mqtt.host,
            self.mqtt.port,
            why,
        )

    def _on_connect_fail(self, client, userdata) -> None:
        self._note_outage(connect_failure())

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._note_outage(str(reason_code))

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if not reason_code.is_failure:
            self._events.put(("ack", mid))
            self._wake.set()

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == self.discovery_status_topic and msg.payload.strip().lower() == b"online":
            log.info("MQTT: Home Assistant came online; re-sending discovery")
            self._publish_discovery()

    def _publish_discovery(self) -> None:
        if not self.mqtt.discovery:
            return
        for topic, payload in discovery_messages(
            self.topics,
            self.mqtt.discovery_prefix,
            self.config.node.name,
            summary=self.config.summary.enabled,
        ):
            self._publish(topic, payload, qos=1, retain=True)
        if not self.config.summary.enabled:
            # Turned off: an empty retained config removes the sensor Home Assistant still
            # shows from when it was on (with its last, ever older value).
            summary_topic, _ = summary_discovery(self.topics, self.mqtt.discovery_prefix, {})
            self._publish(summary_topic, b"", qos=1, retain=True)

    def _publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False):
        # fixed header (~3) + topic length (2) + topic + packet id (2) + payload
        self.bytes_published += 7 + len(topic.encode()) + len(payload)
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    # -- the outbox thread ---------------------------------------------------------------

    def _outbox_loop(self) -> None:
        failing = halted = False
        while not self._stop.is_set():
            self._wake.wait(POLL_S)
            self._wake.clear()
            try:
                self._drain_events()
                if self.store.damaged:  # found damaged: retained states only, no store
                    if not halted:
                        halted = True
                        log.error(
                            "MQTT outbox: the database is damaged; nothing more is published"
                            " from it (alerts still are)"
                        )
                    if self.connected.is_set() and not self._stop.is_set():
                        self._pump_retained()
                    continue
                if self.connected.is_set() and not self._stop.is_set():
                    self._pump_retained()
                    self._pump_readings()
                    self._pump_cramps()
                    self._pump_cramp_events()
                    self._pump_cramp_summary()
                self._persist(force=False)
            except Exception as exc:  # disk full, a lock held too long: retry, never give up
                if self.store.damaged:
                    self._wake.set()  # said once at the top of the loop
                    continue
                if not failing:
                    log.warning("MQTT outbox: %s; retrying every %g s", exc, POLL_S, exc_info=True)
                failing = True
                continue
            if failing:
                log.info("MQTT outbox: working again")
                failing = False
        try:
            self._finish()
        except Exception as exc:
            log.warning("MQTT outbox: could not save the watermark at shutdown: %s", exc)

    def _drain_events(self, timeout: float | None = None) -> None:
        while True:
            try:
                if timeout:
                    kind, value = self._events.get(timeout=timeout)
                else:
                    kind, value = self._events.get_nowait()
            except queue.Empty:
                return
            timeout = None
            if kind == "session":
                self._reset_tracking()
            elif kind == "rewind" and not self.store.damaged:
                with self._persist_lock:
                    self.acked_ms = min(self.acked_ms, value)
                    self._persisted_ms = min(self._persisted_ms, value)
                self.store.rewind_outbox_watermark(self.node, value)
                self._reset_tracking()
            elif kind == "ack":
                self._acked(value)

    def _reset_tracking(self) -> None:
        """A new connection: resend from the acknowledged watermark (duplicates are fine)."""
        self._mids.clear()
        self._inflight.clear()
        self._cramps_inflight.clear()
        self._cursor = self.acked_ms
        self._state_ts = None
        self._events_inflight.clear()
        self._event_cursor = self._event_acked

    def _pump_retained(self) -> None:
        with self._retained_lock:
            due = [(t, self._retained[t]) for t in sorted(self._retained_dirty)]
            self._retained_dirty.clear()
        for topic, payload in due:
            info = self._publish(topic, payload, qos=1, retain=True)
            self._retained_mids[info.mid] = (topic, next(self._retained_sends))

    def _retained_acknowledged(self, mid: int) -> None:
        """A retained state reached the broker.  When paho re-sends an unacknowledged older
        state after a reconnect, it goes out *after* the current one (paho replays its queue
        once on_connect has returned), and the broker would keep the older one: that shows
        as an acknowledgement older than one already seen, and the current state goes again.
        """
        topic, number = self._retained_mids.pop(mid)
        if number < self._retained_acked.get(topic, -1):
            with self._retained_lock:
                self._retained_dirty.add(topic)
            self._wake.set()
        else:
            self._retained_acked[topic] = number

    def _acked(self, mid: int) -> None:
        entry = self._mids.pop(mid, None)
        if entry is None:
            if mid in self._retained_mids:
                self._retained_acknowledged(mid)
            return  # from before a reconnect, or a connection-state message
        if entry[0] == "reading":
            self._inflight[entry[1]] = True
            while self._inflight:
                ts, done = next(iter(self._inflight.items()))
                if not done:
                    break
                self._inflight.popitem(last=False)
                self.acked_ms = max(self.acked_ms, ts)
        elif entry[0] == "event":
            if entry[1] in self._events_inflight:
                self._events_inflight[entry[1]] = True
            self._advance_events()
        else:
            cramp_id, updated_ms = entry[1]
            self._cramps_inflight.discard((cramp_id, updated_ms))
            # If this raises, the row stays unpublished and is simply sent again.
            if not self.store.damaged:
                self.store.mark_cramp_published(cramp_id, updated_ms)

    def _pump_readings(self) -> None:
        room = WINDOW - len(self._inflight)
        if room <= 0:
            return
        # A reading stamped in the future (a clock that ran ahead) waits for its time:
        # published now it would move the watermark past every reading stored after it.
        until = self._now() + FUTURE_SLACK_MS
        rows = self.store.readings_after(self.node, self._cursor, room, until)
        for r in rows:
            info = self._publish(self.topics.reading, reading_payload(r), qos=1)
            self._mids[info.mid] = ("reading", r.ts_ms)
            self._inflight[r.ts_ms] = False
            self._cursor = r.ts_ms
        if len(rows) < room:  # caught up: the retained state is the newest reading
            newest = rows[-1] if rows else self.store.newest_reading(self.node, until_ms=until)
            if newest is not None and newest.ts_ms != self._state_ts:
                self._publish(self.topics.state, reading_payload(newest), qos=1, retain=True)
                self._state_ts = newest.ts_ms

    def _pump_cramps(self) -> None:
        if len(self._cramps_inflight) >= WINDOW:
            return
        for cramp in self.store.unpublished_cramps(self.node, limit=WINDOW):
            self._summary_due = True  # a cramp changed: the count and the last one may too
            key = (cramp.id, cramp.updated_ms)
            if key in self._cramps_inflight:
                continue
            info = self._publish(self.topics.cramp, cramp_payload(cramp), qos=1)
            self._mids[info.mid] = ("cramp", key)
            self._cramps_inflight.add(key)

    def _pump_cramp_events(self) -> None:
        """Fire one event per new cramp, in id order (see "Cramp events" above)."""
        room = WINDOW - len(self._events_inflight)
        if room <= 0:
            return
        for cramp in self.store.cramps_after_id(self.node, self._event_cursor, room):
            self._event_cursor = cramp.id
            if cramp.deleted or cramp.source in NO_EVENT_SOURCES:
                self._events_inflight[cramp.id] = True  # nothing to announce
                continue
            info = self._publish(self.topics.cramp_event, cramp_event_payload(cramp), qos=1)
            self._mids[info.mid] = ("event", cramp.id)
            self._events_inflight[cramp.id] = False
        self._advance_events()

    def _advance_events(self) -> None:
        """Save the highest cramp id up to which every event is acknowledged (or skipped)."""
        if self.store.damaged:
            return
        acked, done = self._event_acked, []
        for cramp_id, finished in self._events_inflight.items():
            if not finished:
                break
            acked, done = cramp_id, [*done, cramp_id]
        if not done:
            return
        self.store.set_outbox_watermark(self.node, acked, EVENT_STREAM)
        for cramp_id in done:
            del self._events_inflight[cramp_id]
        self._event_acked = acked

    def _pump_cramp_summary(self) -> None:
        """Retained ``cramps/tonight`` and ``cramps/last``: after a cramp changed, and when
        a new night starts (the count goes back to 0)."""
        p = self._night_params
        now = self._clock.now_ms()
        night = nights.night_of(now, p) or nights.local_date(now, p) - timedelta(days=1)
        if night != self._summary_night:
            self._summary_due = True
        if not self._summary_due:
            return
        self._summary_due = False  # before reading: a change from now on marks it due again
        start, end = nights.night_window(night, p)
        count = len(self.store.cramps(self.node, start, end))
        newest = self.store.cramps(self.node, newest_first=True, limit=1)
        self._summary_night = night
        self._set_retained_changed(
            self.topics.cramps_tonight, cramps_tonight_payload(night.isoformat(), count)
        )
        # "none" too: it replaces a retained cramp deleted while the daemon was down
        last = last_cramp_payload(newest[0] if newest else None)
        self._set_retained_changed(self.topics.last_cramp, last)

    def _set_retained_changed(self, topic: str, payload: bytes) -> None:
        with self._retained_lock:
            same = self._retained.get(topic) == payload
        if not same:
            self.set_retained(topic, payload)

    def watermark_due(self) -> int | None:
        """The acknowledged watermark when it is time to save it, for the daemon to write
        in the same transaction as its next reading (then call :meth:`watermark_saved`)."""
        with self._persist_lock:
            acked = self.acked_ms
            if acked > self._persisted_ms and self._mono() - self._last_persist >= PERSIST_EVERY_S:
                return acked
        return None

    def watermark_saved(self, acked_ms: int) -> None:
        with self._persist_lock:
            self._persisted_ms = max(self._persisted_ms, acked_ms)
            self._last_persist = self._mono()

    def _persist(self, force: bool) -> None:
        """Save the watermark ourselves on shutdown, or when no reading has carried it
        for a while (sensor down; ``piggyback`` False without a daemon)."""
        with self._persist_lock:
            acked = self.acked_ms
            if acked <= self._persisted_ms or self.store.damaged:
                return
            wait = PERSIST_EVERY_S * (2 if self.piggyback else 1)
            if not force and self._mono() - self._last_persist < wait:
                return
        self.store.set_outbox_watermark(self.node, acked)
        self.watermark_saved(acked)

    def _finish(self) -> None:
        """On shutdown: collect the PUBACKs still coming (briefly), then save the watermark."""
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        while self._mids and self.connected.is_set() and time.monotonic() < deadline:
            self._drain_events(timeout=max(0.01, deadline - time.monotonic()))
        self._drain_events()
        self._persist(force=True)
