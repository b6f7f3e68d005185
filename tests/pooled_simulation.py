"""Simulated studies whose truth is known: does the pooled answer find a real room effect
in weeks, and stay quiet when only the season causes cramps?

Each study is 20 people (tests/simulation.py's generator: a bedroom colder in winter,
cramp nights from a chosen model) with 120 valid nights each, starting on days spread over
a year; the verdict is the product's own pooled code at the study's current look.

    PYTHONPATH=. python -m tests.pooled_simulation   # the figures in docs/evidence.md
"""

from __future__ import annotations

import argparse
import time

from monitor.analysis.pooled import Person, pooled_report
from monitor.config import DEFAULT_LOOK_ALPHA
from tests.simulation import ROOM_X15, WINTER_CAUSE, Scenario, person, wilson


def study(scenario: Scenario, index: int, people: int = 20, nights: int = 120, seed: int = 7):
    """One simulated study's pooled report."""
    who = [
        Person(f"s{index}p{i:02d}", tuple(person(scenario, index * 1000 + i, nights, seed)))
        for i in range(people)
    ]
    return pooled_report(who, [], as_of="2026-12-07T00:00:00.000Z", alpha=DEFAULT_LOOK_ALPHA)


def tally(scenario: Scenario, studies: int, **kw) -> dict[str, int]:
    out = {"supports": 0, "contradicts": 0, "inconclusive": 0, "insufficient-data": 0}
    for i in range(studies):
        out[study(scenario, i, **kw)["verdict"]] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=1000)
    args = ap.parse_args()
    for scenario in (ROOM_X15, WINTER_CAUSE):
        t0 = time.perf_counter()
        t = tally(scenario, args.studies)
        n = args.studies
        print(
            f"{scenario.name}: {n} studies of 20 people x 120 nights, "
            f"{time.perf_counter() - t0:.0f} s"
        )
        for verdict, k in t.items():
            lo, hi = wilson(k, n)
            print(f"  {verdict:18} {k / n:6.1%}  (95% CI {lo:.1%}-{hi:.1%})")


if __name__ == "__main__":
    main()
