"""The alert state machines: table-driven cases and properties over random nights."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.daemon.alerts import (
    AlertMachines,
    ColdRules,
    ColdState,
    SensorState,
    cold_step,
    sensor_step,
)
from monitor.store import Reading

S = 1000
RULES = ColdRules(cold_below_c=18.0, clear_above_c=18.5, min_duration_ms=600 * S, silent_ms=150 * S)


def run_cold(events, rules=RULES, state=None):
    """events: (second, temperature or None). Returns [(second, 'ON'/'OFF', reason)]."""
    state = state or ColdState()
    out = []
    for sec, temp in events:
        now = sec * S
        reading = None if temp is None else Reading(now, temp)
        state, ts = cold_step(state, reading, now, rules)
        out += [(t.at_ms // S, "ON" if t.active else "OFF", t.reason) for t in ts]
    return out


def every(start, stop, step, temp):
    return [(s, temp) for s in range(start, stop, step)]


COLD_CASES = {
    "warm room never alerts": (every(0, 3600, 30, 19.0), []),
    "ON once the room stayed below for the full duration": (
        every(0, 700, 30, 17.0),
        [(600, "ON", "below")],
    ),
    "one reading below is not enough": ([(0, 17.0), (30, 18.2), *every(60, 700, 30, 18.2)], []),
    "a reading at the threshold breaks the run": (
        [*every(0, 300, 30, 17.0), (300, 18.0), *every(330, 1000, 30, 17.0)],
        [(930, "ON", "below")],
    ),
    "hysteresis band keeps it ON": (
        every(0, 630, 30, 17.0) + every(630, 2000, 30, 18.3),
        [(600, "ON", "below")],
    ),
    "OFF only at the clear level": (
        [*every(0, 630, 30, 17.0), (630, 18.49), (660, 18.5)],
        [(600, "ON", "below"), (660, "OFF", "clear")],
    ),
    "failed reads inside the silent window do not break the run": (
        [(s, None if (s // 30) % 3 == 1 else 17.0) for s in range(0, 700, 30)],
        [(600, "ON", "below")],
    ),
    "a gap of silent_s restarts the run": (
        every(0, 300, 30, 17.0) + every(450, 1100, 30, 17.0),
        [(1050, "ON", "below")],
    ),
    "stale data ends an episode": (
        every(0, 630, 30, 17.0) + [(s, None) for s in range(630, 900, 30)],
        # last good reading at 600; stale at 600 + 150
        [(600, "ON", "below"), (750, "OFF", "stale")],
    ),
    "after a stale OFF a full fresh run is needed again": (
        every(0, 630, 30, 17.0)
        + [(s, None) for s in range(630, 800, 30)]
        + every(810, 1500, 30, 17.0),
        [(600, "ON", "below"), (750, "OFF", "stale"), (1410, "ON", "below")],
    ),
    "min_duration 0 alerts on the first cold reading": (
        [(0, 19.0), (30, 17.9)],
        [(30, "ON", "below")],
        ColdRules(min_duration_ms=0, silent_ms=150 * S),
    ),
}


@pytest.mark.parametrize("name", COLD_CASES)
def test_cold_table(name):
    events, expected, *rules = COLD_CASES[name]
    assert run_cold(events, *(rules or [RULES])) == expected


def test_cold_transition_context():
    state = ColdState()
    for sec, temp in [
        (0, 17.5),
        (100, 17.1),
        (200, 16.8),
        (300, 17.2),
        (400, 17.3),
        (500, 17.0),
        (600, 17.0),
    ]:
        state, ts = cold_step(state, Reading(sec * S, temp), sec * S, RULES)
    (on,) = ts
    assert (on.kind, on.active, on.since_ms, on.temperature_c, on.min_temp_c) == (
        "cold",
        True,
        0,
        17.0,
        16.8,
    )
    state, _ = cold_step(state, Reading(700 * S, 16.2), 700 * S, RULES)
    state, (off,) = cold_step(state, Reading(800 * S, 19.0), 800 * S, RULES)
    assert (off.active, off.reason, off.since_ms, off.end_ms, off.min_temp_c) == (
        False,
        "clear",
        0,
        800 * S,
        16.2,
    )


def test_clock_going_backwards_restarts_the_run():
    events = every(0, 300, 30, 17.0)
    state = ColdState()
    for sec, temp in events:
        state, _ = cold_step(state, Reading(sec * S, temp), sec * S, RULES)
    state, ts = cold_step(state, Reading(-3000 * S, 17.0), -3000 * S, RULES)
    assert ts == () and state.run_start_ms == -3000 * S


SENSOR_CASES = {
    "good readings keep it OFF": ([(s, 20.0) for s in range(0, 600, 30)], []),
    "ON after the timeout, OFF on the next good reading": (
        [(0, 20.0)] + [(s, None) for s in range(30, 240, 30)] + [(240, 20.0)],
        [(150, "ON"), (240, "OFF")],
    ),
    "a silent start counts from when watching began": (
        [(s, None) for s in range(0, 200, 30)],
        [(150, "ON")],
    ),
    "one short of the timeout stays OFF": ([(0, 20.0), (60, None), (120, None)], []),
}


@pytest.mark.parametrize("name", SENSOR_CASES)
def test_sensor_table(name):
    events, expected = SENSOR_CASES[name]
    state = SensorState(last_good_ms=0)
    out = []
    for sec, temp in events:
        reading = None if temp is None else Reading(sec * S, temp)
        state, ts = sensor_step(state, reading, sec * S, 150 * S)
        out += [(t.at_ms // S, "ON" if t.active else "OFF") for t in ts]
    assert out == expected


def test_rules_reject_inverted_levels():
    with pytest.raises(ValueError):
        ColdRules(cold_below_c=18.0, clear_above_c=17.0)


# -- properties -----------------------------------------------------------------------

# A night: cycles every `step` seconds, each a temperature or a failed read.
temps = st.one_of(
    st.none(),
    st.floats(15.0, 21.0, allow_nan=False),
    st.sampled_from([17.99, 18.0, 18.01, 18.49, 18.5, 18.51]),
)
nights = st.tuples(
    st.integers(1, 120),  # cycle length in seconds
    st.lists(temps, min_size=1, max_size=300),
    st.integers(0, 1200),  # min_duration_s
    st.integers(1, 600),  # silent_s
    st.floats(16.0, 19.0, allow_nan=False),  # cold_below_c
    st.floats(0.0, 1.5, allow_nan=False),  # hysteresis
)


def simulate(night):
    step, values, min_dur, silent, below, hyst = night
    rules = ColdRules(below, below + hyst, min_dur * S, silent * S)
    machines = AlertMachines(rules, start_ms=0)
    cycles, transitions = [], []
    for i, temp in enumerate(values):
        now = i * step * S
        reading = None if temp is None else Reading(now, temp)
        cycles.append((now, reading))
        transitions += machines.step(reading, now)
    return rules, cycles, transitions


@settings(max_examples=300, deadline=None)
@given(nights)
def test_cold_on_only_after_full_fresh_run_below(night):
    rules, cycles, transitions = simulate(night)
    good = [(now, r) for now, r in cycles if r is not None]
    for t in transitions:
        if t.kind != "cold" or not t.active:
            continue
        # The deciding reading is fresh (taken in that very cycle) and below the level ...
        assert any(r.ts_ms == t.at_ms and r.temperature_c < rules.cold_below_c for _, r in good)
        # ... and every good reading since the run began was below, with no gap of silent_s.
        run = [r for _, r in good if t.since_ms <= r.ts_ms <= t.at_ms]
        assert t.at_ms - t.since_ms >= rules.min_duration_ms
        assert all(r.temperature_c < rules.cold_below_c for r in run)
        assert all(b.ts_ms - a.ts_ms < rules.silent_ms for a, b in itertools.pairwise(run))
        assert run[0].ts_ms == t.since_ms


@settings(max_examples=300, deadline=None)
@given(nights)
def test_cold_off_only_at_clear_level_or_stale(night):
    rules, cycles, transitions = simulate(night)
    by_now = dict(cycles)
    for t in transitions:
        if t.kind != "cold" or t.active:
            continue
        if t.reason == "clear":
            assert by_now[t.at_ms].temperature_c >= rules.clear_above_c
        else:
            assert t.reason == "stale"
            assert t.at_ms - t.end_ms >= rules.silent_ms


@settings(max_examples=300, deadline=None)
@given(nights)
def test_cold_transitions_alternate_and_never_flap(night):
    rules, _, transitions = simulate(night)
    cold = [t for t in transitions if t.kind == "cold"]
    assert [t.active for t in cold] == [i % 2 == 0 for i in range(len(cold))]
    # An OFF is followed by a new ON no sooner than a full duration of fresh readings.
    for off, on in zip(cold[1::2], cold[2::2], strict=False):
        assert on.at_ms - off.at_ms >= rules.min_duration_ms
        assert on.since_ms > off.at_ms - (0 if off.reason == "clear" else rules.silent_ms)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(16.0, 18.49, allow_nan=False), min_size=30, max_size=200),
    st.integers(5, 60),
)
def test_noise_below_the_clear_level_never_turns_it_off(noise, step):
    rules = ColdRules(18.0, 18.5, 300 * S, 150 * S)
    state = ColdState()
    # Cold long enough to be ON, then noise straddling the threshold, never reaching 18.5.
    values = [17.0] * (300 // step + 2) + noise
    changes = []
    for i, temp in enumerate(values):
        state, ts = cold_step(state, Reading(i * step * S, temp), i * step * S, rules)
        changes += ts
    assert [t.active for t in changes] == [True]


@settings(max_examples=300, deadline=None)
@given(nights)
def test_sensor_alert_after_timeout_off_after_good_reading(night):
    """The machine agrees with a one-line reference model on every cycle."""
    rules, cycles, transitions = simulate(night)
    expected, active, last_good = [], False, 0
    for now, reading in cycles:
        if reading is not None:
            last_good, new = max(last_good, reading.ts_ms), False
        else:
            new = active or now - last_good >= rules.silent_ms
        if new != active:
            expected.append((now, new))
        active = new
    assert [(t.at_ms, t.active) for t in transitions if t.kind == "sensor"] == expected


def test_cold_is_off_while_sensor_silent():
    """The stale rule and the silent alert use the same timeout: never cold ON + sensor ON."""
    rules = ColdRules(18.0, 18.5, 60 * S, 90 * S)
    machines = AlertMachines(rules, start_ms=0)
    seen = []
    for i, temp in enumerate([17.0] * 5 + [None] * 10 + [17.0] * 5):
        now = i * 30 * S
        machines.step(None if temp is None else Reading(now, temp), now)
        seen.append((machines.cold.active, machines.sensor.active))
    assert (True, True) not in seen
    assert (True, False) in seen and (False, True) in seen


def test_home_assistant_discovery_of_both_alerts():
    import json

    from monitor.mqtt.payloads import Topics, discovery_messages

    topics = Topics("bedside", "bedroom")
    configs = {t: json.loads(p) for t, p in discovery_messages(topics, "homeassistant")}
    cold = configs["homeassistant/binary_sensor/bedroom_cold/config"]
    sensor = configs["homeassistant/binary_sensor/bedroom_sensor/config"]
    for config, kind, device_class in ((cold, "cold", "cold"), (sensor, "sensor", "problem")):
        assert config["device_class"] == device_class
        assert config["state_topic"] == f"bedside/bedroom/alert/{kind}"
        assert (config["payload_on"], config["payload_off"]) == ("ON", "OFF")
        assert config["default_entity_id"] == f"binary_sensor.bedside_bedroom_alert_{kind}"
        # read by Home Assistant before 2025.10 (which ignores default_entity_id)
        assert config["object_id"] == f"bedside_bedroom_alert_{kind}"
        assert config["availability_topic"] == "bedside/bedroom/status"
