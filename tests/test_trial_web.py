"""The Trial page: plan (baseline, exact power, warnings), start and stop by form, follow
(tonight's arm on the Now page, adherence, no comparison), the result and its print view."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from monitor.clock import FakeClock
from monitor.store import Store
from monitor.trial import design, report, service, stats
from monitor.trial.design import Protocol
from tests.test_web_evidence import by_id, text_of
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

ARMS = ["usual", "warm"] * 6  # 12 nights, 6 pairs


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
    r = start_form(client, nights="56", warm_min_c="19.5", confirm="yes")
    assert r.status_code == 302
    with Store.open_readonly(db_path) as s:
        trial = s.latest_trial(NODE)
    assert (trial.nights, trial.warm_min_c, trial.first_night) == (56, 19.5, "2026-06-10")
    html = page(client)
    assert "Planned" in html and 'id="trial-start"' not in html  # one trial at a time
    assert trial.commitment in html
    r = start_form(client, nights="56", confirm="yes")
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
        service.start_trial(
            store, config, clock.now_ms(), nights=len(ARMS), rng=Script(orders_for(ARMS))
        )
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
    assert "Trial: the night of Sat 13 → Sun 14 Jun is a <strong>warm</strong> night" in now
    assert "at or above 19.0 °C" in now
    assert "trial-tonight" in page(client, "/now/live")
    html = page(client)
    assert "The night of Sat 13 → Sun 14 Jun is a <strong>warm</strong> night" in html
    assert "Each evening at 18:00 you learn that night's instruction" in html
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
    verdict = by_id(html, "trial-verdict")
    assert verdict.startswith(
        "In 4 of the 6 pairs cramps came on one night only: 4 times after the usual night,"
        " never after the warm night. That could be chance: no clear difference (yet)."
    )
    # The figures come after the words: the mid-p, the exact p, the odds ratio.
    figures = by_id(html, "trial-figures-line")
    assert figures.startswith("Two-sided mid-p = 0.") and "exact p = 0.125" in figures
    assert html.index('id="trial-verdict"') < html.index('id="trial-figures-line"')
    assert "mid-p" not in verdict
    assert "<th>Cramp on the usual night only</th><td>4</td>" in html
    assert "<th>Answer</th><td>no clear difference (yet)</td>" in html
    assert "the schedule matches the commitment" in html
    assert "instruction comes" not in html and "revealed at" not in html  # it is over
    printed = page(client, "/trial/print")
    assert "In 4 of the 6 pairs" in printed and "trial-print.css" in printed
    assert "Answer: no clear difference (yet)" in printed and "no-difference" not in printed
    assert "exact p = 0.125" in by_id(printed, "print-figures-line")
    assert printed.count("exact p") == 1  # the figures once, after the words
    assert "What it can and cannot say" in printed and running.trial.salt in printed
    assert "<nav" not in printed  # one page: no dashboard around it
    api = client.get("/api/trial").get_json()
    assert api["report"]["verdict"] == "no-difference" and api["report"]["usual_only"] == 4
    assert api["report"]["p_exact"] == pytest.approx(2 / 2**4)
    assert "trial-tonight" not in page(client, "/")


def test_a_firm_result_says_so_in_words_first(client, running, clock, db_path):
    p = running.protocol
    with Store.open(db_path) as store:
        for i, night in enumerate(p.dates()):
            fill_night(store, p, night, 17.0 if ARMS[i] == "usual" else 19.6)
            if ARMS[i] == "usual":
                add_cramp(store, p, night)
    clock.set_wall(p.end_ms)
    html = page(client)
    assert by_id(html, "trial-verdict").startswith(
        "In 6 of the 6 pairs cramps came on one night only: 6 times after the usual night,"
        " never after the warm night. That is unlikely to be chance"
    )
    assert "tends to overstate" in by_id(html, "trial-verdict")
    assert "exact p = 0.031" in by_id(html, "trial-figures-line")
    assert "<th>Answer</th><td>warm nights helped</td>" in html
    printed = page(client, "/trial/print")
    assert "Answer: warm nights helped" in printed and "warm-helped" not in printed
    api = client.get("/api/trial").get_json()
    assert api["report"]["verdict"] == "warm-helped"
    assert api["report"]["p_exact"] == pytest.approx(2 / 2**6)


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
    r = client.post(
        "/trial/start?room=attic", data={"csrf_token": token, "nights": "56", "confirm": "yes"}
    )
    assert r.status_code == 400


def test_the_plan_shows_the_chance_of_a_firm_answer_for_this_person(client):
    html = page(client)
    chance = stats.plan_power(56, 0.2)  # the plan's chance: warm nights halving 20%
    assert by_id(html, "trial-chance").startswith(
        f"If warm nights halve your cramp nights, this 56-night plan has a {chance:.0%} chance"
        " of a firm answer, with your cramp rate (cramps on 20% of your recent nights)."
    )
    assert chance < 0.5 and "That is less than even" in by_id(html, "trial-chance")
    assert 'href="/trial/about"' in html and "docs/trial.md" not in html
    assert f'min="{design.MIN_NIGHTS}"' in html


def test_fix_the_plan_and_start_asks_once_more(client, db_path):
    r = start_form(client, nights="56", warm_min_c="19.5")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    with Store.open_readonly(db_path) as s:
        assert s.latest_trial(NODE) is None  # nothing stored before the confirmation
    confirm = by_id(html, "trial-confirm")
    assert (
        "56 nights (28 pairs), from the night of Wed 10 Jun to the night of Tue 04 Aug" in confirm
    )
    assert "at or above 19.5 °C" in confirm
    assert "That is less than even" in by_id(html, "confirm-chance")  # 20% cramp nights
    assert ">Start anyway</button>" in html
    form = re.search(r'<form[^>]*id="trial-confirm-form"[^>]*>(.*?)</form>', html, re.S).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    assert fields["confirm"] == "yes" and fields["nights"] == "56"
    assert fields["warm_min_c"] == "19.5" and fields["first_night"] == ""
    r = client.post("/trial/start", data=fields)
    assert r.status_code == 302
    with Store.open_readonly(db_path) as s:
        trial = s.latest_trial(NODE)
    assert (trial.nights, trial.warm_min_c) == (56, 19.5)


def test_a_trial_shorter_than_the_minimum_is_refused_with_the_reason(client, db_path):
    short = design.MIN_NIGHTS - 2
    for fields in ({"nights": str(short)}, {"nights": str(short), "confirm": "yes"}):
        r = start_form(client, **fields)
        assert r.status_code == 400
        error = by_id(r.get_data(as_text=True), "trial-error")
        assert f"at least {design.MIN_NIGHTS}" in error
    assert client.get(f"/trial?nights={short}").status_code == 400
    with Store.open_readonly(db_path) as s:
        assert s.latest_trial(NODE) is None


def test_two_of_eight_pairs_read_as_plain_words_first(client, db_path, clock, make_config):
    arms = ["usual", "warm"] * 8
    _, config = make_config()
    with Store.open(db_path) as store:
        service.start_trial(store, config, clock.now_ms(), nights=16, rng=Script(orders_for(arms)))
        p = service.load(store, NODE).protocol
        for i, night in enumerate(p.dates()):
            fill_night(store, p, night, 17.0 if arms[i] == "usual" else 19.6)
        add_cramp(store, p, p.dates()[0])  # pair 1: the usual night only
        add_cramp(store, p, p.dates()[3])  # pair 2: the warm night only
    clock.set_wall(p.end_ms)
    html = page(client)
    verdict = by_id(html, "trial-verdict")
    assert verdict.startswith(
        "In 2 of the 8 pairs cramps came on one night only: once after the usual night, once"
        " after the warm night. That could easily be chance: no clear difference (yet)."
    )
    figures = by_id(html, "trial-figures-line")
    assert figures == (
        "Two-sided mid-p = 1.000 (exact p = 1.000); odds ratio, usual against warm: 1.00"
        f" (95% interval {html_ci(html)})."
    )
    visible = text_of(html)
    assert "no-difference" not in visible and "did not show" not in visible
    assert "Answer no clear difference (yet)" in visible
    assert "instruction comes" not in visible and "revealed at" not in visible


def html_ci(html: str) -> str:
    """The interval as the figures table shows it, written the sentence's way."""
    low, high = re.search(r"95% CI ([\d.]+)–([\d.]+)", html).groups()
    return f"{float(low):.2f} to {float(high):.2f}"


def test_the_about_page_and_the_empty_print_view(client):
    about = page(client, "/trial/about")
    assert "How the warm-night trial works" in about
    assert "Each evening at 18:00 you learn that night's instruction" in text_of(about)
    assert f"at least {design.MIN_NIGHTS}" in about
    printed = page(client, "/trial/print")
    empty = by_id(printed, "print-empty")
    assert empty.startswith("No trial has been run in this room yet.")
    assert "the result in words" in empty and "the p values and the odds ratio" in empty


def test_the_summary_sentence_for_each_verdict():
    base = {"pairs": 8, "pairs_planned": 8, "p_exact": 1.0, "odds_ratio": 1.0}
    base |= {"ci_low": 0.01, "ci_high": 78.5, "both": 0, "neither": 6}

    def said(verdict, b, c, p):
        return report.summary({**base, "verdict": verdict, "usual_only": b, "warm_only": c, "p": p})

    assert said("no-difference", 1, 1, 1.0).startswith(
        "In 2 of the 8 pairs cramps came on one night only: once after the usual night, once"
        " after the warm night. That could easily be chance"
    )
    assert said("no-difference", 4, 1, 0.11).startswith(
        "In 5 of the 8 pairs cramps came on one night only: 4 times after the usual night,"
        " once after the warm night. That could be chance: no clear difference (yet)."
    )
    assert "twice after the warm night" in said("warm-worse", 0, 2, 0.04)
    assert said("no-difference", 0, 0, None).startswith(
        "In none of the 8 pairs did cramps come on one night only."
    )
    for verdict, words in report.VERDICT_WORDS.items():
        assert verdict not in words
