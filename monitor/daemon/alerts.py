"""The cold-room and silent-sensor alerts: pure state machines over readings and time.

Each machine is a frozen state plus a ``step(state, reading, now_ms)`` function
returning the next state and the transitions it caused; no I/O, no clock, so
every rule below is a table-driven or property-based test.

Rules (``silent_ms`` is ``config.sensor_silent_s``; "good reading" is a stored
Reading, a failed read cycle is ``None``):

Sensor alert
  ON when no good reading has arrived for ``silent_ms`` (``now - last_good >=
  silent_ms``); OFF on the next good reading.  The clock starts when the
  machine starts: the daemon's own downtime is not a sensor fault.

Cold alert
  *Pending run.*  A run of "below" starts at the first good reading under
  ``cold_below_c``.  It is broken by a good reading at or above
  ``cold_below_c`` (the room must have *stayed* below), or by a gap of
  ``silent_ms`` or more between consecutive good readings (we did not watch
  the room during the gap).  A failed read (``None``) inside the silent window
  neither breaks nor extends a run: DHT reads fail now and then.
  *ON* on a good reading under ``cold_below_c`` once the run spans at least
  ``min_duration_ms`` of readings (``reading.ts - run start``).  ON only ever
  happens on a fresh reading, so it is never raised on stale data.
  *OFF* on a good reading at or above ``clear_above_c`` (hysteresis: readings
  between the two levels keep it ON, so noise cannot make it flap), or when the
  data goes stale — the same ``silent_ms`` that raises the sensor alert (no
  reading for that long, or a gap that long before the next reading).  A cold
  alert kept ON on stale data would claim something nobody measured; the
  stale OFF ends the episode at the last good reading, and the sensor alert
  says why.  Once OFF, a new episode again needs a full fresh run.

A reading stamped before the previous one (the wall clock stepped back) is a
discontinuity like a gap: it ends an episode (as "stale") and restarts a
pending run, rather than produce negative durations.

Transitions are never closer than the rules allow: an ON needs
``min_duration_ms`` of fresh readings after the last OFF, and an OFF needs a
reading at or above ``clear_above_c`` or ``silent_ms`` of silence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from monitor.store import Reading

COLD, SENSOR = "cold", "sensor"


@dataclass(frozen=True)
class Transition:
    """An alert turning ON or OFF, with what a notification needs to say about it."""

    kind: str  # "cold" | "sensor"
    active: bool
    at_ms: int  # when the machine decided (the read cycle's now)
    since_ms: int  # cold: when the room went below; sensor: last good reading (or start)
    reason: str  # cold ON "below"; cold OFF "clear" | "stale"; sensor "silent" | "reading"
    temperature_c: float | None = None  # the reading that decided it, if any
    min_temp_c: float | None = None  # cold: lowest temperature of the episode so far
    end_ms: int | None = None  # OFF: when the episode ended (stale: last good reading)


@dataclass(frozen=True)
class ColdRules:
    cold_below_c: float = 18.0
    clear_above_c: float = 18.5
    min_duration_ms: int = 600_000
    silent_ms: int = 150_000

    def __post_init__(self):
        if self.clear_above_c < self.cold_below_c:
            raise ValueError("clear_above_c must be at or above cold_below_c")
        if self.min_duration_ms < 0 or self.silent_ms <= 0:
            raise ValueError("min_duration_ms must be >= 0 and silent_ms > 0")

    @classmethod
    def from_config(cls, config) -> ColdRules:
        a = config.alerts
        return cls(
            cold_below_c=a.cold_below_c,
            clear_above_c=a.clear_above_c,
            min_duration_ms=round(a.min_duration_s * 1000),
            silent_ms=round(config.sensor_silent_s * 1000),
        )


@dataclass(frozen=True)
class ColdState:
    active: bool = False
    run_start_ms: int | None = None  # first reading of the current below-run (or episode start)
    run_min_c: float | None = None  # lowest temperature of the run / episode
    last_good_ms: int | None = None  # newest good reading seen


def _stale(state: ColdState, rules: ColdRules, instant: int) -> bool:
    return state.last_good_ms is not None and instant - state.last_good_ms >= rules.silent_ms


def cold_step(
    state: ColdState, reading: Reading | None, now_ms: int, rules: ColdRules
) -> tuple[ColdState, tuple[Transition, ...]]:
    """One read cycle of the cold alert (see the module docstring for the rules)."""
    out: list[Transition] = []
    # 1. Staleness: a silence before this cycle (or before this reading) ends an episode
    #    and breaks a pending run.
    gap = (
        reading is not None
        and state.last_good_ms is not None
        and (
            reading.ts_ms - state.last_good_ms >= rules.silent_ms
            or reading.ts_ms < state.last_good_ms
        )
    )
    if gap or _stale(state, rules, now_ms):
        if state.active:
            out.append(
                Transition(
                    COLD,
                    False,
                    now_ms,
                    since_ms=state.run_start_ms,
                    reason="stale",
                    min_temp_c=state.run_min_c,
                    end_ms=state.last_good_ms,
                )
            )
        state = replace(state, active=False, run_start_ms=None, run_min_c=None)
    if reading is None:
        return state, tuple(out)

    t, temp = reading.ts_ms, reading.temperature_c
    state = replace(state, last_good_ms=t)
    if state.active:
        if temp >= rules.clear_above_c:
            out.append(
                Transition(
                    COLD,
                    False,
                    now_ms,
                    since_ms=state.run_start_ms,
                    reason="clear",
                    temperature_c=temp,
                    min_temp_c=state.run_min_c,
                    end_ms=t,
                )
            )
            return replace(state, active=False, run_start_ms=None, run_min_c=None), tuple(out)
        return replace(state, run_min_c=min(state.run_min_c, temp)), tuple(out)

    if temp >= rules.cold_below_c:
        return replace(state, run_start_ms=None, run_min_c=None), tuple(out)
    if state.run_start_ms is None:
        state = replace(state, run_start_ms=t, run_min_c=temp)
    else:
        state = replace(state, run_min_c=min(state.run_min_c, temp))
    if t - state.run_start_ms >= rules.min_duration_ms:
        state = replace(state, active=True)
        out.append(
            Transition(
                COLD,
                True,
                now_ms,
                since_ms=state.run_start_ms,
                reason="below",
                temperature_c=temp,
                min_temp_c=state.run_min_c,
            )
        )
    return state, tuple(out)


@dataclass(frozen=True)
class SensorState:
    last_good_ms: int  # newest good reading, or when watching started
    active: bool = False


def sensor_step(
    state: SensorState, reading: Reading | None, now_ms: int, silent_ms: int
) -> tuple[SensorState, tuple[Transition, ...]]:
    """One read cycle of the silent-sensor alert."""
    if reading is not None:
        new = SensorState(last_good_ms=max(state.last_good_ms, reading.ts_ms), active=False)
        if state.active:
            t = Transition(
                SENSOR,
                False,
                now_ms,
                since_ms=state.last_good_ms,
                reason="reading",
                temperature_c=reading.temperature_c,
                end_ms=reading.ts_ms,
            )
            return new, (t,)
        return new, ()
    if not state.active and now_ms - state.last_good_ms >= silent_ms:
        t = Transition(SENSOR, True, now_ms, since_ms=state.last_good_ms, reason="silent")
        return replace(state, active=True), (t,)
    return state, ()


class AlertMachines:
    """Both machines together, holding their current state (the component's pure core)."""

    def __init__(
        self,
        rules: ColdRules,
        start_ms: int,
        cold: ColdState | None = None,
        sensor: SensorState | None = None,
    ):
        self.rules = rules
        self.cold = cold or ColdState()
        self.sensor = sensor or SensorState(last_good_ms=start_ms)

    def step(self, reading: Reading | None, now_ms: int) -> tuple[Transition, ...]:
        self.cold, cold = cold_step(self.cold, reading, now_ms, self.rules)
        self.sensor, sensor = sensor_step(self.sensor, reading, now_ms, self.rules.silent_ms)
        return sensor + cold if any(t.active for t in sensor) else cold + sensor
