"""Home Assistant as its users run it: a real Home Assistant 2024.3.3 (`hass`, tests/ha/live.py)
and a real `bedside monitor` (simulated sensor, mock button) on a real mosquitto running the
files `bedside broker-config` writes (each with its own account), the README's example
automation loaded as written.

One Home Assistant for the module (it takes seconds to start); every test waits for Home
Assistant's own state over its REST API.  Counting is done inside Home Assistant by two
test-only automations: one counts the cramp event messages it receives (MQTT trigger), one
counts the runs of the README's automation (its ``automation_triggered`` events).  Absence is
shown by order: after a restart a new cramp is logged, and once its run is counted any run
the restart could have caused has been counted too (MQTT and the event bus keep order).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor import nights
from monitor.clock import SystemClock
from monitor.config import load
from monitor.mqtt.payloads import Topics, discovery_messages
from monitor.store import Reading, Store
from tests.ha.live import HomeAssistant, why_not_runnable
from tests.support import (
    ROOT,
    broker_credentials,
    run_bedside,
    start_bedside,
    start_generated_broker,
    stop_process,
    wait_until,
    write_config,
)
from tests.test_notify import Endpoint

pytestmark = [pytest.mark.slow, pytest.mark.broker]

NODE, NAME = "bedroom", "Bedroom"
EVENT = f"event.bedside_{NODE}_cramp"
LAST = f"sensor.bedside_{NODE}_last_cramp"
TEMPERATURE = f"sensor.bedside_{NODE}_temperature"
README_RUNS = "counter.readme_automation_runs"
EVENTS_SEEN = "counter.cramp_events_received"
BUTTON_PRESSES = "counter.button_presses"
DOCS = [ROOT / "README.md", ROOT / "docs" / "home-assistant.md", ROOT / "docs" / "trial.md"]


def documented_automations(doc: Path, heading: str) -> list[dict]:
    """The first example automation after ``heading``, exactly as printed there."""
    text = doc.read_text(encoding="utf-8")
    block = text[text.index("```yaml", text.index(heading)) + len("```yaml") :]
    return yaml.safe_load(block[: block.index("```")])["automation"]


def readme_automations() -> list[dict]:
    return documented_automations(ROOT / "README.md", "### Home Assistant")


def trial_automations() -> list[dict]:
    return documented_automations(ROOT / "docs" / "trial.md", "## Home Assistant")


def counting_automations(readme: list[dict]) -> list[dict]:
    return [
        {
            "alias": "test: count the README automation's runs",
            "trigger": [
                {
                    "platform": "event",
                    "event_type": "automation_triggered",
                    "event_data": {"name": a["alias"]},
                }
                for a in readme
            ],
            "mode": "queued",
            "action": [{"service": "counter.increment", "target": {"entity_id": README_RUNS}}],
        },
        {
            "alias": "test: count the cramp event messages received",
            "trigger": [{"platform": "mqtt", "topic": Topics("bedside", NODE).cramp_event}],
            "mode": "queued",
            "action": [{"service": "counter.increment", "target": {"entity_id": EVENTS_SEEN}}],
        },
    ]


def morning_zone() -> str:
    """A fixed-offset zone where it is now about 10:00: the morning summary of last night is
    due when the daemon starts (its clock is the real one)."""
    offset = (10 - datetime.now(UTC).hour) % 24
    offset -= 24 if offset > 14 else 0
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def seed_last_night(config_path: Path) -> date:
    """Last night's readings, stored before the first start: 19 °C, and 17 °C for the two
    hours from 02:00 (a reading every 5 minutes)."""
    config = load(config_path)
    params = nights.NightParams.from_config(config)
    now = SystemClock().now_ms()
    night = nights.local_date(now, params) - timedelta(days=1)
    start, end = nights.night_window(night, params)
    cold_from = start + 6 * 3_600_000  # 02:00 with the night starting at 20:00
    with Store.open(config.storage.database) as s:
        s.add_readings(
            NODE,
            [Reading(ts, 17.0 if cold_from <= ts < cold_from + 7_200_000 else 19.0, 50.0)
             for ts in range(start, end, 300_000)],
        )  # fmt: skip
    return night


class Stack:
    """The broker, Home Assistant and the daemon (stoppable, restartable)."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.db = workdir / "bedside.db"
        self.notified = Endpoint()  # apprise's json:// target, on loopback
        base = {"node": {"id": NODE, "name": NAME, "timezone": morning_zone()},
                "storage": {"database": str(self.db)}}  # fmt: skip
        self.broker, port = start_generated_broker(
            workdir, write_config(workdir / "b.toml", base), NODE
        )
        node = broker_credentials(workdir)[NODE]
        self.config = write_config(
            workdir / "config.toml",
            {
                **base,
                "sensor": {"kind": "simulated", "interval_s": 2},
                "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, **node},
                "button": {"enabled": True},
                "summary": {"enabled": True},
                "alerts": {"notify": [self.notified.url], "notify_retries": 0},
            },
        )
        self.last_night = seed_last_night(self.config)
        ha = broker_credentials(workdir)["homeassistant"]
        self.readme = readme_automations()
        self.ha = HomeAssistant(
            workdir / "ha",
            {"broker": "127.0.0.1", "port": port, **ha},
            self.readme + trial_automations() + counting_automations(self.readme),
            extra_yaml="counter:\n  readme_automation_runs:\n  cramp_events_received:\n"
            "  button_presses:\n",
        )
        self.daemon: subprocess.Popen | None = None
        self.runs = 0

    def start_daemon(self) -> None:
        self.runs += 1
        log = self.dir / f"monitor-{self.runs}.log"
        self.daemon = start_bedside("monitor", config=self.config, log=log)

    def stop_daemon(self, sig: int) -> None:
        stop_process(self.daemon, sig)
        self.daemon = None

    def cramp(self, *args: str) -> int:
        """Log a cramp with the CLI (another process, as a person would); its id."""
        r = run_bedside("cramp", *args, config=self.config)
        assert r.returncode == 0, r.stderr
        with Store.open_readonly(self.db) as s:
            return s.cramps(NODE, newest_first=True, limit=1)[0].id

    def counter(self, entity_id: str) -> int:
        return int(float(self.ha.state(entity_id)["state"]))

    def wait_counter(self, entity_id: str, at_least: int) -> int:
        s = self.ha.wait_state(
            entity_id, lambda s: int(float(s["state"])) >= at_least, f">= {at_least}"
        )
        return int(float(s["state"]))

    def wait_event(self, cramp_id: int) -> dict:
        return self.ha.wait_state(
            EVENT, lambda s: s["attributes"].get("id") == cramp_id, f"the event of cramp {cramp_id}"
        )

    def close(self) -> None:
        if self.daemon is not None:
            self.stop_daemon(signal.SIGTERM)
        self.notified.close()
        self.ha.stop()
        self.broker.kill()
        self.broker.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    why = why_not_runnable()
    if why:
        pytest.skip(why)
    s = Stack(tmp_path_factory.mktemp("ha-live"))
    try:
        s.ha.start()
        s.start_daemon()
        # Every entity discovered before a test logs a cramp (an event is not retained).
        wait_until(lambda: announced_entity_ids() <= set(s.ha.states()), what="discovery")
        yield s
    finally:
        s.close()


def announced_entity_ids() -> set[str]:
    configs = [
        json.loads(p) for _, p in discovery_messages(Topics("bedside", NODE), "homeassistant", NAME)
    ]
    return {c["default_entity_id"] for c in configs if "default_entity_id" in c}


def documented_entity_ids() -> set[str]:
    """Every bedside entity id the README and docs name (``<node>`` read as this node)."""
    found = set()
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8").replace("<node>", NODE)
        found |= set(re.findall(r"\b(?:sensor|binary_sensor|event)\.bedside_[a-z0-9_]+", text))
    return found


def test_every_entity_the_daemon_announces_appears_with_the_documented_id(stack):
    """issue 22: with `[node] name = "Bedroom"`, Home Assistant 2024.3 named the event
    `event.bedroom_cramp` (it ignores default_entity_id), not the README's id."""
    announced = announced_entity_ids()
    assert len(announced) == 9
    documented = documented_entity_ids()
    assert EVENT in documented and documented <= announced
    states = stack.ha.wait_state(
        TEMPERATURE, lambda s: s["state"] not in ("unknown", "unavailable"), "a reading"
    )
    assert 5 < float(states["state"]) < 35
    present = stack.ha.states()
    assert announced <= set(present), sorted(announced - set(present))
    # One device for all of them, named as configured.
    device_ids = {
        stack.ha.request("POST", "/api/template", {"template": f"{{{{ device_id('{e}') }}}}"})
        for e in announced
    }
    assert len(device_ids) == 1 and device_ids != {""}
    (device,) = device_ids
    name = stack.ha.request(
        "POST", "/api/template", {"template": f"{{{{ device_attr('{device}', 'name') }}}}"}
    )
    assert name == NAME
    assert present[f"sensor.bedside_{NODE}_trial_tonight"]["state"] == "none"


def test_the_event_fires_once_per_cramp_and_the_example_runs_once(stack):
    runs, seen = stack.counter(README_RUNS), stack.counter(EVENTS_SEEN)
    first = stack.cramp("--leg", "left", "--severity", "3")
    state = stack.wait_event(first)
    assert state["attributes"]["event_type"] == "cramp"
    assert state["attributes"]["leg"] == "left" and state["attributes"]["source"] == "cli"
    second = stack.cramp("--leg", "right")
    stack.wait_event(second)
    assert stack.wait_counter(EVENTS_SEEN, seen + 2) == seen + 2
    assert stack.wait_counter(README_RUNS, runs + 2) == runs + 2
    # An edit and a deletion are not new cramps: no event, no run.
    with Store.open(stack.db) as s:
        s.update_cramp(first, now_ms=SystemClock().now_ms(), leg="both")
        s.delete_cramp(first, now_ms=SystemClock().now_ms())
    third = stack.cramp()
    stack.wait_event(third)
    assert stack.wait_counter(EVENTS_SEEN, seen + 3) == seen + 3
    assert stack.wait_counter(README_RUNS, runs + 3) == runs + 3


def test_the_device_trigger_fires_for_button_cramps_only(stack):
    """The "button_short_press / button_1" device trigger, added as a user would (the
    automation editor's REST API), fires for a cramp logged with the button and not for one
    logged on the command line."""
    device = stack.ha.request(
        "POST", "/api/template", {"template": f"{{{{ device_id('{EVENT}') }}}}"}
    )
    automation = {
        "id": "bedside_test_button",
        "alias": "test: the cramp button's device trigger",
        "trigger": [{"platform": "device", "domain": "mqtt", "device_id": device,
                     "type": "button_short_press", "subtype": "button_1"}],
        "mode": "queued",
        "action": [{"service": "counter.increment", "target": {"entity_id": BUTTON_PRESSES}}],
    }  # fmt: skip
    path = "/api/config/automation/config/bedside_test_button"
    assert stack.ha.request("POST", path, automation) == {"result": "ok"}
    stack.ha.wait_state(
        "automation.test_the_cramp_button_s_device_trigger", lambda s: s["state"] == "on", "on"
    )
    presses = stack.counter(BUTTON_PRESSES)
    stack.wait_event(stack.cramp())  # from the CLI: not a press
    now = SystemClock().now_ms()
    with Store.open(stack.db) as s:  # what the daemon's button component stores
        pressed, _ = s.add_cramp(NODE, now, source="button", now_ms=now)
    stack.wait_event(pressed.id)
    assert stack.wait_counter(BUTTON_PRESSES, presses + 1) == presses + 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_unavailable_when_the_daemon_stops_back_after_and_no_second_run(stack, sig):
    """SIGTERM: the daemon says offline; SIGKILL: the broker sends its last will.  Back online,
    the event entity returns to its last state: the README's automation must not run again
    for that cramp (issue 22 measured 3-4 runs per cramp with a bare state trigger)."""
    runs = stack.counter(README_RUNS)
    before = stack.cramp()
    stack.wait_event(before)
    runs = stack.wait_counter(README_RUNS, runs + 1)
    stack.stop_daemon(sig)
    for entity in (EVENT, TEMPERATURE, LAST):
        stack.ha.wait_state(entity, lambda s: s["state"] == "unavailable", "unavailable")
    stack.start_daemon()
    back = stack.ha.wait_state(EVENT, lambda s: s["state"] != "unavailable", "available again")
    assert back["attributes"]["id"] == before
    after = stack.cramp()
    stack.wait_event(after)
    assert stack.wait_counter(README_RUNS, runs + 1) == runs + 1  # the new cramp's run only


def test_a_home_assistant_restart_does_not_run_the_example_again(stack):
    runs = stack.counter(README_RUNS)
    before = stack.cramp()
    stack.wait_event(before)
    runs = stack.wait_counter(README_RUNS, runs + 1)
    stack.ha.stop()
    stack.ha.start()
    back = stack.ha.wait_state(EVENT, lambda s: s["attributes"].get("id") == before, "restored")
    assert back["state"] not in ("unavailable", "unknown")
    assert stack.counter(README_RUNS) == runs  # the counter itself is restored
    after = stack.cramp()
    stack.wait_event(after)
    assert stack.wait_counter(README_RUNS, runs + 1) == runs + 1


def test_the_trial_example_loads_and_runs_on_the_retained_arm(stack):
    """docs/trial.md's automation, as printed: valid, and run by the retained "none" arm."""
    (alias,) = [a["alias"] for a in trial_automations()]
    entity = "automation." + re.sub(r"[^a-z0-9]+", "_", alias.lower()).strip("_")
    state = stack.ha.wait_state(entity, lambda s: s["attributes"].get("last_triggered"), "ran")
    assert state["state"] == "on"


def test_the_morning_summary_reaches_home_assistant_and_apprise(stack):
    """The real daemon sums up last night at start (it is ~10:00 in its zone, after
    [summary] at): the "Last night's lowest" sensor in Home Assistant, and apprise's message."""
    summary = stack.ha.wait_state(
        f"sensor.bedside_{NODE}_summary", lambda s: s["state"] not in ("unknown",), "a summary"
    )
    attributes = summary["attributes"]
    assert float(summary["state"]) == 17.0 and attributes["unit_of_measurement"] == "°C"
    assert attributes["night"] == stack.last_night.isoformat()
    assert attributes["minutes_below"] == 120 and attributes["cramps"] == 0
    assert stack.notified.wait_for(lambda e: e.received)
    (message,) = stack.notified.received  # once, also across the restarts above
    assert message["message"] == attributes["text"]
    assert message["message"] == "Lowest 17.0 °C, below 18 °C for 2 h 00 min; no cramps."


def test_last_cramp_becomes_none_when_every_cramp_is_deleted(stack):
    newest = stack.cramp()
    shown = stack.ha.wait_state(LAST, lambda s: s["attributes"].get("id") == newest, "the newest")
    assert shown["state"] not in ("unknown", "unavailable")
    with Store.open(stack.db) as s:
        for c in s.cramps(NODE):
            s.delete_cramp(c.id, now_ms=SystemClock().now_ms())
    gone = stack.ha.wait_state(LAST, lambda s: s["attributes"].get("id", 0) is None, "none")
    assert gone["state"] == "unknown"
    log = stack.ha.log()
    for complaint in (
        "Erroneous JSON",
        "Error parsing value",
        "rendering template",
        "Template variable",
    ):
        assert complaint not in log, [x for x in log.splitlines() if complaint in x][:3]


def test_home_assistant_logged_no_error_about_bedside(stack):
    errors = [
        line for line in stack.ha.log().splitlines()
        if " ERROR " in line and ("bedside" in line or "mqtt" in line or "automation" in line)
    ]  # fmt: skip
    assert errors == []
