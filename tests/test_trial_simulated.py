"""Whole simulated trials with the injected clock: the announcer, the store, the masked
views and the report, night by night, from real stored readings and cramps."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from monitor.clock import FakeClock
from monitor.mqtt.payloads import parse_trial_tonight
from monitor.store import Reading
from monitor.trial import design, service, stats
from monitor.trial.design import Protocol, TrialRequestError
from tests.trial_support import (
    FIRST,
    NODE,
    Announcer,
    Script,
    add_cramp,
    fill_night,
    local_ms,
    orders_for,
)

ARMS = ["usual", "warm", "warm", "usual", "usual", "warm", "warm", "usual"] * 2  # 16 nights
NONE = b'{"arm":"none"}'


def night_plan(arm: str, pair: int) -> tuple[float, float, bool]:
    """(night minimum, coverage, cramp) of each simulated night.

    pair 0, 1, 3: a cramp on the usual night only, both nights kept to plan
    pair 2: the same, but the warm night only reached 18.2 °C (not kept)
    pair 4: no cramp; pair 5: usual-night cramp, the sensor covered half that night
    pair 6: a cramp on the warm night only, the usual night was warm (19.3 °C, not kept)
    pair 7: cramps on both nights
    """
    if arm == "warm":
        temp = 18.2 if pair == 2 else 19.6
        return temp, 1.0, pair in (6, 7)
    temp = 19.3 if pair == 6 else 17.0
    return temp, 0.5 if pair == 5 else 1.0, pair not in (4, 6)


@pytest.fixture
def trial_setup(make_config, store):
    _, config = make_config()
    clock = FakeClock(local_ms(FIRST, "10:00"))
    service.start_trial(
        store, config, clock.now_ms(), nights=len(ARMS), rng=Script(orders_for(ARMS))
    )
    loaded = service.load(store, NODE)
    assert loaded.arms == ARMS
    return config, clock, loaded


def test_a_whole_trial_night_by_night(trial_setup, store, caplog):
    config, clock, loaded = trial_setup
    p = loaded.protocol
    caplog.set_level(logging.DEBUG)
    announcer = Announcer(config, store, clock)
    announcer.start()
    assert announcer.last() == NONE  # planned: nothing to announce yet
    for i, (night, arm) in enumerate(zip(p.dates(), ARMS, strict=True)):
        at = p.announce_ms(night)
        clock.set_wall(at - 60_000)
        announcer.cycle()
        shown = service.show(loaded, clock.now_ms())
        assert [s["arm"] for s in shown["schedule"]] == ARMS[:i] + [None] * (16 - i)
        assert shown["status"] == ("planned" if i == 0 else "running")
        before = announcer.payloads()
        clock.set_wall(at)
        announcer.cycle()
        message = parse_trial_tonight(announcer.last())
        assert message == {"night": night.isoformat(), "arm": arm, "warm_min_c": 19.0}
        assert len(announcer.payloads()) == len(before) + 1  # published once, on change
        stored = store.trial_announcements(loaded.trial.id)
        assert stored[-1].night == night.isoformat() and stored[-1].arm == arm
        assert stored[-1].announced_ms == at  # stored when announced (store first, then tell)
        assert f"night of {night.isoformat()} is a {arm} night" in caplog.text
        for later in p.dates()[i + 1 :]:
            assert later.isoformat() not in caplog.text  # no future night in the logs
        # The night happens: the room and the cramps, as the sensor and button store them.
        temp, coverage, cramp = night_plan(arm, i // 2)
        fill_night(store, p, night, temp, coverage)
        if cramp:
            add_cramp(store, p, night)
        clock.set_wall(p.window(night)[1] + 60_000)
        announcer.cycle()
        report = service.report(store, loaded, clock.now_ms())
        assert report["pairs"] == (i + 1) // 2  # a pair counts once both nights ended
        if i < 15:
            assert report["verdict"] == "too-early" and report["status"] == "running"
            assert parse_trial_tonight(announcer.last())["night"] == night.isoformat()
    assert announcer.last() == NONE  # finished
    assert len(store.trial_announcements(loaded.trial.id)) == 16
    shown = service.show(loaded, clock.now_ms())
    assert shown["status"] == "finished" and shown["salt"] == loaded.trial.salt
    schedule = [(s["night"], s["arm"]) for s in shown["schedule"]]
    assert design.verify(shown["commitment"], shown["salt"], schedule)
    report = service.report(store, loaded, clock.now_ms())
    # b = pairs 0, 1, 2, 3, 5; c = pair 6; both = pair 7; neither = pair 4.
    # mid-p = 2·(C(6,0) + C(6,1)/2)/2^6 = 8/64; exact p = 2·(C(6,0)+C(6,1))/2^6 = 14/64.
    assert {k: report[k] for k in ("pairs", "usual_only", "warm_only", "both", "neither")} == {
        "pairs": 8,
        "usual_only": 5,
        "warm_only": 1,
        "both": 1,
        "neither": 1,
    }
    assert report["p"] == pytest.approx(8 / 64) and report["p_exact"] == pytest.approx(14 / 64)
    assert report["odds_ratio"] == 5.0
    assert report["verdict"] == "no-difference"
    assert report["adherence"] == {"warm": [7, 8], "usual": [6, 8]}
    pp = report["per_protocol"]  # pairs 0, 1, 3 (b), 4 (neither), 7 (both)
    assert (pp["pairs"], pp["usual_only"], pp["warm_only"]) == (5, 3, 0)
    assert pp["p"] == pytest.approx(1 / 8) and pp["p_exact"] == pytest.approx(2 / 8)
    assert pp["odds_ratio"] is None
    assert pp["ci_low"] == pytest.approx((0.025 ** (1 / 3)) / (1 - 0.025 ** (1 / 3)))
    json.dumps(report, allow_nan=False)  # strict JSON


def test_a_restart_mid_trial_republishes_the_stored_arm(trial_setup, store):
    config, clock, loaded = trial_setup
    night = loaded.protocol.dates()[3]
    clock.set_wall(loaded.protocol.announce_ms(night) + 5 * 60_000)
    first = Announcer(config, store, clock)
    first.start()
    (announcement,) = [
        a for a in store.trial_announcements(loaded.trial.id) if a.night == night.isoformat()
    ]
    clock.advance(4 * 3600)  # the daemon restarts at 23:05, mid-night
    second = Announcer(config, store, clock)
    second.start()
    assert second.last() == first.last()
    assert parse_trial_tonight(second.last())["arm"] == ARMS[3]
    again = [a for a in store.trial_announcements(loaded.trial.id) if a.night == night.isoformat()]
    assert again == [announcement]  # the first announcement is the one kept


def test_an_announcement_missed_while_the_daemon_was_down(trial_setup, store):
    config, clock, loaded = trial_setup
    dates = loaded.protocol.dates()
    # Down from before night 0's announce time until the next morning.
    clock.set_wall(loaded.protocol.window(dates[0])[1] + 3_600_000)
    announcer = Announcer(config, store, clock)
    announcer.start()
    # The standing arm is still published, but no announcement is recorded after the fact.
    assert parse_trial_tonight(announcer.last()) == {
        "night": dates[0].isoformat(),
        "arm": ARMS[0],
        "warm_min_c": 19.0,
    }
    assert store.trial_announcements(loaded.trial.id) == []


def test_stopping_early_gives_no_verdict_and_reveals_the_schedule(trial_setup, store):
    config, clock, loaded = trial_setup
    p = loaded.protocol
    dates = p.dates()
    announcer = Announcer(config, store, clock)
    announcer.start()
    for i in range(3):
        fill_night(store, p, dates[i], 17.0 if ARMS[i] == "usual" else 19.6)
        add_cramp(store, p, dates[i])
    clock.set_wall(p.announce_ms(dates[2]) + 3_600_000)  # 19:00, night 2 announced
    announcer.cycle()
    assert parse_trial_tonight(announcer.last())["night"] == dates[2].isoformat()
    stopped = service.stop_trial(store, NODE, clock.now_ms(), "  caught   the flu ")
    assert stopped.trial.stop_reason == "caught the flu"
    announcer.cycle()
    assert announcer.last() == NONE
    with pytest.raises(TrialRequestError, match="no trial"):
        service.stop_trial(store, NODE, clock.now_ms(), "again")
    # Data for later nights does not count: they were never announced.
    for i in range(3, 6):
        fill_night(store, p, dates[i], 17.0)
        add_cramp(store, p, dates[i])
    clock.set_wall(p.window(dates[5])[1] + 1)
    shown = service.show(loaded_again := service.load(store, NODE), clock.now_ms())
    assert shown["status"] == "stopped" and shown["salt"] is not None
    assert [s["arm"] for s in shown["schedule"]] == ARMS
    report = service.report(store, loaded_again, clock.now_ms())
    assert report["verdict"] == "stopped-early" and report["status"] == "stopped"
    assert report["pairs"] == 1  # pair 0; pair 1's second night came after the stop
    assert report["both"] == 1
    assert report["adherence"] == {"warm": [2, 2], "usual": [1, 1]}
    assert "stopped early (caught the flu)" in report["summary"]
    assert "no verdict" in report["summary"]
    # A new trial may start now.
    service.start_trial(store, config, clock.now_ms(), nights=12)


@pytest.mark.parametrize(
    ("arm", "minimum", "coverage", "kept"),
    [
        ("warm", 18.5, 1.0, True),  # warm_min_c - 0.5 exactly
        ("warm", 18.49, 1.0, False),
        ("warm", 21.0, 0.79, False),  # too few readings to say
        ("usual", 18.99, 1.0, True),
        ("usual", 19.0, 1.0, False),  # at warm_min_c: not a usual night
        ("usual", 16.0, 0.8, True),  # coverage 0.8 is enough
    ],
)
def test_adherence_from_stored_readings(trial_setup, store, arm, minimum, coverage, kept):
    _config, clock, loaded = trial_setup
    p = loaded.protocol
    i = ARMS.index(arm)
    night = p.dates()[i]
    fill_night(store, p, night, minimum + 1.0, coverage)
    # One dip to the minimum in the middle of the night.
    start, _ = p.window(night)
    store.add_readings(NODE, [Reading(start + 3 * 3_600_000 + 1, minimum, 50.0)])
    clock.set_wall(p.window(night)[1] - 1)
    assert service.report(store, loaded, clock.now_ms())["adherence"][arm] == [0, 0]  # not ended
    clock.set_wall(p.window(night)[1])
    rows = service.adherence_rows(store, loaded, clock.now_ms())
    assert rows[i]["adhered"] is kept and rows[i]["min_temp_c"] == minimum
    assert service.report(store, loaded, clock.now_ms())["adherence"][arm] == [int(kept), 1]


def test_start_refuses_what_cannot_be_a_trial(make_config, store):
    _, config = make_config()
    now = local_ms(FIRST, "18:30")  # tonight's announce time has passed
    trial = service.start_trial(store, config, now, nights=12)
    assert trial.first_night == (FIRST + timedelta(days=1)).isoformat()
    with pytest.raises(TrialRequestError, match="already"):
        service.start_trial(store, config, now, nights=12)
    service.stop_trial(store, NODE, now, "test")
    for kwargs, words in (
        ({"nights": 13}, "even"),
        ({"nights": 10}, "fewer than 12 nights can never reach p < 0.05"),
        ({"nights": 12, "first_night": FIRST}, "has passed"),
        ({"nights": 12, "warm_min_c": 35.0}, "from 10 to 30"),
    ):
        with pytest.raises(TrialRequestError, match=words):
            service.start_trial(store, config, now, **kwargs)


def test_the_plan_shows_baseline_power_and_warnings(store):
    params = Protocol(FIRST, 8, 19.0, timezone="Europe/Berlin").night_params()
    history = Protocol(FIRST - timedelta(days=30), 30, 19.0, timezone="Europe/Berlin")
    for k, night in enumerate(history.dates()):
        fill_night(store, history, night, 19.5 if k % 3 else 17.5)  # warm 2 nights in 3
        if k % 5 == 0:
            add_cramp(store, history, night)
    now = local_ms(FIRST, "10:00")
    base = service.baseline(store, NODE, params, now, 19.0)
    assert base["nights"] == 30 and base["cramp_nights"] == 6
    assert base["cramp_rate"] == pytest.approx(0.2)
    assert base["warm_nights"] == 20 and base["median_min_c"] == 19.5
    fig = service.plan_figures(base, 56)
    assert not fig["assumed_rate"] and fig["usual_rate"] == pytest.approx(0.2)
    assert fig["effects"][0]["power"] == pytest.approx(stats.power(28, 0.2, 0.1))
    assert any("already at or above 19" in w for w in fig["warnings"])
    # The start screen's chance of a firm answer, and the confirmation below 50%.
    assert fig["chance"] == stats.plan_power(56, 0.2) and fig["confirm"] is True
    assert service.plan_figures(base, 366)["confirm"] is False
    small = service.plan_figures(base, 8)  # refused at the start; the figures still say why
    assert any("no result can reach p < 0.05" in w for w in small["warnings"])
    empty = service.plan_figures(service.baseline(store, "nobody", params, now, 19.0), 56)
    assert empty["assumed_rate"] and empty["usual_rate"] == 0.3
    assert any("assume cramps on 30%" in w for w in empty["warnings"])
