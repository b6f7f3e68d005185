"""The real dashboard over HTTP (waitress in a thread) driven by headless Chromium.

Screenshots land in test-artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.clock import FakeClock
from monitor.store import Reading, Store
from tests.test_web_api import store_report
from tests.web_fixtures import CRAMP_MS, NODE, NOON_MS, fill

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_MS = 20_000  # a generous deadline for events, not a timing assertion


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_now_page_shows_current_reading(serve, page, filled):
    url = serve()
    page.goto(url + "/")
    assert page.locator("#temp").inner_text() == "17.0"
    assert page.locator("#humid").inner_text() == "50"
    assert page.locator(".night-chart svg .cramp-mark").count() == 1
    shot(page, "now-day")


def test_log_a_cramp_appears_in_log_and_chart(serve, page, filled, web_clock):
    web_clock.set_wall(CRAMP_MS + 3_600_000)  # 04:00 Berlin: the night of 2026-06-02
    url = serve()
    page.goto(url + "/")
    assert page.locator(".night-chart svg .cramp-mark").count() == 1
    page.click("#log-cramp")
    page.wait_for_url("**/cramps/*/edit*")
    assert "Cramp logged at 04:00" in page.inner_text("body")
    shot(page, "cramp-details")
    page.check("input[name=leg][value=right]")
    page.check("input[name=severity][value='3']")
    page.click("details.more-details > summary")  # the rest, folded away after one tap
    page.select_option("select[name=remedy]", "stretch")
    page.fill("input[name=relief_min]", "5")
    page.click("button.primary")
    page.wait_for_url("**/cramps?*")
    row = page.locator("#cramp-log tbody tr").first
    assert "04:00" in row.inner_text() and "stretch" in row.inner_text()
    shot(page, "cramps-log")
    page.goto(url + "/")
    assert page.locator(".night-chart svg .cramp-mark").count() == 2
    assert no_horizontal_overflow(page)


def test_now_page_updates_by_itself(serve, page, filled, web_clock):
    from playwright.sync_api import expect

    now = web_clock.now_ms()
    url = serve()
    page.goto(url + "/")
    assert page.locator("#temp").inner_text() == "17.0"
    marks = page.locator(".night-chart svg .cramp-mark")
    assert marks.count() == 1
    web_clock.advance(30)
    with Store.open(filled) as s:
        s.add_reading(NODE, Reading(now + 30_000, 21.4, 44.0))
    expect(page.locator("#temp")).to_have_text("21.4", timeout=WAIT_MS)
    assert page.locator("#humid").inner_text() == "44"
    with Store.open(filled) as s:  # logged from another device for last night
        s.add_cramp(NODE, CRAMP_MS - 3_600_000, source="cli", now_ms=now + 20_000)
    expect(marks).to_have_count(2, timeout=WAIT_MS)
    shot(page, "now-live-update")


def test_night_mode_turns_on_in_the_night_window(serve, page, filled):
    url = serve(clock=FakeClock(CRAMP_MS))  # 03:00 in Berlin
    page.goto(url + "/")
    assert page.locator("body").get_attribute("class") == "night"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(0, 0, 0)"
    color = page.evaluate("getComputedStyle(document.getElementById('temp')).color")
    r, g, b = (int(x) for x in color[color.index("(") + 1 : -1].split(","))
    assert r > g and r > b  # warm red, not white
    shot(page, "now-night")
    page.click("#mode-toggle")  # at night, a question first: the room stays dark meanwhile
    assert page.locator("body").get_attribute("class") == "night"
    assert page.evaluate("document.activeElement.id") == "stay-dim"
    page.click("#confirm-day")
    assert page.locator("body").get_attribute("class") == "day"


def test_evidence_page_shows_the_verdict(serve, page, filled, monkeypatch):
    store_report(monkeypatch, filled, NOON_MS - 3 * 3_600_000)
    url = serve()
    page.goto(url + "/evidence")
    verdict = page.locator("#verdict").inner_text()
    assert verdict.strip() != "" and "No report" not in verdict
    assert "computed 09:00 today" in page.inner_text("#report-age")
    assert "Garrison" in page.inner_text("body")
    assert no_horizontal_overflow(page)
    shot(page, "evidence")


def test_evidence_headline_above_the_fold_on_a_phone(serve, page, evidence_db):
    """390 px wide: the headline is on the first screen, nothing scrolls sideways, and the
    statistician's figures open with one tap."""
    from playwright.sync_api import expect

    scenario = evidence_db("vienna")
    url = serve({"node": {"timezone": scenario.timezone}}, clock=FakeClock(scenario.now_ms))
    page.goto(url + "/evidence")
    headline = page.locator("#verdict")
    assert headline.inner_text().startswith("Supports: after 90 nights, colder nights than usual")
    assert "Supports" in page.inner_text("#verdict-words .current")
    box = headline.bounding_box()
    assert box is not None and box["y"] >= 0
    assert box["y"] + box["height"] <= page.viewport_size["height"]
    assert no_horizontal_overflow(page)
    crude = page.locator("#crude-figures")
    expect(crude).to_be_hidden()
    page.click("#more-figures > summary")
    expect(crude).to_be_visible(timeout=WAIT_MS)
    assert no_horizontal_overflow(page)
    shot(page, "evidence-v2")
    page.goto(url + "/evidence/print")
    assert "not proof of cause" in page.inner_text("#caveats")
    assert no_horizontal_overflow(page)
    page.emulate_media(media="print")
    assert page.locator(".no-print").first.is_hidden()
    shot(page, "evidence-print")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/nights",
        "/nights/2026-06-02",
        "/cramps",
        "/evidence",
        "/export",
        "/rooms",
        "/cramps/1/edit",
    ],
)
def test_pages_fit_a_phone(serve, page, filled, path):
    with Store.open(filled) as s:
        fill(s, "kids-room", NOON_MS - 3_600_000, NOON_MS, temp=lambda ts: 16.0)
    url = serve()
    page.goto(url + path)
    assert no_horizontal_overflow(page), path
    shot(page, "phone" + path.replace("/", "-").rstrip("-"))
