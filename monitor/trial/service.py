"""The trial joined to the store and the night windows: what the CLI, the web and the
daemon call.  Every view of a schedule here is masked (design.visible_schedule,
design.tonight); the unmasked one never leaves this module except into the report
of a trial's past nights.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from monitor import nights as nights_mod
from monitor.clock import iso_utc
from monitor.config import Config
from monitor.store import Store, StoredTrial, TrialConflict
from monitor.trial import design, stats
from monitor.trial.design import Protocol, TrialRequestError
from monitor.trial.report import NightOutcome, adheres, build_report

BASELINE_NIGHTS = 60  # the nights before the start that describe the person's baseline
BASELINE_MIN_VALID = 14  # fewer valid nights than this: no baseline rate is used
ASSUMED_CRAMP_RATE = 0.3  # the cramp-night rate assumed without a baseline
# Effects shown before the start: the warm-night cramp rate as a share of the usual one.
EFFECTS = ((0.5, "halve cramp nights"), (2 / 3, "cut cramp nights by a third"))
POWER_LENGTHS = (28, 56, 84, 112)  # nights, for the page's table
TARGET_POWER = 0.8  # "nights needed": the first length with this chance
CONFIRM_BELOW = 0.5  # a plan with less chance of a firm answer asks to confirm


@dataclass(frozen=True)
class Loaded:
    trial: StoredTrial
    protocol: Protocol
    arms: list[str]  # the whole schedule: never shown as such (mask with design)

    @property
    def stopped_ms(self) -> int | None:
        return self.trial.stopped_ms

    def status(self, now_ms: int) -> str:
        return design.status(self.protocol, now_ms, self.trial.stopped_ms)


def protocol_of(trial: StoredTrial) -> Protocol:
    return Protocol(
        first_night=date.fromisoformat(trial.first_night),
        nights=trial.nights,
        warm_min_c=trial.warm_min_c,
        announce_at=trial.announce_at,
        timezone=trial.timezone,
        night_start=trial.night_start,
        night_end=trial.night_end,
        min_coverage=trial.min_coverage,
    )


def load(store: Store, node: str) -> Loaded | None:
    """The node's newest trial, or None."""
    trial = store.latest_trial(node)
    if trial is None:
        return None
    schedule = store.trial_schedule(trial.id)
    protocol = protocol_of(trial)
    if [n for n, _ in schedule] != [d.isoformat() for d in protocol.dates()]:
        raise ValueError(f"trial {trial.id}: the stored schedule does not match its nights")
    return Loaded(trial, protocol, [arm for _, arm in schedule])


# -- before the start: baseline and power ---------------------------------------------------


def baseline(
    store: Store, node: str, params: nights_mod.NightParams, now_ms: int, warm_min_c: float
) -> dict:
    """The person's last nights: how often a cramp, how cold, how often already warm."""
    recent = nights_mod.list_nights(store, node, params, now_ms, limit=BASELINE_NIGHTS + 1)
    valid = [s for s in recent if s.finished and s.valid][:BASELINE_NIGHTS]
    n = len(valid)
    cramp = sum(1 for s in valid if s.cramp_night)
    minima = [s.min_temp_c for s in valid if s.min_temp_c is not None]
    warm = sum(1 for m in minima if m >= warm_min_c)
    return {
        "nights": n,
        "cramp_nights": cramp,
        "cramp_rate": cramp / n if n else None,
        "median_min_c": statistics.median(minima) if minima else None,
        "warm_nights": warm,
        "warm_share": warm / n if n else None,
        "warm_min_c": float(warm_min_c),
    }


def plan_figures(base: dict, nights: int) -> dict:
    """What the person sees before starting: the rate used, the exact power, warnings."""
    rate = base.get("cramp_rate")
    assumed = not (base.get("nights", 0) >= BASELINE_MIN_VALID and rate and 0 < rate < 1)
    p_usual = ASSUMED_CRAMP_RATE if assumed else rate
    effects = []
    for ratio, words in EFFECTS:
        p_warm = p_usual * ratio
        enough = stats.pairs_for_power(TARGET_POWER, p_usual, p_warm)
        effects.append(
            {
                "effect": words,
                "warm_rate": p_warm,
                "power": stats.power(nights // 2, p_usual, p_warm),
                "nights_for_target": None if enough is None else 2 * enough,
                "by_length": [
                    {"nights": length, "power": stats.power(length // 2, p_usual, p_warm)}
                    for length in POWER_LENGTHS
                ],
            }
        )
    warnings = []
    if stats.rejection_start(nights // 2) is None:  # refused by design.check_nights too
        warnings.append(
            f"With {nights} nights ({nights // 2} pairs) no result can reach p < 0.05, even"
            " with cramps on every usual night and none on a warm one: plan at least"
            f" {design.MIN_NIGHTS} nights."
        )
    if base.get("warm_share") is not None and base["warm_share"] > 0.5:
        warnings.append(
            f"The room was already at or above {base['warm_min_c']:g} °C on"
            f" {base['warm_nights']} of your last {base['nights']} valid nights: usual nights"
            " would be as warm as warm ones, and the trial could not tell them apart. Let"
            " the room cool on usual nights, or raise the warm minimum."
        )
    if assumed:
        warnings.append(
            f"Too few recorded nights to know your own cramp rate (fewer than"
            f" {BASELINE_MIN_VALID} valid nights, or none or all with cramps): the chances"
            f" below assume cramps on {ASSUMED_CRAMP_RATE:.0%} of nights."
        )
    elif p_usual < 0.15:
        warnings.append(
            f"Cramps came on only {p_usual:.0%} of your recent nights: a trial needs many"
            " nights before enough pairs differ."
        )
    chance = stats.plan_power(nights, p_usual)
    return {
        "nights": nights,
        "pairs": nights // 2,
        # The chance of a firm answer ("warm helped") if warm nights halve the cramp
        # nights: below CONFIRM_BELOW the start asks once more.
        "chance": chance,
        "confirm": chance < CONFIRM_BELOW,
        "target_power": TARGET_POWER,
        "usual_rate": p_usual,
        "assumed_rate": assumed,
        "effects": effects,
        "warnings": warnings,
    }


# -- start and stop ---------------------------------------------------------------------------


def start_trial(
    store: Store,
    config: Config,
    now_ms: int,
    *,
    nights: int,
    first_night: date | None = None,
    warm_min_c: float | None = None,
    node: str | None = None,
    rng=None,
) -> StoredTrial:
    """Draw and store a new trial (one commit); TrialRequestError with the reason."""
    node = node or config.node.id
    design.check_nights(nights)
    warm = config.trial.warm_min_c if warm_min_c is None else warm_min_c
    design.check_warm_min(warm)
    tz, announce_at = config.node.timezone, config.trial.announce_at
    first = design.choose_first_night(now_ms, tz, announce_at, first_night)
    a = config.analysis
    protocol = Protocol(
        first_night=first,
        nights=nights,
        warm_min_c=float(warm),
        announce_at=announce_at,
        timezone=tz,
        night_start=a.night_start,
        night_end=a.night_end,
        min_coverage=a.min_coverage,
    )
    base = baseline(store, node, protocol.night_params(), now_ms, protocol.warm_min_c)
    arms = design.draw_arms(nights, rng)
    salt = design.new_salt()
    schedule = list(zip([d.isoformat() for d in protocol.dates()], arms, strict=True))
    try:
        return store.create_trial(
            node,
            created_ms=now_ms,
            first_night=first.isoformat(),
            warm_min_c=protocol.warm_min_c,
            announce_at=announce_at,
            timezone=tz,
            night_start=protocol.night_start,
            night_end=protocol.night_end,
            min_coverage=protocol.min_coverage,
            end_ms=protocol.end_ms,
            salt=salt,
            commitment=design.commitment(salt, schedule),
            schedule=schedule,
            plan={"baseline": base, "figures": plan_figures(base, nights)},
        )
    except TrialConflict as exc:
        raise TrialRequestError(str(exc)) from None


def stop_trial(store: Store, node: str, now_ms: int, reason: str) -> Loaded:
    reason = " ".join(reason.split())
    if not reason:
        raise TrialRequestError("say why the trial stops (--reason)")
    if len(reason) > 500:
        raise TrialRequestError("the reason must be at most 500 characters")
    loaded = load(store, node)
    if loaded is None or design.is_over(loaded.status(now_ms)):
        raise TrialRequestError(f"no trial is planned or running on {node}")
    store.stop_trial(loaded.trial.id, now_ms=now_ms, reason=reason)
    return load(store, node)


# -- showing it -------------------------------------------------------------------------------


def show(loaded: Loaded, now_ms: int) -> dict:
    """`bedside trial show --json` (and /api/trial): arms only from their announce time."""
    p, t = loaded.protocol, loaded.trial
    state = loaded.status(now_ms)
    current = design.tonight(p, loaded.arms, now_ms, t.stopped_ms)
    schedule = design.visible_schedule(p, loaded.arms, now_ms, t.stopped_ms)
    return {
        "status": state,
        "first_night": p.first_night.isoformat(),
        "nights": p.nights,
        "warm_min_c": float(p.warm_min_c),
        "commitment": t.commitment,
        "salt": t.salt if design.is_over(state) else None,
        "schedule": schedule,
        # extras
        "node": t.node,
        "announce_at": p.announce_at,
        "tonight": None
        if current is None
        else {"night": current[0].isoformat(), "arm": current[1]},
        "nights_ended": sum(1 for d in p.dates() if p.window(d)[1] <= now_ms),
        "stopped_at": None if t.stopped_ms is None else iso_utc(t.stopped_ms),
        "stop_reason": t.stop_reason,
    }


def outcomes(store: Store, loaded: Loaded, now_ms: int) -> dict[date, NightOutcome]:
    """The nights of the trial that have ended (and are part of it), from stored rows."""
    p, node = loaded.protocol, loaded.trial.node
    params = p.night_params()
    out = {}
    for d in p.dates():
        if p.window(d)[1] > now_ms or not design.in_trial(p, d, loaded.stopped_ms):
            continue
        s = nights_mod.summarize(store, node, d, params, now_ms)
        out[d] = NightOutcome(d, s.finished, s.finished and s.valid, s.min_temp_c, s.cramps > 0)
    return out


def report(store: Store, loaded: Loaded, now_ms: int) -> dict:
    t = loaded.trial
    return build_report(
        loaded.protocol,
        loaded.arms,
        outcomes(store, loaded, now_ms),
        now_ms,
        t.stopped_ms,
        t.stop_reason,
    )


def adherence_rows(store: Store, loaded: Loaded, now_ms: int) -> list[dict]:
    """Announced nights of the trial, oldest first, with what the sensor says (no cramps:
    no comparison is shown before the end)."""
    p = loaded.protocol
    params = p.night_params()
    rows = []
    for d, arm in zip(p.dates(), loaded.arms, strict=True):
        if not design.revealed(p, d, now_ms, loaded.stopped_ms):
            break
        if not design.in_trial(p, d, loaded.stopped_ms):
            break
        if p.window(d)[0] > now_ms:
            state = "tonight"
            s = None
        else:
            s = nights_mod.summarize(store, loaded.trial.node, d, params, now_ms)
            state = "ended" if s.finished else "in progress"
        outcome = None
        if s is not None and s.finished:
            outcome = NightOutcome(d, True, s.valid, s.min_temp_c, s.cramps > 0)
        rows.append(
            {
                "night": d,
                "arm": arm,
                "state": state,
                "min_temp_c": s.min_temp_c if s is not None else None,
                "coverage": s.coverage if s is not None else None,
                "valid": None if outcome is None else outcome.valid,
                "adhered": None if outcome is None else adheres(arm, outcome, p.warm_min_c),
            }
        )
    return rows


def tonight_of(store: Store, node: str, now_ms: int) -> tuple[Loaded, date, str] | None:
    """The standing announcement of the node's trial (None outside a running trial)."""
    loaded = load(store, node)
    if loaded is None:
        return None
    current = design.tonight(loaded.protocol, loaded.arms, now_ms, loaded.stopped_ms)
    if current is None:
        return None
    return loaded, current[0], current[1]


def earliest_first_night(config: Config, now_ms: int) -> date:
    return design.choose_first_night(now_ms, config.node.timezone, config.trial.announce_at)


def last_night(loaded: Loaded) -> date:
    return loaded.protocol.first_night + timedelta(days=loaded.protocol.nights - 1)
