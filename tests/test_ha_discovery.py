"""Home Assistant discovery, checked by Home Assistant's own schemas.

Home Assistant needs a newer Python than some Pis have and pins many packages, so it
lives in its own venv (``scripts/test`` makes it: ``homeassistant==2024.3.3``, the last
release for Python 3.11) and tests/ha/check_discovery.py runs there.  The payload
templates are rendered here with Jinja against the payloads the relay really sends.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jinja2
import pytest

from monitor.mqtt.payloads import (
    Topics,
    cramp_event_payload,
    cramps_tonight_payload,
    discovery_messages,
    last_cramp_payload,
)
from monitor.store import Cramp

TEST_CACHE = Path(os.environ.get("BEDSIDE_TEST_CACHE") or Path.home() / ".cache" / "bedside-test")
HA_PYTHON = Path(os.environ.get("BEDSIDE_HA_PYTHON") or TEST_CACHE / "ha-venv" / "bin" / "python")
CHECKER = Path(__file__).parent / "ha" / "check_discovery.py"
# Keys newer than the schemas of Home Assistant 2024.3 (which drops them silently):
# default_entity_id (2025.10) and an MQTT enum sensor's options (the trial's arm sensor).
NEWER_KEYS = {"default_entity_id", "options"}


@pytest.fixture(scope="module")
def ha_check():
    if not HA_PYTHON.exists():
        pytest.skip(
            f"Home Assistant's schemas are not installed at {HA_PYTHON}: ./scripts/test "
            "installs them (or set BEDSIDE_HA_PYTHON to a Python that has homeassistant)"
        )

    def run(messages, prefix: str = "homeassistant") -> dict:
        done = subprocess.run(
            [str(HA_PYTHON), str(CHECKER), prefix],
            input=json.dumps([[t, p if isinstance(p, str) else p.decode()] for t, p in messages]),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    return run


def configs(node: str = "bedroom") -> dict[str, dict]:
    topics = Topics("bedside", node)
    return {t: json.loads(p) for t, p in discovery_messages(topics, "homeassistant", "Bedroom")}


def cramp(**fields) -> Cramp:
    base = dict(
        id=7,
        node="bedroom",
        ts_ms=1_780_451_400_000,
        leg="left",
        severity=3,
        note=None,
        remedy=None,
        relief_min=None,
        source="button",
        created_ms=1_780_451_400_000,
        updated_ms=1_780_451_400_000,
        deleted_ms=None,
        published=False,
    )
    return Cramp(**{**base, **fields})


def test_every_discovery_config_passes_home_assistants_schemas(ha_check):
    sent = configs()
    results = ha_check([(t, json.dumps(c)) for t, c in sent.items()])
    assert set(results) == set(sent)
    for topic, result in results.items():
        assert result["ok"], (topic, result["error"])
        assert set(result["dropped"]) <= NEWER_KEYS, (topic, result["dropped"])
    components = sorted(t.split("/")[1] for t in sent)
    assert components == [
        "binary_sensor",
        "binary_sensor",
        "device_automation",
        "event",
        # cramps tonight, humidity, last cramp, last night ([summary]), temperature, trial arm
        "sensor",
        "sensor",
        "sensor",
        "sensor",
        "sensor",
        "sensor",
    ]


def test_the_schema_check_fails_what_home_assistant_refuses(ha_check):
    """The check can fail: a missing required key, a misspelt one, a bad topic."""
    event = configs()["homeassistant/event/bedroom_cramp/config"]
    no_types = {k: v for k, v in event.items() if k != "event_types"}
    misspelt = {**event, "event_tpyes": ["cramp"]}
    trigger = configs()["homeassistant/device_automation/bedroom_cramp_button/config"]
    no_subtype = {k: v for k, v in trigger.items() if k != "subtype"}
    results = ha_check(
        [
            ("homeassistant/event/a/config", json.dumps(no_types)),
            ("homeassistant/event/b/config", json.dumps(misspelt)),
            ("homeassistant/device_automation/c/config", json.dumps(no_subtype)),
            ("homeassistant/event/bad.id/config", json.dumps(event)),
        ]
    )
    assert not results["homeassistant/event/a/config"]["ok"]
    assert "event_tpyes" in results["homeassistant/event/b/config"]["dropped"]
    assert not results["homeassistant/device_automation/c/config"]["ok"]
    assert results["homeassistant/event/bad.id/config"]["error"] == "illegal discovery topic"


def render(template: str, payload: bytes) -> str:
    return jinja2.Template(template).render(value_json=json.loads(payload))


def test_cramp_entities_read_the_payloads_the_relay_sends():
    c = configs()
    event = c["homeassistant/event/bedroom_cramp/config"]
    trigger = c["homeassistant/device_automation/bedroom_cramp_button/config"]
    tonight = c["homeassistant/sensor/bedroom_cramps_tonight/config"]
    last = c["homeassistant/sensor/bedroom_last_cramp/config"]
    topics = Topics("bedside", "bedroom")

    fired = json.loads(cramp_event_payload(cramp()))
    assert fired["event_type"] in event["event_types"] == ["cramp"]
    assert {k: fired[k] for k in ("id", "ts", "leg", "severity", "source")} == {
        "id": 7,
        "ts": "2026-06-03T01:50:00Z",
        "leg": "left",
        "severity": 3,
        "source": "button",
    }
    assert event["state_topic"] == trigger["topic"] == topics.cramp_event
    # The device trigger fires for the button only.
    assert render(trigger["value_template"], cramp_event_payload(cramp())) == trigger["payload"]
    assert render(trigger["value_template"], cramp_event_payload(cramp(source="web"))) != "button"

    assert (
        tonight["state_topic"] == topics.cramps_tonight and tonight["state_class"] == "measurement"
    )
    assert render(tonight["value_template"], cramps_tonight_payload("2026-06-02", 2)) == "2"
    assert last["device_class"] == "timestamp" and last["state_topic"] == topics.last_cramp
    assert render(last["value_template"], last_cramp_payload(cramp())) == "2026-06-03T01:50:00Z"
    # None left: a well-formed message whose state renders as Home Assistant's "no value"
    assert render(last["value_template"], last_cramp_payload(None)) == "None"
    assert json.loads(last_cramp_payload(None)) == dict.fromkeys(("ts", "id", "leg", "severity"))
    for cfg in (event, tonight, last):
        assert cfg["availability_topic"] == topics.status
        assert (
            cfg["device"]["identifiers"] == trigger["device"]["identifiers"] == ["bedside_bedroom"]
        )


def test_readme_documents_every_field_of_the_cramp_messages():
    from monitor.mqtt.payloads import cramp_payload

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("Every field of a cramp message") :]
    table = table[: table.index("\n\n", table.index("| field |"))]
    documented = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert documented == set(json.loads(cramp_payload(cramp())))
    for payload in (cramp_event_payload(cramp()), cramps_tonight_payload("2026-06-02", 1)):
        for key in json.loads(payload):
            assert f'"{key}"' in readme, key
    for topic in ("cramp/event", "cramps/tonight", "cramps/last"):
        assert f"`<prefix>/<node>/{topic}`" in readme
