"""MQTT topics and payloads: pure functions, the contract other systems rely on.

Topics, with ``prefix = [mqtt] topic_prefix`` and ``node = [node] id``:
  <prefix>/<node>/reading      every stored reading, QoS 1, not retained
  <prefix>/<node>/state        the latest reading, retained
  <prefix>/<node>/status       online / offline (last will), retained
  <prefix>/<node>/info         {"timezone": IANA name, "version": ...}, retained: a recorder
                               computes this person's nights in their own zone
  <prefix>/<node>/cramp        a cramp's current state, QoS 1
  <prefix>/<node>/cramp/event  once per new cramp (Home Assistant event entity), QoS 1
  <prefix>/<node>/cramps/tonight  cramps in the current night window, retained
  <prefix>/<node>/cramps/last  the newest cramp, retained (all fields null when none is left)
  <prefix>/<node>/alert/cold   ON / OFF, retained
  <prefix>/<node>/alert/sensor ON / OFF, retained
  <prefix>/<node>/trial/tonight the warm-night trial's standing arm, retained JSON
  <prefix>/<node>/summary      last night's summary ([summary] enabled), retained JSON
  <prefix>/<node>/trial/result  a FINISHED trial's discordant pairs, retained JSON (for a
                               recorder's pooled study; nothing while the schedule is secret)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from monitor import __version__
from monitor.clock import InstantError, iso_utc, parse_instant
from monitor.store import Cramp, Reading
from monitor.vocabulary import validate_cramp_fields

ALERT_KINDS = ("cold", "sensor")
# Plausible bounds for anything a sensor of ours can report (DHT22's range).
TEMPERATURE_RANGE = (-40.0, 80.0)
HUMIDITY_RANGE = (0.0, 100.0)


class PayloadError(ValueError):
    """A message that does not follow the contract (reason in the message)."""


@dataclass(frozen=True)
class Topics:
    prefix: str
    node: str

    def _t(self, leaf: str) -> str:
        return f"{self.prefix}/{self.node}/{leaf}"

    @property
    def reading(self) -> str:
        return self._t("reading")

    @property
    def state(self) -> str:
        return self._t("state")

    @property
    def status(self) -> str:
        return self._t("status")

    @property
    def info(self) -> str:
        return self._t("info")

    @property
    def cramp(self) -> str:
        return self._t("cramp")

    @property
    def cramp_event(self) -> str:
        return self._t("cramp/event")

    @property
    def cramps_tonight(self) -> str:
        return self._t("cramps/tonight")

    @property
    def last_cramp(self) -> str:
        return self._t("cramps/last")

    def alert(self, kind: str) -> str:
        return self._t(f"alert/{kind}")

    @property
    def trial_tonight(self) -> str:
        return self._t("trial/tonight")

    @property
    def summary(self) -> str:
        return self._t("summary")

    @property
    def trial_result(self) -> str:
        return self._t("trial/result")


def parse_topic(prefix: str, topic: str) -> tuple[str, str]:
    """'<prefix>/<node>/<leaf...>' -> (node, leaf); PayloadError if not ours."""
    head = prefix + "/"
    if not topic.startswith(head):
        raise PayloadError(f"topic {topic!r} is not under {prefix!r}")
    rest = topic[len(head) :].split("/", 1)
    if len(rest) != 2 or not rest[0] or not rest[1]:
        raise PayloadError(f"topic {topic!r} has no node and kind")
    return rest[0], rest[1]


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def reading_payload(reading: Reading) -> bytes:
    return json.dumps(
        {
            "ts": iso_utc(reading.ts_ms),
            "temperature_c": _round(reading.temperature_c),
            "humidity_pct": _round(reading.humidity_pct),
        },
        separators=(",", ":"),
    ).encode()


def cramp_payload(cramp: Cramp) -> bytes:
    """A cramp's current state; ``deleted`` true after an undo (restorable)."""
    return json.dumps(
        {
            "id": cramp.id,
            "ts": iso_utc(cramp.ts_ms),
            "leg": cramp.leg,
            "severity": cramp.severity,
            "source": cramp.source,
            "note": cramp.note,
            "remedy": cramp.remedy,
            "relief_min": cramp.relief_min,
            "deleted": cramp.deleted,
            # with id, identifies the cramp on its node across edits of ts (the recorder)
            "created": iso_utc(cramp.created_ms),
        },
        separators=(",", ":"),
    ).encode()


CRAMP_EVENT_TYPE = "cramp"


def cramp_event_payload(cramp: Cramp) -> bytes:
    """The one message a new cramp fires (Home Assistant's MQTT event entity: ``event_type``
    plus attributes).  ``id`` and ``ts`` (the cramp's own instant, not the send time) let an
    automation ignore a duplicate or a cramp that only reached the broker after an outage."""
    return json.dumps(
        {
            "event_type": CRAMP_EVENT_TYPE,
            "id": cramp.id,
            "ts": iso_utc(cramp.ts_ms),
            "leg": cramp.leg,
            "severity": cramp.severity,
            "source": cramp.source,
        },
        separators=(",", ":"),
    ).encode()


def cramps_tonight_payload(night: str, count: int) -> bytes:
    """How many cramps the night in progress has had (the last night's, by day)."""
    return json.dumps({"night": night, "count": count}, separators=(",", ":")).encode()


def last_cramp_payload(cramp: Cramp | None) -> bytes:
    """The newest cramp's instant and id; the same fields, all null, when none is left (an
    empty retained message would only delete itself: Home Assistant kept the deleted cramp
    and logged "Erroneous JSON")."""
    if cramp is None:
        body = {"ts": None, "id": None, "leg": None, "severity": None}
    else:
        body = {
            "ts": iso_utc(cramp.ts_ms),
            "id": cramp.id,
            "leg": cramp.leg,
            "severity": cramp.severity,
        }
    return json.dumps(body, separators=(",", ":")).encode()


def info_payload(timezone: str) -> bytes:
    """What a node says about itself, retained: its zone (for a recorder's pooled study)."""
    return json.dumps({"timezone": timezone, "version": __version__}).encode()


def parse_info(payload: bytes, max_bytes: int = 4096) -> dict:
    """A node's info message: {"timezone": a valid IANA name}; PayloadError otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    data = _load_object(payload, max_bytes)
    zone = data.get("timezone")
    if not isinstance(zone, str) or not zone or len(zone) > 64:
        raise PayloadError("info: 'timezone' must be an IANA time zone name")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PayloadError(f"info: unknown time zone {zone!r}") from None
    return {"timezone": zone}


def alert_payload(active: bool) -> bytes:
    return b"ON" if active else b"OFF"


def _load_object(payload: bytes, max_bytes: int) -> dict:
    if len(payload) > max_bytes:
        raise PayloadError(f"payload of {len(payload)} bytes exceeds {max_bytes}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"not JSON: {exc}") from None
    except RecursionError:  # '[[[[...' deeper than Python's stack: hostile, not JSON to us
        raise PayloadError("JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError("payload is not a JSON object")
    return data


def _number(data: dict, key: str, bounds: tuple[float, float], required: bool) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise PayloadError(f"missing {key}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(f"{key} must be a finite number, got {value!r}")
    if not bounds[0] <= value <= bounds[1]:
        raise PayloadError(f"{key} {value} is outside {bounds[0]}..{bounds[1]}")
    return float(value)


def _instant(data: dict) -> int:
    ts = data.get("ts")
    if not isinstance(ts, str):
        raise PayloadError("missing ts (ISO 8601 string)")
    try:
        return parse_instant(ts)
    except InstantError as exc:
        raise PayloadError(str(exc)) from None


def parse_reading(payload: bytes, max_bytes: int = 4096) -> Reading:
    """Inverse of reading_payload, strict: PayloadError on anything off-contract."""
    data = _load_object(payload, max_bytes)
    return Reading(
        _instant(data),
        _number(data, "temperature_c", TEMPERATURE_RANGE, required=True),
        _number(data, "humidity_pct", HUMIDITY_RANGE, required=False),
    )


def parse_cramp(payload: bytes, max_bytes: int = 4096) -> dict:
    """A cramp message as store fields: ts_ms, leg, severity, note, remedy, relief_min, deleted."""
    data = _load_object(payload, max_bytes)
    fields = {"ts_ms": _instant(data)}
    for key in ("leg", "severity", "note", "remedy", "relief_min"):
        fields[key] = data.get(key)
    try:
        validate_cramp_fields(fields)
    except ValueError as exc:
        raise PayloadError(str(exc)) from None
    deleted = data.get("deleted", False)
    if not isinstance(deleted, bool):
        raise PayloadError("deleted must be true or false")
    fields["deleted"] = deleted
    return fields


def parse_alert(payload: bytes) -> bool:
    text = payload.decode("utf-8", "replace").strip().upper()
    if text not in ("ON", "OFF"):
        raise PayloadError(f"alert payload must be ON or OFF, got {text[:20]!r}")
    return text == "ON"


def _device(node: str, name: str) -> dict:
    return {
        "identifiers": [f"bedside_{node}"],
        "name": name or f"Bedside {node}",
        "manufacturer": "bedside",
        "model": "Bedside monitor",
        "sw_version": __version__,
    }


def _entity_id(domain: str, slug: str) -> dict:
    """The entity id Home Assistant gives the entity, the same on every release: releases
    before 2025.10 read ``object_id`` (and ignore ``default_entity_id``), later ones read
    ``default_entity_id`` (``object_id`` is deprecated there).  Without them the id would
    come from the device's name ("Bedroom" -> event.bedroom_cramp), not the node id."""
    return {"object_id": slug, "default_entity_id": f"{domain}.{slug}"}


def discovery_messages(
    topics: Topics, discovery_prefix: str, name: str = "", *, summary: bool = True
) -> list[tuple[str, bytes]]:
    """Home Assistant MQTT discovery configs (retained) for this node's entities.

    ``summary``: whether the "Last night's lowest" sensor is announced ([summary] enabled).
    Entity ids are ``<domain>.bedside_<node>_<key>`` on old and new releases (_entity_id).
    The broker's ACL is derived from these topics (brokerconf.node_topics): a message added
    here is allowed there.
    """
    node, device = topics.node, _device(topics.node, name)
    common = {
        "availability_topic": topics.status,
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device,
    }
    sensors = [
        ("temperature", "Temperature", "°C", "temperature_c"),
        ("humidity", "Humidity", "%", "humidity_pct"),
    ]
    out = []
    for key, label, unit, field in sensors:
        config = {
            "name": label,
            "unique_id": f"bedside_{node}_{key}",
            **_entity_id("sensor", f"bedside_{node}_{key}"),
            "device_class": key,
            "state_class": "measurement",
            "unit_of_measurement": unit,
            "state_topic": topics.state,
            "value_template": f"{{{{ value_json.{field} }}}}",
            **common,
        }
        out.append((f"{discovery_prefix}/sensor/{node}_{key}/config", config))
    binaries = [("cold", "Room cold", "cold"), ("sensor", "Sensor problem", "problem")]
    for kind, label, device_class in binaries:
        config = {
            "name": label,
            "unique_id": f"bedside_{node}_alert_{kind}",
            **_entity_id("binary_sensor", f"bedside_{node}_alert_{kind}"),
            "device_class": device_class,
            "state_topic": topics.alert(kind),
            "payload_on": "ON",
            "payload_off": "OFF",
            **common,
        }
        out.append((f"{discovery_prefix}/binary_sensor/{node}_{kind}/config", config))
    out += _cramp_discovery(topics, discovery_prefix, common)
    out.append(trial_discovery(topics, discovery_prefix, common))
    if summary:  # [summary] enabled (the ACL allows it either way)
        out.append(summary_discovery(topics, discovery_prefix, common))
    return [(t, json.dumps(c, separators=(",", ":")).encode()) for t, c in out]


def _cramp_discovery(topics: Topics, discovery_prefix: str, common: dict) -> list:
    """Cramps for Home Assistant: an event entity fired once per new cramp, a device trigger
    for presses of the button, "cramps tonight" and "last cramp" sensors."""
    node = topics.node
    event = {
        "name": "Cramp",
        "unique_id": f"bedside_{node}_cramp",
        **_entity_id("event", f"bedside_{node}_cramp"),
        "state_topic": topics.cramp_event,
        "event_types": [CRAMP_EVENT_TYPE],
        "icon": "mdi:bell-ring",
        **common,
    }
    button = {
        "automation_type": "trigger",
        "topic": topics.cramp_event,
        "type": "button_short_press",
        "subtype": "button_1",
        # fires only for cramps logged with the button (not the web page, CLI or imports)
        "value_template": "{{ value_json.source }}",
        "payload": "button",
        "device": common["device"],
    }
    tonight = {
        "name": "Cramps tonight",
        "unique_id": f"bedside_{node}_cramps_tonight",
        **_entity_id("sensor", f"bedside_{node}_cramps_tonight"),
        "state_topic": topics.cramps_tonight,
        "value_template": "{{ value_json.count }}",
        "json_attributes_topic": topics.cramps_tonight,
        "state_class": "measurement",
        "unit_of_measurement": "cramps",
        "icon": "mdi:counter",
        **common,
    }
    last = {
        "name": "Last cramp",
        "unique_id": f"bedside_{node}_last_cramp",
        **_entity_id("sensor", f"bedside_{node}_last_cramp"),
        "state_topic": topics.last_cramp,
        "value_template": "{{ value_json.ts }}",
        "json_attributes_topic": topics.last_cramp,
        "device_class": "timestamp",
        **common,
    }
    return [
        (f"{discovery_prefix}/event/{node}_cramp/config", event),
        (f"{discovery_prefix}/device_automation/{node}_cramp_button/config", button),
        (f"{discovery_prefix}/sensor/{node}_cramps_tonight/config", tonight),
        (f"{discovery_prefix}/sensor/{node}_last_cramp/config", last),
    ]


# -- the warm-night trial (docs/trial.md) ---------------------------------------------------

TRIAL_ARMS = ("warm", "usual", "none")


def trial_tonight_payload(night: str | None, arm: str | None, warm_min_c: float | None) -> bytes:
    """``{"night", "arm", "warm_min_c"}`` for an announced night, ``{"arm": "none"}`` outside
    a trial (night None)."""
    if night is None:
        return json.dumps({"arm": "none"}, separators=(",", ":")).encode()
    if arm not in TRIAL_ARMS[:2]:
        raise ValueError(f"arm must be warm or usual, got {arm!r}")
    body = {"night": night, "arm": arm, "warm_min_c": float(warm_min_c)}
    return json.dumps(body, separators=(",", ":")).encode()


def parse_trial_tonight(payload: bytes, max_bytes: int = 4096) -> dict:
    """Inverse of trial_tonight_payload, strict (PayloadError)."""
    data = _load_object(payload, max_bytes)
    arm = data.get("arm")
    if arm == "none":
        if set(data) != {"arm"}:
            raise PayloadError("an arm of none carries nothing else")
        return {"arm": "none"}
    if arm not in TRIAL_ARMS or set(data) != {"night", "arm", "warm_min_c"}:
        raise PayloadError("expected night, arm (warm, usual or none) and warm_min_c")
    night = data["night"]
    if not isinstance(night, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", night):
        raise PayloadError("night must be a date as YYYY-MM-DD")
    _number(data, "warm_min_c", TEMPERATURE_RANGE, required=True)
    return data


TRIAL_RESULT_KEYS = ("first_night", "pairs", "usual_only", "warm_only")


def trial_result_payload(first_night: str, pairs: int, usual_only: int, warm_only: int) -> bytes:
    """A finished trial's counts, retained: a recorder pools them (analysis-spec.md)."""
    values = (first_night, pairs, usual_only, warm_only)
    return json.dumps(dict(zip(TRIAL_RESULT_KEYS, values, strict=True))).encode()


def parse_trial_result(payload: bytes, max_bytes: int = 4096) -> dict:
    """Inverse of trial_result_payload, strict (PayloadError)."""
    data = _load_object(payload, max_bytes)
    if set(data) != set(TRIAL_RESULT_KEYS):
        raise PayloadError(f"trial result: expected exactly {', '.join(TRIAL_RESULT_KEYS)}")
    night = data["first_night"]
    if not isinstance(night, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", night):
        raise PayloadError("trial result: first_night must be a date as YYYY-MM-DD")
    counts = [data[k] for k in TRIAL_RESULT_KEYS[1:]]
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100_000 for v in counts
    ):
        raise PayloadError("trial result: pairs and counts must be whole numbers from 0")
    if data["usual_only"] + data["warm_only"] > data["pairs"]:
        raise PayloadError("trial result: more discordant pairs than pairs")
    return data


def trial_discovery(topics: Topics, discovery_prefix: str, common: dict) -> tuple[str, dict]:
    """An enum sensor (warm / usual / none) for tonight's arm; the night and the warm
    minimum are its attributes, so an automation can set the thermostat."""
    node = topics.node
    config = {
        "name": "Trial arm tonight",
        "unique_id": f"bedside_{node}_trial_tonight",
        **_entity_id("sensor", f"bedside_{node}_trial_tonight"),
        "device_class": "enum",
        "options": list(TRIAL_ARMS),
        "icon": "mdi:thermometer-auto",
        "state_topic": topics.trial_tonight,
        "value_template": "{{ value_json.arm }}",
        "json_attributes_topic": topics.trial_tonight,
        **common,
    }
    return f"{discovery_prefix}/sensor/{node}_trial_tonight/config", config


# -- the morning summary ([summary], monitor/daemon/summary.py) -------------------------------


def summary_payload(
    night: str, min_temp_c: float | None, minutes_below: int, cold_below_c: float, cramps: int,
    coverage: float, text: str,
) -> bytes:  # fmt: skip
    """Last night in numbers, and the sentence the apprise message carries (``text``)."""
    body = {
        "night": night,
        "min_temp_c": _round(min_temp_c, 1),
        "minutes_below": minutes_below,
        "cold_below_c": cold_below_c,
        "cramps": cramps,
        "coverage": round(coverage, 2),
        "text": text,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def summary_discovery(topics: Topics, discovery_prefix: str, common: dict) -> tuple[str, dict]:
    """ "Last night's lowest": the night's lowest temperature (not a reading of now);
    minutes below the limit, cramps and the summary's sentence as attributes (a new message
    each morning, retained)."""
    node = topics.node
    config = {
        "name": "Last night's lowest",
        "unique_id": f"bedside_{node}_summary",
        **_entity_id("sensor", f"bedside_{node}_summary"),
        "device_class": "temperature",
        "unit_of_measurement": "°C",
        "icon": "mdi:weather-night",
        "state_topic": topics.summary,
        "value_template": "{{ value_json.min_temp_c }}",
        "json_attributes_topic": topics.summary,
        **common,
    }
    return f"{discovery_prefix}/sensor/{node}_summary/config", config
