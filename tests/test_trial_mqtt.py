"""The trial on MQTT: the retained tonight message and its Home Assistant discovery,
through a real mosquitto; a broker outage at announce time; a killed daemon mid-trial."""

from __future__ import annotations

import json
import re
import signal
from datetime import UTC, datetime

import pytest

from monitor.clock import FakeClock, SystemClock
from monitor.mqtt.payloads import (
    Topics,
    discovery_messages,
    parse_trial_tonight,
    trial_tonight_payload,
)
from monitor.mqtt.relay import Relay
from monitor.store import Store
from monitor.trial import design, service
from tests.support import (
    EVENT_TIMEOUT,
    Subscriber,
    start_bedside,
    stop_process,
    wait_until,
    write_config,
)
from tests.trial_support import FIRST, NODE, TOPIC, Announcer, local_ms

DISCOVERY = f"homeassistant/sensor/{NODE}_trial_tonight/config"

# -- Home Assistant's rules for an MQTT sensor's discovery config ---------------------------------
# From homeassistant/components/mqtt/sensor.py (DISCOVERY_SCHEMA and
# validate_sensor_state_and_device_class_config) and the entity and availability schemas
# it extends.  Home Assistant drops unknown keys silently; here an unknown key is a bug.

HA_SENSOR_KEYS = {
    # the sensor platform
    "device_class", "expire_after", "force_update", "last_reset_value_template", "name",
    "options", "suggested_display_precision", "state_class", "unit_of_measurement",
    # read-only MQTT entities
    "state_topic", "value_template", "qos", "encoding",
    # every MQTT entity
    "unique_id", "default_entity_id", "object_id", "device", "icon", "entity_category",
    "entity_picture", "enabled_by_default", "json_attributes_topic",
    "json_attributes_template", "availability_topic", "availability",
    "availability_mode", "availability_template", "payload_available",
    "payload_not_available", "platform",
}  # fmt: skip
HA_DEVICE_KEYS = {
    "identifiers", "connections", "manufacturer", "model", "model_id", "name",
    "sw_version", "hw_version", "serial_number", "suggested_area", "via_device",
    "configuration_url",
}  # fmt: skip
HA_SENSOR_DEVICE_CLASSES = {"enum", "temperature", "humidity", "timestamp", "duration"}
MQTT_TOPIC = re.compile(r"^[^#+\s]+$")


def ha_sensor_problems(config: dict) -> list[str]:
    problems = [f"unknown key {k}" for k in sorted(set(config) - HA_SENSOR_KEYS)]
    if not isinstance(config.get("state_topic"), str) or not MQTT_TOPIC.match(
        config["state_topic"]
    ):
        problems.append("state_topic is required and must be a topic without wildcards")
    if "object_id" in config and f"sensor.{config['object_id']}" != config.get("default_entity_id"):
        # read before 2025.10 (which ignores default_entity_id), deprecated since
        problems.append("object_id must name the entity default_entity_id names")
    if not str(config.get("default_entity_id", "sensor.")).startswith("sensor."):
        problems.append("default_entity_id must be in the sensor domain")
    device_class = config.get("device_class")
    if device_class is not None and device_class not in HA_SENSOR_DEVICE_CLASSES:
        problems.append(f"device_class {device_class!r} is not one we expect")
    options = config.get("options")
    if options is not None:
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            problems.append("options must be a list of strings")
        if not options:
            problems.append("An empty options list is not allowed")
        if config.get("state_class") or config.get("unit_of_measurement"):
            problems.append("options is not allowed with state_class or unit_of_measurement")
        if device_class != "enum":
            problems.append("options must be used together with device class enum")
    elif device_class == "enum":
        problems.append("an enum sensor without options accepts any state")
    device = config.get("device", {})
    problems += [f"unknown device key {k}" for k in sorted(set(device) - HA_DEVICE_KEYS)]
    if not (device.get("identifiers") or device.get("connections")):
        problems.append("device needs identifiers or connections")
    return problems


def render_value(config: dict, payload: bytes) -> str:
    """The value_template `{{ value_json.<key> }}` applied as Home Assistant would."""
    match = re.fullmatch(r"\{\{ value_json\.(\w+) \}\}", config["value_template"])
    assert match, config["value_template"]
    return str(json.loads(payload)[match.group(1)])


def test_the_trial_sensor_discovery_passes_home_assistants_rules():
    configs = dict(discovery_messages(Topics("bedside", NODE), "homeassistant", "Bedroom"))
    trial = json.loads(configs[DISCOVERY])
    assert ha_sensor_problems(trial) == []
    assert trial["device_class"] == "enum" and trial["options"] == ["warm", "usual", "none"]
    assert trial["state_topic"] == trial["json_attributes_topic"] == TOPIC
    assert trial["unique_id"] == f"bedside_{NODE}_trial_tonight"
    assert trial["default_entity_id"] == f"sensor.bedside_{NODE}_trial_tonight"
    assert trial["availability_topic"] == f"bedside/{NODE}/status"
    assert trial["device"]["identifiers"] == [f"bedside_{NODE}"]  # the same device
    # Every message the topic can carry renders to one of the options.
    for payload in (
        trial_tonight_payload("2026-06-10", "warm", 19.0),
        trial_tonight_payload("2026-06-11", "usual", 19.0),
        trial_tonight_payload(None, None, None),
    ):
        assert render_value(trial, payload) in trial["options"]
    # The same rules hold for the other sensors (the check is not tailored to one payload).
    for topic in ("temperature", "humidity"):
        other = json.loads(configs[f"homeassistant/sensor/{NODE}_{topic}/config"])
        assert ha_sensor_problems(other) == []
    broken = {**trial, "unit_of_measurement": "°C", "object_id": "x", "optoins": []}
    assert ha_sensor_problems(broken) == [
        "unknown key optoins",
        "object_id must name the entity default_entity_id names",
        "options is not allowed with state_class or unit_of_measurement",
    ]
    assert ha_sensor_problems({**trial, "device_class": None}) == [
        "options must be used together with device class enum"
    ]


def test_the_tonight_payload_contract():
    assert json.loads(trial_tonight_payload("2026-06-10", "warm", 19)) == {
        "night": "2026-06-10",
        "arm": "warm",
        "warm_min_c": 19.0,
    }
    assert trial_tonight_payload(None, None, None) == b'{"arm":"none"}'
    with pytest.raises(ValueError):
        trial_tonight_payload("2026-06-10", "none", 19.0)
    for bad in (b'{"arm":"hot"}', b'{"arm":"none","night":"2026-06-10"}', b"[1]"):
        with pytest.raises(ValueError):
            parse_trial_tonight(bad)


# -- through a real broker --------------------------------------------------------------------


def mqtt_config(make_config, broker):
    _, config = make_config({"mqtt": {"enabled": True, "host": broker.host, "port": broker.port}})
    return config


@pytest.fixture
def relays():
    made = []
    yield made
    for relay in made:
        relay.stop()


def settled(relay: Relay) -> None:
    """Wait until every retained state given to the relay is on the broker (acknowledged)."""
    wait_until(relay.connected.is_set, what="the relay connected")
    wait_until(
        lambda: not relay._retained_dirty and not relay._retained_mids,
        what="retained states acknowledged",
    )


def started_trial(store, config, clock):
    service.start_trial(store, config, clock.now_ms(), nights=12)
    return service.load(store, NODE)


def announcer_on(relay: Relay, config, store, clock) -> Announcer:
    announcer = Announcer(config, store, clock)
    announcer.ctx.set_retained = relay.set_retained  # the relay's retained states
    return announcer


@pytest.mark.broker
def test_retained_tonight_and_discovery_reach_a_late_subscriber(make_config, broker, store, relays):
    config = mqtt_config(make_config, broker)
    clock = FakeClock(local_ms(FIRST, "10:00"))
    loaded = started_trial(store, config, clock)
    relay = Relay(config, store)
    relay.start()
    relays.append(relay)
    announcer = announcer_on(relay, config, store, clock)
    announcer.start()
    settled(relay)
    late = Subscriber(broker, [TOPIC, DISCOVERY])
    try:
        late.wait_for(lambda s: {TOPIC, DISCOVERY} <= {t for t, _, r in s if r})
        assert late.on(TOPIC)[-1] == b'{"arm":"none"}'  # planned: nothing announced yet
        assert ha_sensor_problems(json.loads(late.on(DISCOVERY)[-1])) == []
    finally:
        late.close()
    clock.set_wall(loaded.protocol.announce_ms(FIRST))
    announcer.cycle()
    settled(relay)
    late = Subscriber(broker, TOPIC)
    expected = {"night": FIRST.isoformat(), "arm": loaded.arms[0], "warm_min_c": 19.0}
    try:
        got = late.wait_for(lambda s: [p for t, p, r in s if r])
        assert parse_trial_tonight(got[-1]) == expected
    finally:
        late.close()


@pytest.mark.broker
def test_a_broker_outage_at_announce_time_loses_nothing(make_config, broker, store, relays):
    config = mqtt_config(make_config, broker)
    clock = FakeClock(local_ms(FIRST, "17:00"))
    loaded = started_trial(store, config, clock)
    relay = Relay(config, store)
    relay.start()
    relays.append(relay)
    announcer = announcer_on(relay, config, store, clock)
    announcer.start()
    assert relay.connected.wait(EVENT_TIMEOUT)
    broker.stop()
    wait_until(lambda: not relay.connected.is_set(), what="the relay noticing the outage")
    clock.set_wall(loaded.protocol.announce_ms(FIRST) + 30_000)
    announcer.cycle()  # announced while the broker is away: stored first
    (stored,) = store.trial_announcements(loaded.trial.id)
    assert stored.arm == loaded.arms[0]
    broker.start()
    settled(relay)
    late = Subscriber(broker, TOPIC)  # what the broker now retains for newcomers
    try:
        got = late.wait_for(lambda s: [p for t, p, r in s if r])
        assert parse_trial_tonight(got[-1]) == {
            "night": stored.night,
            "arm": stored.arm,
            "warm_min_c": 19.0,
        }
    finally:
        late.close()


def zone_where_it_is(hour: int) -> str:
    """An Etc/GMT zone whose local time now is hour:xx (the test stays clear of the
    announce time and the night's edges, whatever time it runs)."""
    utc_hour = datetime.now(UTC).hour
    offset = (hour - utc_hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.mark.broker
def test_a_killed_daemon_mid_trial_comes_back_with_the_same_arm(broker, tmp_path):
    """A power cut mid-plan, as near as a test gets: SIGKILL, then a fresh start."""
    db = tmp_path / "bedside.db"
    path = write_config(
        tmp_path / "config.toml",
        {
            "node": {"id": NODE, "timezone": zone_where_it_is(22)},  # 22:xx: a night runs
            "storage": {"database": str(db)},
            "sensor": {"kind": "simulated", "interval_s": 2},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "button": {"enabled": False},
        },
    )
    from monitor.config import load

    config = load(path)
    now = SystemClock().now_ms()
    with Store.open(db) as store:  # started two days ago, at 22:xx
        service.start_trial(store, config, now - 2 * 86_400_000, nights=12)
        loaded = service.load(store, NODE)
    current = design.tonight(loaded.protocol, loaded.arms, now, None)
    assert current is not None and current[0] == loaded.protocol.dates()[1]  # tonight
    expected = {"night": current[0].isoformat(), "arm": current[1], "warm_min_c": 19.0}
    sub = Subscriber(broker, TOPIC)
    proc = start_bedside("monitor", config=path, log=tmp_path / "run1.log")
    try:
        sub.wait_for(lambda s: [p for t, p, _ in s if b'"night"' in p])
    finally:
        proc.kill()  # SIGKILL: no goodbye
        proc.wait(EVENT_TIMEOUT)
    assert parse_trial_tonight(sub.on(TOPIC)[-1]) == expected
    with Store.open_readonly(db) as reader:
        (announced,) = reader.trial_announcements(loaded.trial.id)
        assert (announced.night, announced.arm) == (expected["night"], expected["arm"])
        assert reader.trial_schedule(loaded.trial.id) == list(
            zip([d.isoformat() for d in loaded.protocol.dates()], loaded.arms, strict=True)
        )
    seen = len(sub.on(TOPIC))
    proc = start_bedside("monitor", config=path, log=tmp_path / "run2.log")
    try:
        sub.wait_for(lambda s: len([p for t, p, _ in s if t == TOPIC]) > seen)
    finally:
        code = stop_process(proc, signal.SIGTERM)
        sub.close()
    assert code == 0
    assert parse_trial_tonight(sub.on(TOPIC)[-1]) == expected  # the same arm, re-published
    with Store.open_readonly(db) as reader:
        assert reader.trial_announcements(loaded.trial.id) == [announced]
        stored = reader.latest_trial(NODE)
        assert design.verify(stored.commitment, stored.salt, reader.trial_schedule(stored.id))
