"""The Trial page: plan (baseline, exact power, warnings), start and stop by form, follow
(tonight's arm on the Now page, adherence, no comparison), the result and its print view."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from monitor.clock import FakeClock
from monitor.store import Store
from monitor.trial import service, stats
from monitor.trial.design import Protocol
from tests.trial_support import (
    FIRST,
    NODE,
    Script,
    add_cramp,
    fill_night,
    local_ms,
    orders_for,
)
from tests.web_fixtures import csrf_of

ARMS = ["usual", "warm"] * 6  # 12 nights: the fewest a trial may have


@pytest.fixture
def history(db_path):
    """30 nights before the trial: 1 in 5 with a cramp, the room warm 2 nights in 3."""
    past = Protocol(FIRST - timedelta(days=30), 30, 19.0, timezone="Europe/Berlin")
    with Store.open(db_path) as store:
        for k, night in enumerate(past.dates()):
            fill_night(store, past, night, 19.5 if k % 3 else 17.5)
            if k % 5 == 0:
                add_cramp(store, past, night)
    return db_path


@pytest.fixture
def clock():
    return FakeClock(local_ms(FIRST, "10:00"))


@pytest.fixture
def client(app_factory, history, clock):
    return app_factory(clock=clock).test_client()


def page(client, path="/trial") -> str:
    r = client.get(path)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def start_form(client, **fields):
    return client.post("/trial/start", data={"csrf_token": csrf_of(client, "/trial"), **fields})


def test_the_plan_shows_baseline_power_and_the_warm_room_warning(client):
    html = page(client)
    assert "Your last 30 valid nights: cramps on 20% of them" in html
    assert "typical night minimum 19.5 °C" in html
    assert "already at or above 19" in html  # 20 of 30 nights were warm
    halve = f"{stats.power(28, 0.2, 0.1):.0%}"
    row = re.search(r"halve cramp nights \(20% → 10%\)</th><td>([^<]+)</td>", html)
    assert row and row.group(1) == halve
    assert 'id="trial-start"' in html and 'value="2026-06-10"' in html  # tonight, by default
    longer = page(client, "/trial?nights=84")
    row = re.search(r"halve cramp nights \(20% → 10%\)</th><td>([^<]+)</td>", longer)
    assert row.group(1) == f"{stats.power(42, 0.2, 0.1):.0%}"
    assert client.get("/trial?nights=9").status_code == 400


def test_start_and_stop_through_the_forms(client, db_path, clock):
    r = start_form(client, nights="9")
    assert r.status_code == 400 and "even" in r.get_data(as_text=True)
    r = start_form(client, nights="56", first_night="2026-06-09")
    assert r.status_code == 400 and "has passed" in r.get_data(as_text=True)
    r = start_form(client, nights="56", warm_min_c="19.5")
    assert r.status_code == 302
    with Store.open_readonly(db_path) as s:
        trial = s.latest_trial(NODE)
    assert (trial.nights, trial.warm_min_c, trial.first_night) == (56, 19.5, "2026-06-10")
    html = page(client)
    assert "Planned" in html and 'id="trial-start"' not in html  # one trial at a time
    assert trial.commitment in html
    r = start_form(client, nights="56")
    assert r.status_code == 400 and "already" in r.get_data(as_text=True)
    token = csrf_of(client, "/trial")
    r = client.post("/trial/stop", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 400
    r = client.post("/trial/stop", data={"csrf_token": token, "reason": "a holiday"})
    assert r.status_code == 302
    html = page(client)
    assert "Stopped early" in html and "a holiday" in html
    assert "Plan another trial" in html and "the schedule matches the commitment" in html


def test_writes_need_the_password_and_the_token(app_factory, history, clock):
    locked = app_factory({"web": {"password": "s3cret"}}, clock=clock).test_client()
    r = locked.post("/trial/start", data={"nights": "56"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    open_client = app_factory(clock=clock).test_client()
    csrf_of(open_client, "/trial")  # a session, but no token sent
    assert open_client.post("/trial/start", data={"nights": "56"}).status_code == 400


@pytest.fixture
def running(db_path, clock, make_config):
    _, config = make_config()
    with Store.open(db_path) as store:
        service.start_trial(store, config, clock.now_ms(), nights=12, rng=Script(orders_for(ARMS)))
        return service.load(store, NODE)


def test_following_the_trial_shows_tonight_and_adherence_but_no_comparison(
    client, running, clock, db_path
):
    p = running.protocol
    dates = p.dates()
    assert "trial-tonight" not in page(client, "/")  # nothing announced yet
    with Store.open(db_path) as store:
        for i in range(3):
            fill_night(store, p, dates[i], 17.0 if ARMS[i] == "usual" else 19.6)
            add_cramp(store, p, dates[i])
    clock.set_wall(p.announce_ms(dates[3]) + 60_000)  # nights 0-2 over, night 3 announced
    now = page(client, "/")
    assert "Trial: the night of Sat 13 Jun is a <strong>warm</strong> night" in now
    assert "at or above 19.0 °C" in now
    assert "trial-tonight" in page(client, "/now/live")
    html = page(client)
    assert "The night of 2026-06-13 is a <strong>warm</strong> night" in html
    assert "kept on 1 of 1 warm and 2 of 2 usual nights" in html
    rows = re.findall(r"<tr><td>(\w{3} \d\d \w{3})</td><td>(\w+)</td>", html)
    assert rows == [
        ("Wed 10 Jun", "usual"),
        ("Thu 11 Jun", "warm"),
        ("Fri 12 Jun", "usual"),
        ("Sat 13 Jun", "warm"),
    ]  # revealed nights only
    assert "trial-result" not in html and "Cramp on the usual night only" not in html
    api = client.get("/api/trial").get_json()
    assert api["report"] is None and api["adherence"] == {"warm": [1, 1], "usual": [2, 2]}
    assert [s["arm"] for s in api["trial"]["schedule"]] == ARMS[:4] + [None] * 8
    assert "print view" not in html
    assert "the result is printed once it is over" in page(client, "/trial/print")


def test_the_result_in_plain_words_and_on_one_printed_page(client, running, clock, db_path):
    p = running.protocol
    with Store.open(db_path) as store:
        for i, night in enumerate(p.dates()):
            fill_night(store, p, night, 17.0 if ARMS[i] == "usual" else 19.6)
            if ARMS[i] == "usual" and i < 8:
                add_cramp(store, p, night)
    clock.set_wall(p.end_ms)
    html = page(client)
    assert "Finished" in html
    assert "In 4 of the 6 pairs, cramps came on one night only" in html
    assert "A difference this size could be chance" in html  # 4 vs 0: mid-p 0.0625
    assert "<th>Cramp on the usual night only</th><td>4</td>" in html
    assert "the schedule matches the commitment" in html
    printed = page(client, "/trial/print")
    assert "In 4 of the 6 pairs" in printed and "trial-print.css" in printed
    assert "What it can and cannot say" in printed and running.trial.salt in printed
    assert "<nav" not in printed  # one page: no dashboard around it
    api = client.get("/api/trial").get_json()
    assert api["report"]["verdict"] == "no-difference" and api["report"]["usual_only"] == 4
    assert "trial-tonight" not in page(client, "/")


def test_the_evidence_page_links_the_trial(client):
    html = page(client, "/evidence")
    assert '<a href="/trial">the warm-night trial</a>' in html


def test_another_rooms_trial_cannot_be_started_from_here(app_factory, history, clock, db_path):
    with Store.open(db_path) as store:
        fill_night(
            store,
            Protocol(FIRST, 8, 19.0, timezone="Europe/Berlin"),
            FIRST - timedelta(days=1),
            18.0,
        )
        store.add_reading("attic", store.newest_reading(NODE))
    client = app_factory(clock=clock).test_client()
    client.get("/room?id=attic&next=/trial")
    html = page(client, "/trial?room=attic")
    assert "start it there" in html and 'id="trial-start"' not in html
    token = csrf_of(client, "/?room=attic")
    r = client.post("/trial/start?room=attic", data={"csrf_token": token, "nights": "56"})
    assert r.status_code == 400
