"""Seeded simulated studies (tests/pooled_simulation.py): 20 people x 120 nights each."""

from __future__ import annotations

import pytest

from tests.pooled_simulation import tally
from tests.simulation import ROOM_X15, WINTER_CAUSE

pytestmark = pytest.mark.slow


def test_twenty_people_with_a_true_x15_effect_get_supports_in_weeks():
    t = tally(ROOM_X15, 50)
    assert t["supports"] / 50 >= 0.8


def test_twenty_people_with_a_winter_peaking_cause_rarely_get_a_firm_answer():
    t = tally(WINTER_CAUSE, 50)
    assert (t["supports"] + t["contradicts"]) / 50 <= 0.05
