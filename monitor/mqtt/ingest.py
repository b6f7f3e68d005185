"""Ingest: what an MQTT message asks the store to do, and doing it for a batch.

Pure decoding (``decode``: topic and payload to one action, PayloadError when off the
contract) is kept apart from the MQTT session (monitor/mqtt/recorder.py), so it can be
tested and fuzzed without a broker; ``apply_batch`` applies actions idempotently.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass

from monitor.clock import (
    FUTURE_SLACK_MS,
    RELEASE_DATE_MS,
    InstantError,
    future_problem,
    parse_instant,
)
from monitor.mqtt.payloads import (
    ALERT_KINDS,
    PayloadError,
    parse_alert,
    parse_cramp,
    parse_info,
    parse_reading,
    parse_topic,
    parse_trial_result,
)
from monitor.store import Reading, Store
from monitor.vocabulary import CRAMP_FIELDS, is_node_id

log = logging.getLogger(__name__)

STATUSES = ("online", "offline")
# A reading stamped more than a day ahead of the recorder's clock is absurd.
MAX_FUTURE_MS = FUTURE_SLACK_MS  # a few minutes: a row from the future would stand for now


# -- decoding (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class ReadingAction:
    node: str
    reading: Reading


@dataclass(frozen=True)
class CrampAction:
    node: str
    fields: dict  # ts_ms, leg, severity, note, remedy, relief_min, deleted
    received_ms: int
    origin: tuple[int, int] | None = None  # (id, created_ms) on the node, when sent


@dataclass(frozen=True)
class AlertAction:
    node: str
    kind: str
    active: bool
    received_ms: int


@dataclass(frozen=True)
class StatusAction:
    node: str
    status: str
    received_ms: int


@dataclass(frozen=True)
class InfoAction:
    """A node's retained self-description: its time zone, for the pooled study."""

    node: str
    timezone: str


@dataclass(frozen=True)
class TrialResultAction:
    """A node's finished warm-night trial, for the pooled study."""

    node: str
    result: dict  # first_night, pairs, usual_only, warm_only
    received_ms: int


@dataclass(frozen=True)
class SkipAction:
    """A well-formed message the recorder deliberately does not store (own node)."""

    node: str


Action = (
    ReadingAction
    | CrampAction
    | AlertAction
    | StatusAction
    | InfoAction
    | TrialResultAction
    | SkipAction
)


def _reading(node: str, leaf: str, payload: bytes, received_ms: int, max_bytes: int) -> Action:
    action = ReadingAction(node, parse_reading(payload, max_bytes))
    _check_instant(action.reading.ts_ms, received_ms)
    return action


def _cramp(node: str, leaf: str, payload: bytes, received_ms: int, max_bytes: int) -> Action:
    fields = parse_cramp(payload, max_bytes)
    _check_instant(fields["ts_ms"], received_ms)
    return CrampAction(node, fields, received_ms, _cramp_origin(payload))


def _alert(node: str, leaf: str, payload: bytes, received_ms: int, max_bytes: int) -> Action:
    kind = leaf[len("alert/") :]
    if kind not in ALERT_KINDS:
        raise PayloadError(f"unknown alert kind {kind[:40]!r}")
    return AlertAction(node, kind, parse_alert(payload), received_ms)


def _status(node: str, leaf: str, payload: bytes, received_ms: int, max_bytes: int) -> Action:
    text = payload.decode("utf-8", "replace").strip().lower()
    if text not in STATUSES:
        raise PayloadError(f"status must be online or offline, got {text[:20]!r}")
    return StatusAction(node, text, received_ms)


def _info(node: str, leaf: str, payload: bytes, received_ms: int, max_bytes: int) -> Action:
    return InfoAction(node, parse_info(payload, max_bytes)["timezone"])


def _trial_result(node: str, leaf: str, payload: bytes, received_ms: int, max_bytes: int) -> Action:
    return TrialResultAction(node, parse_trial_result(payload, max_bytes), received_ms)


# Topic leaf (under <prefix>/<node>/) -> its decoder: the one list of what a recorder
# takes.  The recorder subscribes to exactly these (monitor/mqtt/recorder.py); "alert/#"
# stands for every alert kind.
DECODERS = {
    "reading": _reading,
    "cramp": _cramp,
    "alert/#": _alert,
    "status": _status,
    "info": _info,
    "trial/result": _trial_result,
}


def decode(
    prefix: str,
    topic: str,
    payload: bytes,
    received_ms: int,
    *,
    own_node: str | None,
    max_bytes: int,
) -> Action:
    """Turn one message into the store action it asks for; PayloadError if off-contract."""
    node, leaf = parse_topic(prefix, topic)
    if not is_node_id(node):
        raise PayloadError(f"node id {node[:70]!r} must be 1-64 letters, digits, '-' or '_'")
    if len(payload) > max_bytes:
        raise PayloadError(f"payload of {len(payload)} bytes exceeds {max_bytes}")
    head = leaf.split("/", 1)[0]
    decoder = DECODERS.get(leaf) or ("/" in leaf and DECODERS.get(f"{head}/#"))
    if not decoder:
        raise PayloadError(f"unknown topic leaf {leaf[:40]!r}")
    action = decoder(node, leaf, payload, received_ms, max_bytes)
    if node == own_node:
        return SkipAction(node)
    return action


def _cramp_origin(payload: bytes) -> tuple[int, int] | None:
    """(id, created_ms) of a cramp on its node; None from nodes that do not send both."""
    data = json.loads(payload)  # parse_cramp has checked it is a JSON object
    remote_id, created = data.get("id"), data.get("created")
    if remote_id is None or created is None:
        return None
    if isinstance(remote_id, bool) or not isinstance(remote_id, int) or remote_id < 1:
        raise PayloadError(f"id must be a positive whole number, got {remote_id!r}")
    if not isinstance(created, str):
        raise PayloadError("created must be an ISO 8601 string")
    try:
        return remote_id, parse_instant(created)
    except InstantError as exc:
        raise PayloadError(f"created: {exc}") from None


def _check_instant(ts_ms: int, received_ms: int) -> None:
    if ts_ms < RELEASE_DATE_MS:
        raise PayloadError(f"ts {ts_ms} is before this software existed (clock not set?)")
    problem = future_problem(ts_ms, received_ms)
    if problem:
        raise PayloadError(f"ts {problem}")


# -- applying a batch ------------------------------------------------------------------


@dataclass
class BatchResult:
    readings_added: int = 0
    stored: int = 0  # messages applied (new or already present)
    skipped: int = 0  # malformed or own-node


def apply_batch(store: Store, actions: list[Action]) -> BatchResult:
    """Apply actions idempotently; readings of all nodes go in one transaction.

    Cramps, alerts and statuses are rare and go through the store's own
    single-row methods, in arrival order, after the readings.
    """
    result = BatchResult()
    by_node: dict[str, list[Reading]] = defaultdict(list)
    others: list[Action] = []
    for action in actions:
        if isinstance(action, ReadingAction):
            by_node[action.node].append(action.reading)
        elif isinstance(action, SkipAction):
            result.skipped += 1
        else:
            others.append(action)
    if by_node:
        with store.transaction():
            for node, readings in by_node.items():
                result.readings_added += store.add_readings(node, readings)
        result.stored += sum(len(v) for v in by_node.values())
        _track_cold_minimum(store, by_node)
    for action in others:
        if isinstance(action, CrampAction):
            apply_cramp(store, action)
        elif isinstance(action, AlertAction):
            apply_alert(store, action)
        elif isinstance(action, StatusAction):
            store.set_node_status(action.node, action.status, action.received_ms)
        elif isinstance(action, InfoAction):
            store.set_node_timezone(action.node, action.timezone)
        elif isinstance(action, TrialResultAction):
            store.set_trial_result(action.node, action.result, action.received_ms)
        result.stored += 1
    return result


def _track_cold_minimum(store: Store, by_node: dict[str, list[Reading]]) -> None:
    """Keep an open cold episode's lowest temperature, as the node's own daemon does."""
    far_future = 2**61  # only episodes without an end overlap it
    for episode in store.episodes(None, from_ms=far_future, kind="cold"):
        temps = [
            r.temperature_c for r in by_node.get(episode.node, ()) if r.ts_ms >= episode.start_ms
        ]
        if temps:
            store.update_episode(episode.id, min_temp_c=min(temps))


def apply_cramp(store: Store, action: CrampAction) -> None:
    """Bring the cramp to the message's state: its instant, fields and deleted flag.

    The cramp is the one recorded for the message's origin (id, created on the node)
    when known, so an edit of its time moves it; else the one at (node, ts).
    """
    f, node, now = action.fields, action.node, action.received_ms
    optional = {k: f.get(k) for k in CRAMP_FIELDS}
    cramp = None
    if action.origin is not None:
        cramp_id = store.cramp_origin(node, action.origin)
        cramp = store.get_cramp(cramp_id) if cramp_id is not None else None
        if cramp is not None and cramp.ts_ms != f["ts_ms"]:
            try:
                cramp = store.update_cramp(cramp.id, now_ms=now, ts_ms=f["ts_ms"])
            except ValueError:  # another cramp is recorded at the new instant: use it
                log.warning("cramp %s of %s moved onto another cramp's instant", cramp.id, node)
                cramp = None
    if cramp is None:
        cramp, _ = store.add_cramp(node, f["ts_ms"], source="mqtt", now_ms=now, **optional)
    changes = {k: v for k, v in optional.items() if getattr(cramp, k) != v}
    if changes:
        cramp = store.update_cramp(cramp.id, now_ms=now, **changes) or cramp
    if f["deleted"] and not cramp.deleted:
        store.delete_cramp(cramp.id, now_ms=now)
    elif not f["deleted"] and cramp.deleted:
        store.restore_cramp(cramp.id, now_ms=now)
    if action.origin is not None:
        store.set_cramp_origin(node, action.origin, cramp.id)


def apply_alert(store: Store, action: AlertAction) -> None:
    """ON opens an episode unless one is open; OFF closes the open one (idempotent).

    Alert messages carry no instant, so the episode starts/ends when the recorder
    received the message (later than the truth if the broker held it meanwhile).
    """
    open_ = [e for e in store.episodes(action.node, kind=action.kind) if e.end_ms is None]
    if action.active and not open_:
        store.start_episode(action.node, action.kind, action.received_ms)
    elif not action.active:
        for episode in open_:
            store.update_episode(episode.id, end_ms=max(action.received_ms, episode.start_ms))
