"""`bedside recorder`: store every room's MQTT messages in one database (many bedrooms).

Delivery guarantee: the recorder keeps a persistent MQTT v5 session (fixed client id,
``clean_start=False``, a session expiry) with QoS 1 subscriptions, and acknowledges a
message to the broker only after the batch holding it is committed (paho's manual
acknowledgement).  A crash or a stop between receipt and commit therefore leaves the
message unacknowledged in the session and the broker redelivers it; rows are idempotent
by (node, instant), so at-least-once delivery gives exactly-once rows.  What a message
means and how a batch is applied is monitor/mqtt/ingest.py; this is the MQTT session.

Own node: the recorder skips the topics of its own ``[node] id``.  With one config on a
Pi that runs both ``bedside monitor`` and ``bedside recorder`` they share ``[storage]
database`` and the daemon has already stored those rows (store first, then tell); a
replay would be ignored anyway by the (node, instant) key, but skipping keeps one writer
per node's readings.  Give a dedicated recorder machine a node id of its own.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from monitor.clock import SystemClock
from monitor.config import Config
from monitor.mqtt.client import MQTTv5, build_client, connect_failure
from monitor.mqtt.ingest import DECODERS, Action, BatchResult, apply_batch, decode
from monitor.mqtt.payloads import PayloadError
from monitor.store import Store, StoreError
from monitor.store.db import exclusive_lock

log = logging.getLogger(__name__)

# Rate limit for malformed-message warnings: this many per window, then a summary.
WARN_BURST, WARN_WINDOW_S = 10, 60.0
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)


# -- the recorder ------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One MQTT delivery as the writer sees it (mid/qos/generation for the late ack)."""

    topic: str
    payload: bytes
    received_ms: int
    mid: int = 0
    qos: int = 0
    generation: int = 0
    sender: str | None = None  # who published it, where the broker says (see SENDER_PROPERTY)


class _RateLimitedWarnings:
    """At most WARN_BURST warnings per window; the rest are counted and summarised."""

    def __init__(self, clock):
        self.clock = clock
        self.window_start = clock.monotonic()
        self.shown = 0
        self.suppressed = 0

    def warn(self, fmt: str, *args) -> None:
        now = self.clock.monotonic()
        if now - self.window_start >= WARN_WINDOW_S:
            if self.suppressed:
                log.warning("%d more malformed messages were skipped", self.suppressed)
            self.window_start, self.shown, self.suppressed = now, 0, 0
        if self.shown < WARN_BURST:
            self.shown += 1
            log.warning(fmt, *args)
        else:
            self.suppressed += 1


class _RefusedNodes:
    """Node ids refused for the cap, with their message counts (bounded: a flood of
    invented ids must not grow memory); a real room keeps sending, so it rises to the
    top of the list the owner sees."""

    TRACKED = 10_000  # ids counted one by one; later new ones only count as "more"
    SHOWN = 20

    def __init__(self, max_nodes: int, clock):
        self.max_nodes = max_nodes
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.untracked = 0
        self.since_ms: int | None = None
        self.changed = False

    def note(self, node: str) -> None:
        if self.since_ms is None:
            self.since_ms = self.clock.now_ms()
            log.warning(
                "refusing new node id %r: [recorder] max_nodes = %d rooms are known; list"
                " your rooms in [recorder] nodes (`bedside doctor` names the refused ids)",
                node,
                self.max_nodes,
            )
        if node in self.counts:
            self.counts[node] += 1
        elif len(self.counts) < self.TRACKED:
            self.counts[node] = 1
        else:
            self.untracked += 1
        self.changed = True

    def take(self) -> dict | None:
        """The summary to save, when something changed since the last one."""
        if not self.changed:
            return None
        self.changed = False
        top = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[: self.SHOWN]
        return {
            "nodes": [{"id": n, "messages": c} for n, c in top],
            "distinct": len(self.counts),  # and more_messages from ids not counted apart
            "more_messages": self.untracked,
            "max_nodes": self.max_nodes,
            "since_ms": self.since_ms,
        }


@dataclass
class Stats:
    received: int = 0
    stored: int = 0
    skipped: int = 0
    malformed: int = 0
    readings_added: int = 0
    batches: int = 0
    first_commit: float | None = None  # time.monotonic() of the first/last commit
    first_commit_readings: int = 0  # readings in that first commit (for honest rates)
    last_commit: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Recorder:
    """Subscribe to every node's topics and store them, acknowledging after commit."""

    def __init__(self, config: Config, *, clock=None):
        self.config = config
        self.clock = clock or SystemClock()
        self.prefix = config.mqtt.topic_prefix
        self.own_node = config.node.id
        rc = config.recorder
        self.batch_max = rc.batch_max
        self.batch_wait_s = rc.batch_wait_s
        self.max_bytes = rc.max_payload_bytes
        self.stats = Stats()
        self.ready = threading.Event()  # set on every SUBACK; cleared on disconnect
        self.connected = threading.Event()
        self.failed = threading.Event()  # the writer died: restart to get redeliveries
        self._queue: queue.Queue[Message] = queue.Queue()
        self._stopping = threading.Event()
        self._accepting = True
        self._gen_lock = threading.Lock()
        self._generation = 0
        self._warnings = _RateLimitedWarnings(self.clock)
        self.max_nodes = rc.max_nodes
        self.listed_nodes = frozenset(rc.nodes)  # always accepted
        self._known_nodes: set[str] = set()
        self._refused = _RefusedNodes(self.max_nodes, self.clock)
        self._store: Store | None = None
        self._lock = None  # the held exclusive_lock (one recorder per database)
        self._writer: threading.Thread | None = None
        self._outage = False  # a connection problem was logged; quiet until connected again
        self.client = self._make_client()

    # -- MQTT -----------------------------------------------------------------------

    def topics(self) -> list[str]:
        """What it subscribes to: every leaf ingest.decode takes, under every node."""
        return [f"{self.prefix}/+/{leaf}" for leaf in DECODERS]

    def _make_client(self) -> mqtt.Client:
        """A persistent v5 session (RelayError when the [mqtt] TLS files cannot be used)."""
        rc = self.config.recorder
        client = build_client(
            self.config,
            client_id=rc.client_id,
            protocol=MQTTv5,
            session_expiry_s=rc.session_expiry_s,
            # How many unacknowledged messages the broker may send us: room for a full
            # batch being committed while the next one fills.
            receive_maximum=min(65535, 2 * self.batch_max),
            manual_ack=True,
            reconnect_max_s=10,  # the recorder has always retried sooner than a node
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            if not self._outage:
                self._outage = True
                log.error(
                    "broker refused the recorder: %s (check [mqtt] username/password);"
                    " retrying quietly",
                    reason_code,
                )
            return
        self._outage = False
        with self._gen_lock:
            self._generation += 1
        self.connected.set()
        log.info(
            "connected to %s:%d (session %s)",
            self.config.mqtt.host,
            self.config.mqtt.port,
            "resumed" if flags.session_present else "new",
        )
        # retainHandling=1: retained status/alerts only when the subscription is new,
        # so a reconnect does not replay them as fresh events.
        opts = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe([(t, opts) for t in self.topics()])

    def _on_connect_fail(self, client, userdata):
        m = self.config.mqtt
        if not self._outage:
            self._outage = True
            log.warning(
                "cannot reach the broker at %s:%d (%s); retrying quietly",
                m.host,
                m.port,
                connect_failure(),
            )

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("broker refused subscriptions: %s", ", ".join(failed))
            return
        self.ready.set()
        _notify("READY=1")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        # Message ids belong to a connection: never ack an old mid on a new one.
        with self._gen_lock:
            self._generation += 1
        self.connected.clear()
        self.ready.clear()
        if not self._stopping.is_set() and not self._outage:
            self._outage = True
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg):
        if not self._accepting:
            return  # stopping: left unacknowledged, the broker redelivers next session
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(msg._topic)
        with self._gen_lock:
            gen = self._generation
        self._queue.put(
            Message(topic, msg.payload, self.clock.now_ms(), msg.mid, msg.qos, gen, _sender(msg))
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Recorder:
        """Take the recorder's lock on the database (StoreError when another recorder holds
        it), open the store, start the writer, connect (retrying in the background)."""
        lock = exclusive_lock(
            self.config.storage.database,
            "bedside recorder",
            suffix=".recorder.lock",
            service="bedside-recorder",
        )
        lock.__enter__()
        try:
            # A damaged file is refused, as by the monitor (quick_check, naming the backup).
            self._store = Store.open(self.config.storage.database, verify=True)
        except BaseException:
            lock.__exit__(None, None, None)
            raise
        self._lock = lock
        self._known_nodes = {n["id"] for n in self._store.nodes()}
        self._writer = threading.Thread(target=self._write_loop, name="recorder-writer")
        self._writer.start()
        self.client.loop_start()  # connects (build_client set host, port, session), retrying
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Commit and acknowledge what was received, then disconnect."""
        self._accepting = False
        self._stopping.set()
        if self._writer is not None:
            self._writer.join(timeout)
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            if self._store is not None:
                self._store.close()
                self._store = None
            lock, self._lock = self._lock, None
            if lock is not None:
                lock.__exit__(None, None, None)

    @property
    def damaged(self) -> str | None:
        """Why the database is damaged, once the writer found it so (else None)."""
        return self._store.damaged if self._store is not None else None

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the writer ---------------------------------------------------------------------

    def _take_batch(self) -> list[Message] | None:
        """Up to batch_max messages, waiting at most batch_wait_s after the first."""
        while True:
            try:
                first = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if self._stopping.is_set():
                    return None
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_max:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _write_loop(self) -> None:
        try:
            while True:
                batch = self._take_batch()
                if batch is None:
                    return
                actions = self._decode_all(batch)
                if not self._commit(actions):
                    return  # stopping with the batch uncommitted: the broker keeps it
                self._save_refused()
                self._ack(batch)
        except Exception:
            # A bug, not bad input: stop acknowledging and let `run` exit non-zero, so
            # the service restarts and the broker redelivers what was not acknowledged.
            log.exception("the recorder's writer failed")
            self.failed.set()

    def _decode_all(self, batch: list[Message]) -> list[Action]:
        actions: list[Action] = []
        for msg in batch:
            try:
                action = decode(
                    self.prefix,
                    msg.topic,
                    msg.payload,
                    msg.received_ms,
                    own_node=self.own_node,
                    max_bytes=self.max_bytes,
                )
                self._check_sender(msg, action.node)
                actions.append(action)
            except Exception as exc:  # PayloadError, or a parser bug: never the writer's end
                with self.stats.lock:
                    self.stats.malformed += 1
                self._warnings.warn("skipped a malformed message on %s: %s", msg.topic[:200], exc)
        return actions

    def _check_sender(self, msg: Message, node: str) -> None:
        """One room cannot speak for another: where the broker says who published (an MQTT 5
        user property), it must be the topic's node; and new node ids stop at max_nodes.
        (The broker's ACL, `bedside broker-config`, is what stops a node writing under
        another's topics; mosquitto does not tell subscribers who published.)"""
        if msg.sender is not None and msg.sender != node:
            raise PayloadError(f"published by {msg.sender[:64]!r}, not by node {node!r}")
        if node not in self._known_nodes:
            if len(self._known_nodes) >= self.max_nodes and node not in self.listed_nodes:
                self._refused.note(node)
                raise PayloadError(
                    f"a new node id {node!r} beyond [recorder] max_nodes = {self.max_nodes}"
                    " (list your rooms in [recorder] nodes: they are always accepted)"
                )
            self._known_nodes.add(node)

    def _save_refused(self) -> None:
        """Name the refused node ids in the database (doctor, the Rooms page), once per
        batch that refused any; a failure is only logged (the batch is committed)."""
        summary = self._refused.take()
        if summary is None:
            return
        try:
            self._store.set_refused_nodes(summary)
        except (sqlite3.Error, StoreError) as exc:
            log.warning("could not note the refused node ids: %s", exc)

    def _commit(self, actions: list[Action]) -> bool:
        """Apply a batch, retrying a failing database until it works or we stop."""
        attempt = 0
        while True:
            try:
                result = apply_batch(self._store, actions)
                break
            except (sqlite3.Error, StoreError) as exc:
                if self._store.damaged:  # found damaged: never retried into it
                    log.error("%s; the recorder stops (messages stay with the broker)", exc)
                    self.failed.set()
                    return False
                delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]
                attempt += 1
                log.warning(
                    "batch of %d messages not committed (%s); retrying in %.1fs",
                    len(actions),
                    exc,
                    delay,
                )
                if self._stopping.wait(delay):
                    return False
            except ValueError:
                # Not the database: a message the store rejects (a bad field, an instant
                # taken by another cramp). Store the others one by one; each refusal is a
                # rate-limited warning there, in words, not a traceback per batch.
                log.debug("a batch had a message the store refused; storing one by one")
                result = self._apply_singly(actions)
                break
            except Exception:
                # A bug, not a message: worth its traceback, still never the writer's end.
                log.exception("a batch failed; storing its %d messages one by one", len(actions))
                result = self._apply_singly(actions)
                break
        now = time.monotonic()
        with self.stats.lock:
            s = self.stats
            s.batches += 1
            s.received += len(actions)
            s.stored += result.stored
            s.skipped += result.skipped
            s.readings_added += result.readings_added
            if result.readings_added:
                if s.first_commit is None:
                    s.first_commit, s.first_commit_readings = now, result.readings_added
                s.last_commit = now
        return True

    def _apply_singly(self, actions: list[Action]) -> BatchResult:
        total = BatchResult()
        for action in actions:
            try:
                one = apply_batch(self._store, [action])
            except Exception as exc:
                with self.stats.lock:
                    self.stats.malformed += 1
                self._warnings.warn(
                    "skipped a message the store refused (%s): %s", _what(action), exc
                )
                continue
            total.readings_added += one.readings_added
            total.stored += one.stored
            total.skipped += one.skipped
        return total

    def _ack(self, batch: list[Message]) -> None:
        """PUBACK in arrival order, only for messages of the current connection."""
        with self._gen_lock:
            for msg in batch:
                if msg.qos > 0 and msg.generation == self._generation:
                    self.client.ack(msg.mid, msg.qos)


# The MQTT 5 user property naming the publisher's user, where a broker (a plugin, a
# bridge) sets it; a client cannot be trusted to set it, so it only ever refuses.
SENDER_PROPERTY = "bedside-sender"


def _sender(msg) -> str | None:
    props = getattr(msg, "properties", None)
    for key, value in getattr(props, "UserProperty", None) or ():
        if key == SENDER_PROPERTY:
            return str(value)
    return None


def _what(action) -> str:
    """'cramp 7 of kid' / 'reading of kid' for a log line (never a whole payload)."""
    kind = type(action).__name__.removesuffix("Action").lower()
    origin = getattr(action, "origin", None)
    return f"{kind}{f' {origin[0]}' if origin else ''} of {getattr(action, 'node', '?')}"


def _notify(state: str) -> None:
    """systemd's notify protocol; nothing to tell when not under systemd."""
    from monitor.daemon.sdnotify import sd_notify

    sd_notify(state)
