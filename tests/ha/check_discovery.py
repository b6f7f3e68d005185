"""Run by tests/test_ha_discovery.py with the Python of a venv that has Home Assistant.

Reads [[topic, payload], ...] (JSON) on standard input and checks each message the way
Home Assistant's MQTT discovery does: the topic against its TOPIC_MATCHER and supported
components, the payload (abbreviations expanded) against the platform's own
DISCOVERY_SCHEMA (TRIGGER_DISCOVERY_SCHEMA for a device trigger).  The schemas drop
unknown keys silently, so every key they dropped is reported too (a misspelt key would
otherwise pass).  Prints {topic: {"ok": bool, "error": str, "dropped": [...]}} as JSON.
"""

from __future__ import annotations

import importlib
import json
import sys

import voluptuous as vol
from homeassistant.components.mqtt import discovery
from homeassistant.components.mqtt.abbreviations import ABBREVIATIONS, DEVICE_ABBREVIATIONS


def check(prefix: str, topic: str, payload: dict) -> dict:
    trimmed = topic.replace(f"{prefix}/", "", 1)
    match = discovery.TOPIC_MATCHER.fullmatch(trimmed)
    if not match:
        return {"ok": False, "error": "illegal discovery topic", "dropped": []}
    component = match.group("component")
    if component not in discovery.SUPPORTED_COMPONENTS:
        return {"ok": False, "error": f"component {component} not supported", "dropped": []}
    payload = {ABBREVIATIONS.get(k, k): v for k, v in payload.items()}
    if "device" in payload:
        payload["device"] = {
            DEVICE_ABBREVIATIONS.get(k, k): v for k, v in payload["device"].items()
        }
    if component == "device_automation":
        schema = importlib.import_module("homeassistant.components.mqtt.device_trigger")
        validate = schema.TRIGGER_DISCOVERY_SCHEMA
    else:
        validate = importlib.import_module(
            f"homeassistant.components.mqtt.{component}"
        ).DISCOVERY_SCHEMA
    try:
        out = validate(dict(payload))
    except vol.Invalid as exc:
        return {"ok": False, "error": str(exc), "dropped": []}
    return {"ok": True, "error": "", "dropped": sorted(set(payload) - set(out))}


def main() -> None:
    prefix = sys.argv[1]
    messages = json.load(sys.stdin)
    print(json.dumps({t: check(prefix, t, json.loads(p)) for t, p in messages}))


if __name__ == "__main__":
    main()
