"""Simulated people whose truth is known: how often does the verdict mislead?

Each person has a bedroom that is colder in winter (the nightly weather from
monitor.sensing.simroom on top of a seasonal swing of 1-3 °C) and cramp nights from a
model we choose: a cause that follows the calendar (peaking in summer or in winter) and
has nothing to do with the room, or a true room effect of so much per °C colder. About
8 % of nights are lost (not valid). The verdict is the product's own code
(monitor.analysis.stats.sequential and verdict) at each planned look, on exactly the
first N valid nights; nothing else is fitted, since the verdict only changes at looks.

    PYTHONPATH=. python -m tests.simulation   # the figures in docs/evidence.md

tests/test_analysis_simulation.py runs a smaller seeded sample of the same people.
"""

from __future__ import annotations

import argparse
import math
import random
import time
import warnings
from dataclasses import dataclass
from datetime import date, timedelta

from monitor.analysis.stats import LookPlan, logistic, sequential, verdict
from monitor.nights import NightSummary
from monitor.sensing.simroom import night_offset_c

SUMMER, WINTER = 196, 15  # day of the year a seasonal cause peaks (mid-July, mid-January)


@dataclass(frozen=True)
class Scenario:
    name: str
    peak_day: int | None = None  # a seasonal cause of cramps, unrelated to the room
    season_logit: float = 1.0  # its swing in log odds (+-), so winter/summer odds x7
    room_or: float = 1.0  # the true odds ratio per °C colder (1: the room does nothing)


SUMMER_CAUSE = Scenario("summer-peaking cause, no room effect", SUMMER)
WINTER_CAUSE = Scenario("winter-peaking cause, no room effect", WINTER)
ROOM_X2 = Scenario("room effect x2 per °C colder", room_or=2.0, season_logit=0.0)
ROOM_X15 = Scenario("room effect x1.5 per °C colder", room_or=1.5, season_logit=0.0)
ROOM_X13 = Scenario("room effect x1.3 per °C colder", room_or=1.3, season_logit=0.0)


SCENARIOS = {
    "summer": SUMMER_CAUSE,
    "winter": WINTER_CAUSE,
    "x2": ROOM_X2,
    "x15": ROOM_X15,
    "x13": ROOM_X13,
}


def _night(d: date, min_temp: float, cramp: bool) -> NightSummary:
    return NightSummary(
        night=d,
        start_ms=0,
        end_ms=0,
        n_readings=144,
        coverage=1.0,
        valid=True,
        min_temp_c=min_temp,
        mean_temp_c=min_temp + 1.0,
        mean_humidity_pct=50.0,
        cramps=int(cramp),
        finished=True,
        cold_below_c=18.0,
    )


def person(scenario: Scenario, index: int, n_valid: int, seed: int) -> list[NightSummary]:
    """The first n_valid valid nights of one simulated person, in date order."""
    rng = random.Random(f"{seed}:{scenario.name}:{index}")
    first = date(2024, 1, 1) + timedelta(days=rng.randrange(365))
    room_seed = rng.randrange(1_000_000)
    winter_drop = rng.uniform(1.0, 3.0)  # how much colder the bedroom is in mid-January
    base = rng.uniform(-2.3, -1.3)  # log odds of a cramp night (about 9-21 % of nights)
    beta = math.log(scenario.room_or)
    out: list[NightSummary] = []
    d = first
    while len(out) < n_valid:
        day = d.timetuple().tm_yday
        winter = math.cos(2 * math.pi * (day - WINTER) / 365.25)
        # simroom's night minimum: 20.6 °C less the night's depth, plus the seasonal swing.
        lowest = 20.6 - max(0.4, 2.4 - night_offset_c(d, room_seed)) - winter_drop * winter
        lowest = round(lowest + rng.gauss(0, 0.1), 2)
        z = base + beta * (18.2 - lowest)
        if scenario.peak_day is not None:
            z += scenario.season_logit * math.cos(2 * math.pi * (day - scenario.peak_day) / 365.25)
        cramp = rng.random() < 1 / (1 + math.exp(-z))
        if rng.random() < 0.92:  # about 8 % of nights are lost (coverage below 80 %)
            out.append(_night(d, lowest, cramp))
        d += timedelta(days=1)
    return out


def verdicts(nights: list[NightSummary], plan: LookPlan, upto: int | None = None) -> dict:
    """The verdict at each planned look (up to `upto` nights), from exactly the first N."""
    out = {}
    for need in plan.looks:
        if need > len(nights) or (upto is not None and need > upto):
            break
        out[need] = verdict(sequential(nights[:need], plan))
    return out


@dataclass
class Tally:
    people: int = 0
    firm: dict | None = None  # look -> people with a firm (supports/contradicts) verdict
    ever: int = 0  # people who saw a firm verdict at some look
    ever_supports: int = 0  # ... `supports` at some look (the false answer for a winter cause)
    ever_contradicts: int = 0  # ... `contradicts` at some look
    ever_first_year: int = 0  # ... at a look up to 365 nights
    supports: dict | None = None  # look -> people with `supports`
    crude_firm_365: int = 0  # version 1: crude logistic interval leaving 1 at 365 nights


def run(
    scenario: Scenario,
    people: int,
    seed: int,
    plan: LookPlan,
    upto: int | None = None,
    first: int = 0,
):
    """Tally people first .. first + people - 1 (each person is seeded by its index, so
    runs over disjoint ranges add up to one larger run)."""
    tally = Tally(firm={}, supports={})
    for i in range(first, first + people):
        nights = person(scenario, i, upto or plan.looks[-1], seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = verdicts(nights, plan, upto)
            crude = logistic(nights[:365]) if len(nights) >= 365 else None
        tally.people += 1
        firm = [n for n, v in got.items() if v in ("supports", "contradicts")]
        for n, v in got.items():
            tally.firm[n] = tally.firm.get(n, 0) + (v in ("supports", "contradicts"))
            tally.supports[n] = tally.supports.get(n, 0) + (v == "supports")
        tally.ever += bool(firm)
        tally.ever_supports += "supports" in got.values()
        tally.ever_contradicts += "contradicts" in got.values()
        tally.ever_first_year += any(n <= 365 for n in firm)
        if crude and (crude["ci_low"] > 1 or crude["ci_high"] < 1):
            tally.crude_firm_365 += 1
    return tally


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    z = 1.959963984540054
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return mid - half, mid + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1000, help="per no-effect scenario")
    ap.add_argument("--effect-people", type=int, default=300, help="per room-effect scenario")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--first", type=int, default=0, help="index of the first person")
    ap.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, of {', '.join(SCENARIOS)}",
    )
    args = ap.parse_args()
    plan = LookPlan()
    for name in args.scenarios.split(","):
        scenario = SCENARIOS[name]
        t0 = time.perf_counter()
        people = args.effect_people if scenario.room_or != 1 else args.people
        t = run(scenario, people, args.seed, plan, first=args.first)
        lo, hi = wilson(t.ever, t.people)
        print(f"{scenario.name}: {t.people} people, {time.perf_counter() - t0:.0f} s")
        print(
            f"  firm verdict at some look up to 1095 nights: {t.ever / t.people:.1%}"
            f" (95% CI {lo:.1%}-{hi:.1%}); up to 365 nights: {t.ever_first_year / t.people:.1%}"
        )
        for word, k in (("supports", t.ever_supports), ("contradicts", t.ever_contradicts)):
            lo, hi = wilson(k, t.people)
            print(f"  {word} at some look: {k} = {k / t.people:.1%} (95% CI {lo:.1%}-{hi:.1%})")
        print(
            "  per look, firm / supports: "
            + ", ".join(
                f"{n}: {t.firm[n] / t.people:.1%} / {t.supports[n] / t.people:.1%}"
                for n in sorted(t.firm)
            )
        )
        print(
            f"  crude logistic interval leaving 1 at 365 nights: {t.crude_firm_365 / t.people:.1%}"
        )
        print(f"  counts: people {args.first}..{args.first + t.people - 1}: {vars(t)}", flush=True)


if __name__ == "__main__":
    main()
