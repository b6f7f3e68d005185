"""The trial's design: pairs drawn at random, the commitment, the first night, status,
and what may be shown when (concealment) — pure functions of their inputs and time."""

from __future__ import annotations

import hashlib
import random
import secrets
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from monitor.trial import design
from monitor.trial.design import Protocol, TrialRequestError

BERLIN = "Europe/Berlin"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)


def protocol(**kw) -> Protocol:
    values = {"first_night": date(2026, 6, 10), "nights": 8, "warm_min_c": 19.0}
    values.update(kw)
    values.setdefault("timezone", BERLIN)
    return Protocol(**values)


def test_every_pair_is_one_warm_and_one_usual_night_in_a_drawn_order():
    orders = Counter()
    rng = random.Random(3)
    for _ in range(2000):
        arms = design.draw_arms(12, rng)
        pairs = [tuple(arms[i : i + 2]) for i in range(0, 12, 2)]
        assert all(sorted(p) == ["usual", "warm"] for p in pairs)
        orders.update(pairs)
    # Both orders, about equally often (12000 pairs: 6000 ± 4·55).
    assert abs(orders[("warm", "usual")] - 6000) < 220


def test_the_draw_uses_secrets_unless_handed_an_rng(monkeypatch):
    drawn = []

    class Spy(secrets.SystemRandom):
        def randrange(self, *args):
            value = super().randrange(*args)
            drawn.append(value)
            return value

    monkeypatch.setattr(design.secrets, "SystemRandom", Spy)
    arms = design.draw_arms(12)
    assert len(drawn) == 6  # one draw per pair
    assert [arms[2 * k] for k in range(6)] == ["warm" if v == 0 else "usual" for v in drawn]
    assert len(design.new_salt()) == 32 and int(design.new_salt(), 16) >= 0


@pytest.mark.parametrize("nights", [0, 6, 7, 8, 9, 10, 11, 13, 367, True, 12.0])
def test_the_number_of_nights_is_even_and_at_least_twelve(nights):
    with pytest.raises(TrialRequestError):
        design.check_nights(nights)
    design.check_nights(12)


def test_a_ten_night_trial_is_refused_with_the_reason():
    with pytest.raises(TrialRequestError) as refused:
        design.check_nights(10)
    assert "fewer than 12 nights can never reach p < 0.05" in str(refused.value)


def test_the_commitment_is_sha256_of_salt_newline_lines_and_verifies():
    schedule = [("2026-06-10", "warm"), ("2026-06-11", "usual")]
    salt = "00ff"
    expected = hashlib.sha256(b"00ff\n2026-06-10 warm\n2026-06-11 usual").hexdigest()
    assert design.commitment(salt, schedule) == expected
    assert design.verify(expected, salt, schedule)
    assert design.verify(expected.upper(), salt, schedule)
    assert not design.verify(expected, salt, [("2026-06-10", "usual"), ("2026-06-11", "warm")])
    assert not design.verify(expected, "00fe", schedule)
    dated = [(date(2026, 6, 10), "warm"), (date(2026, 6, 11), "usual")]
    assert design.commitment(salt, dated) == expected


def test_the_first_night_is_tonight_until_its_announce_time_then_tomorrow():
    before = ms("2026-06-10T17:59:59+02:00")
    at = ms("2026-06-10T18:00:00+02:00")
    assert design.choose_first_night(before, BERLIN, "18:00") == date(2026, 6, 10)
    assert design.choose_first_night(at, BERLIN, "18:00") == date(2026, 6, 11)
    # 02:00: the night in progress is yesterday's; tonight's announce time is ahead.
    assert design.choose_first_night(ms("2026-06-11T02:00:00+02:00"), BERLIN, "18:00") == date(
        2026, 6, 11
    )
    assert design.choose_first_night(before, BERLIN, "18:00", date(2026, 6, 20)) == date(
        2026, 6, 20
    )
    with pytest.raises(TrialRequestError, match="has passed"):
        design.choose_first_night(at, BERLIN, "18:00", date(2026, 6, 10))
    with pytest.raises(TrialRequestError, match="has passed"):
        design.choose_first_night(at, BERLIN, "18:00", date(2026, 6, 1))
    with pytest.raises(TrialRequestError, match="within"):
        design.choose_first_night(at, BERLIN, "18:00", date(2028, 1, 1))


def test_announce_times_and_windows_follow_local_time_across_a_clock_change():
    p = protocol(first_night=date(2026, 10, 24), nights=8)  # clocks go back on 25 Oct
    assert p.announce_ms(date(2026, 10, 24)) == ms("2026-10-24T18:00:00+02:00")
    assert p.announce_ms(date(2026, 10, 25)) == ms("2026-10-25T18:00:00+01:00")
    start, end = p.window(date(2026, 10, 24))
    assert (end - start) == 13 * 3_600_000  # 20:00 CEST to 08:00 CET
    assert p.end_ms == ms("2026-11-01T08:00:00+01:00")


def test_status_runs_planned_running_finished_or_stopped():
    p = protocol()
    first = p.announce_ms(p.first_night)
    assert design.status(p, first - 1, None) == "planned"
    assert design.status(p, first, None) == "running"
    assert design.status(p, p.end_ms - 1, None) == "running"
    assert design.status(p, p.end_ms, None) == "finished"
    assert design.status(p, first - 1, first - 5) == "stopped"


def test_an_arm_is_shown_from_its_announce_time_and_all_once_over():
    p = protocol()
    arms = ["usual", "warm", "warm", "usual", "usual", "warm", "warm", "usual"]
    dates = p.dates()
    for i, d in enumerate(dates):
        t = p.announce_ms(d)
        for now, shown in ((t - 1, i), (t, i + 1)):
            visible = design.visible_schedule(p, arms, now, None)
            assert [v["night"] for v in visible] == [x.isoformat() for x in dates]
            assert [v["arm"] for v in visible] == arms[:shown] + [None] * (8 - shown)
    over = design.visible_schedule(p, arms, p.end_ms, None)
    assert [v["arm"] for v in over] == arms
    stopped_at = p.announce_ms(dates[2]) + 60_000
    after_stop = design.visible_schedule(p, arms, stopped_at + 1, stopped_at)
    assert [v["arm"] for v in after_stop] == arms  # the salt is out: so is the schedule


def test_tonight_is_the_last_announced_night_while_the_trial_runs():
    p = protocol()
    arms = ["usual", "warm"] * 4
    dates = p.dates()
    assert design.tonight(p, arms, p.announce_ms(dates[0]) - 1, None) is None
    assert design.tonight(p, arms, p.announce_ms(dates[0]), None) == (dates[0], "usual")
    # The next morning, after night 0 ended, before night 1's announce time: still night 0.
    assert design.tonight(p, arms, p.announce_ms(dates[1]) - 1, None) == (dates[0], "usual")
    assert design.tonight(p, arms, p.announce_ms(dates[1]), None) == (dates[1], "warm")
    assert design.tonight(p, arms, p.end_ms - 1, None) == (dates[7], "warm")
    assert design.tonight(p, arms, p.end_ms, None) is None  # finished
    stop = p.announce_ms(dates[3]) + 1
    assert design.tonight(p, arms, stop + 1, stop) is None  # stopped
    assert design.next_announce_ms(p, p.announce_ms(dates[3]), None) == p.announce_ms(dates[4])
    assert design.next_announce_ms(p, 0, stop) is None


def test_after_an_early_stop_only_nights_announced_before_it_belong_to_the_trial():
    p = protocol()
    dates = p.dates()
    stop = p.announce_ms(dates[2]) + 3_600_000
    assert [design.in_trial(p, d, stop) for d in dates] == [True] * 3 + [False] * 5
    assert all(design.in_trial(p, d, None) for d in dates)
