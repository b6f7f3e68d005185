"""Seeded simulated people whose truth is known (tests/simulation.py): how often the verdict
misleads when only the season causes cramps, and how often it finds a real room effect.

A subsample of the run whose figures docs/evidence.md quotes (same generator and seed).
Only the looks are fitted, since the verdict changes nowhere else.
"""

from __future__ import annotations

import pytest

from monitor.analysis.stats import LookPlan
from tests.simulation import ROOM_X2, SUMMER_CAUSE, WINTER_CAUSE, run

pytestmark = pytest.mark.slow

SEED = 2026
PLAN = LookPlan()


@pytest.mark.parametrize(
    ("scenario", "people"), [(SUMMER_CAUSE, 100), (WINTER_CAUSE, 200)], ids=["summer", "winter"]
)
def test_a_seasonal_cause_without_room_effect_rarely_gives_a_verdict(scenario, people):
    tally = run(scenario, people, SEED, PLAN)
    # A firm verdict (supports or contradicts) at any of the five looks, up to 1095 nights:
    # at or under the nominal 5 % overall and 2.5 % in each direction.  With whole-month
    # strata (version 2) a winter-peaking cause gave "supports" about twice as often.
    assert tally.ever / tally.people <= 0.05
    assert tally.ever_supports / tally.people <= 0.025
    assert tally.ever_contradicts / tally.people <= 0.025
    # The same people fool the crude night-level regression (version 1's verdict).
    assert tally.crude_firm_365 / tally.people >= 0.5


def test_a_true_effect_of_x2_per_degree_is_found_at_400_nights():
    tally = run(ROOM_X2, 60, SEED, PLAN, upto=400)
    # The verdict at 400 valid nights is the one of the 365-night look.
    assert tally.supports[365] / tally.people >= 0.8
