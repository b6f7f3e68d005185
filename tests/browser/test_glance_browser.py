"""The 3 am glance in real Chromium at phone (390 px) and desktop (1280 px) width, by day
and by night: axe-core finds no violation by day, night mode keeps every key text at 3:1 or
more with the temperature the brightest and largest, the live update leaves focus and the
alert alone, and chart text is 12 px or more.

axe-core (MPL-2.0) is not in the repository: it comes with the `axe-playwright-python`
package of the test extra, which ships axe.min.js (only that file is used).
"""

from __future__ import annotations

import base64
import importlib.resources
import re
from pathlib import Path

import pytest

from monitor.clock import FakeClock
from monitor.store import Reading, Store
from tests.browser.test_dashboard_browser import WAIT_MS, shot
from tests.web_fixtures import CRAMP_MS, NODE, NOON_MS, fill

pytestmark = pytest.mark.browser

AXE = Path(str(importlib.resources.files("axe_playwright_python") / "axe.min.js"))
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
PAGES = [
    "/",
    "/nights",
    "/nights/2026-06-02",
    "/cramps",
    "/cramps/1/edit",
    "/cramps/1/edit?new=1",
    "/evidence",
    "/evidence/print",
    "/trends",
    "/export",
    "/export/nights",
    "/trial",
    "/trial/print",
    "/rooms",
    "/login",
]
# The print views are a sheet of paper (evidence_print.html: a known axe finding,
# scrollable-region-focusable on its wide table at 390 px, is the evidence page's own):
# by day the full rule set runs on the app's pages, by night colour contrast on all of them.
DAY_PAGES = [p for p in PAGES if not p.endswith("/print")]
MIN = 60_000

# Relative luminance and contrast (WCAG 2), and the effective background of an element.
CONTRAST_JS = """
(selectors) => {
  function rgb(text) { return text.match(/[\\d.]+/g).map(Number); }
  function lum(c) {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function background(el) {
    for (let e = el; e; e = e.parentElement) {
      if (e instanceof SVGElement && e.tagName !== 'svg') continue;
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [0, 0, 0];
  }
  const out = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.getClientRects().length) continue;
      const style = getComputedStyle(el);
      const fg = rgb(el instanceof SVGElement ? style.fill : style.color);
      const bg = background(el);
      const l1 = lum(fg), l2 = lum(bg);
      out.push({
        sel, text: el.textContent.trim().slice(0, 40), lum: l1,
        contrast: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05),
        size: parseFloat(style.fontSize) * (el.getScreenCTM ? el.getScreenCTM().a : 1),
      });
    }
  }
  return out;
}
"""

# Mean luminance (0-255) of a screenshot, computed by the browser itself from the PNG.
MEAN_LUMINANCE_JS = """
async (src) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, img.width, img.height).data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    sum += 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
  }
  return sum / (d.length / 4);
}
"""


@pytest.fixture
def context_for(browser):
    contexts = []

    def make(width: str, mode: str):
        w, h = WIDTHS[width]
        # bypass_csp: axe is injected as a script of the test's own (the app's CSP is
        # tested elsewhere and would refuse it)
        ctx = browser.new_context(
            viewport={"width": w, "height": h}, device_scale_factor=1, bypass_csp=True
        )
        ctx.add_cookies([{"name": "bedside_mode", "value": mode, "url": "http://127.0.0.1"}])
        contexts.append(ctx)
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.errors = errors
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def glance_db(filled):
    """The filled store plus what a bad night shows: a cold alert, sensor health, two cramps
    minutes apart (one mark with a count) and a remedy."""
    with Store.open(filled) as s:
        s.start_episode(NODE, "cold", NOON_MS - 20 * MIN, 16.5)
        s.set_sensor_health(
            NODE,
            status="ok",
            consecutive_failures=0,
            failure_rate=0.0,
            last_good_ms=NOON_MS - 5 * MIN,
            last_error=None,
            updated_ms=NOON_MS - 5 * MIN,
        )
        s.add_cramp(
            NODE,
            CRAMP_MS + 3 * MIN,
            source="web",
            now_ms=NOON_MS,
            remedy="stretch",
            relief_min=3,
            severity=2,
        )
        # A second room: the room picker is in the header, and Rooms lists a silent one.
        fill(s, "kids-room", NOON_MS - 3 * 3_600_000, NOON_MS - 2 * 3_600_000)
    return filled


def run_axe(page, rules: list[str] | None = None) -> list[dict]:
    """axe-core's violations on the page (only ``rules`` when given)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (rules) => (await axe.run(document, rules ? {runOnly: rules} : {}))
            .violations.map(v => ({
                id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(' ') + ' '
                    + (n.failureSummary.match(/contrast of [^)]*[)]/) || [''])[0]).slice(0, 8)
            }))""",
        rules,
    )


@pytest.fixture(scope="module")
def axe_available():
    assert AXE.exists(), f"axe-core is not at {AXE}: reinstall the test extra"


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_violation_by_day(serve, context_for, glance_db, axe_available, width):
    url = serve()
    page = context_for(width, "day")
    for path in DAY_PAGES:
        page.goto(url + path)
        assert "night" not in (page.locator("body").get_attribute("class") or "").split()
        assert run_axe(page) == [], path
    assert page.errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_contrast_failure_at_night(
    serve, context_for, glance_db, axe_available, width
):
    """Night mode meets WCAG AA (4.5:1 text, 3:1 large) on every page while staying dim."""
    url = serve(clock=FakeClock(NOON_MS))
    page = context_for(width, "night")
    failures = {}
    for path in PAGES:
        page.goto(url + path)
        classes = (page.locator("body").get_attribute("class") or "print-view").split()
        assert "night" in classes or "print-view" in classes, path  # a sheet of paper is day
        found = run_axe(page, ["color-contrast"])
        if found:
            failures[path] = found
    # A trial under way: its status, the stop form's "Why" field (2.38:1 before issue 22).
    page.goto(url + "/trial")
    page.fill("#nights", "28")
    page.click("#trial-start button[type=submit]")
    page.wait_for_selector("#trial-confirm", timeout=WAIT_MS)  # "Fix the plan" asks once more
    failures["/trial (confirm)"] = run_axe(page, ["color-contrast"])
    page.click("#trial-confirm-form button[type=submit]")
    page.wait_for_selector("#trial-status", timeout=WAIT_MS)
    assert page.locator("#reason").count() == 1
    for path in ("/trial", "/trial/print", "/"):
        page.goto(url + path)
        failures[f"{path} (trial)"] = run_axe(page, ["color-contrast"])
    assert page.errors == []
    page.goto(url + "/nights/not-a-night")  # the error page (its 404 is logged: not an error)
    failures["error page"] = run_axe(page, ["color-contrast"])
    assert {path: found for path, found in failures.items() if found} == {}


@pytest.mark.parametrize("width", WIDTHS)
def test_night_mode_steps_down_from_the_temperature_and_keeps_3_to_1(
    serve,
    context_for,
    glance_db,
    width,
):
    url = serve(clock=FakeClock(NOON_MS))
    page = context_for(width, "night")
    page.goto(url + "/")
    assert page.locator("body").get_attribute("class") == "night"
    key = [
        "#temp",
        ".humid",
        ".reading .meta",
        ".banner p",
        "#log-cramp",
        ".log-cramp .hint",
        ".health p",
        ".night-chart h2",
        ".night-chart h2 small",
        ".legend",
        ".tabs a",
        "svg.chart text:not(.cramp-count)",  # the count sits on its own marker
    ]
    found = page.evaluate(CONTRAST_JS, key)
    assert {f["sel"] for f in found} == set(key)
    low = [(f["sel"], f["text"], round(f["contrast"], 2)) for f in found if f["contrast"] < 3]
    assert low == []
    temp = next(f for f in found if f["sel"] == "#temp")
    others = [f for f in found if f["sel"] != "#temp"]
    assert all(temp["lum"] > f["lum"] for f in others), "the temperature is the brightest text"
    assert all(temp["size"] > f["size"] for f in others), "and the largest"
    shot(page, f"night-now-{width}")
    src = "data:image/png;base64," + base64.b64encode(page.screenshot(full_page=True)).decode()
    assert page.evaluate(MEAN_LUMINANCE_JS, src) <= 12  # dim: 4-11 of 255 before #16
    assert page.errors == []


def test_night_form_controls_stay_dark(serve, context_for, glance_db):
    url = serve(clock=FakeClock(NOON_MS))
    page = context_for("phone", "night")
    page.goto(url + "/cramps/1/edit")
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") != "light"
    assert page.evaluate("getComputedStyle(document.body).colorScheme") == "dark"
    colours = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(e => e.type !== 'hidden')
            .map(e => getComputedStyle(e).backgroundColor)"""
    )
    assert colours and all(
        c in ("rgb(6, 2, 1)", "rgb(36, 11, 7)", "rgba(0, 0, 0, 0)") for c in colours
    ), colours
    assert (
        page.evaluate("getComputedStyle(document.querySelector('input[type=radio]')).appearance")
        == "none"
    )
    shot(page, "night-cramp-form")
    src = "data:image/png;base64," + base64.b64encode(page.screenshot(full_page=True)).decode()
    assert page.evaluate(MEAN_LUMINANCE_JS, src) <= 12
    assert page.errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_chart_text_is_12_px_or_more(serve, context_for, glance_db, width):
    url = serve()
    page = context_for(width, "day")
    for path in ("/", "/nights/2026-06-02", "/evidence"):
        page.goto(url + path)
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('svg.chart text')].map(t =>
                parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""
        )
        assert sizes and min(sizes) >= 12, (path, min(sizes))


def boxes_overlap(a, b) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_threshold_label_is_clear_of_data_and_cramp_times_are_text(serve, context_for, glance_db):
    url = serve()
    page = context_for("phone", "day")
    page.goto(url + "/nights/2026-06-02")
    label = page.locator("svg.chart .threshold-label").bounding_box()
    for sel in ("svg.chart .cramp-mark", "svg.chart polyline.line", "svg.chart .cold-span"):
        for i in range(page.locator(sel).count()):
            assert not boxes_overlap(label, page.locator(sel).nth(i).bounding_box()), sel
    assert page.locator("svg.chart .cramp-mark").count() == 1  # 03:00 and 03:03 together
    assert page.locator("svg.chart .cramp-count").text_content() == "2"
    assert page.locator("svg.chart .cramp-label").all_text_contents() == ["03:00"]
    name = page.locator("svg.chart").get_attribute("aria-label")
    assert "2 cramps, at 03:00, 03:03." in name


def test_a_new_reading_changes_text_only_focus_and_alert_stay(
    serve, context_for, glance_db, web_clock
):
    from playwright.sync_api import expect

    url = serve()
    page = context_for("phone", "day")
    page.goto(url + "/")
    page.focus("#log-cramp")
    page.evaluate(
        """() => {
            window.kept = {
                button: document.getElementById('log-cramp'),
                alert: document.querySelector('[role=alert]'),
                chart: document.querySelector('.night-chart'),
            };
            window.alertsInserted = 0;
            new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
                const alert = '[role=alert]';
                if (n.nodeType === 1 && (n.matches(alert) || n.querySelector(alert)))
                    window.alertsInserted++;
            }))).observe(document.getElementById('live'), {childList: true, subtree: true});
        }"""
    )
    now = web_clock.now_ms()
    web_clock.advance(30)
    with Store.open(glance_db) as s:
        s.add_reading(NODE, Reading(now + 30_000, 16.2, 47.0))
    expect(page.locator("#temp")).to_have_text("16.2", timeout=WAIT_MS)
    assert page.locator("#humid").inner_text() == "47"
    assert page.evaluate("document.activeElement.id") == "log-cramp"
    assert page.evaluate(
        """() => window.kept.button === document.getElementById('log-cramp')
              && window.kept.alert === document.querySelector('[role=alert]')
              && window.kept.chart === document.querySelector('.night-chart')"""
    )
    assert page.evaluate("window.alertsInserted") == 0
    # The alert ends: its banner goes, the button still has focus.
    with Store.open(glance_db) as s:
        episode = s.episodes(NODE, None, None)[-1]
        s.update_episode(episode.id, end_ms=now + 40_000)
    web_clock.advance(10)
    expect(page.locator("[role=alert]")).to_have_count(0, timeout=WAIT_MS)
    assert page.evaluate("document.activeElement.id") == "log-cramp"
    assert page.errors == []


def test_skip_returns_to_the_now_page(serve, context_for, glance_db):
    url = serve()
    page = context_for("phone", "day")
    page.goto(url + "/")
    page.click("#log-cramp")
    page.wait_for_url("**/cramps/*/edit*")
    page.click("#skip")
    page.wait_for_url(url + "/")
    assert page.locator("#log-cramp").count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def box_of(page, selector: str) -> dict:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


def test_the_day_switch_is_a_big_target_away_from_the_tabs(serve, context_for, glance_db):
    url = serve(clock=FakeClock(CRAMP_MS))  # 03:00
    page = context_for("phone", "auto")
    page.goto(url + "/")
    switch = box_of(page, "#mode-toggle")
    assert switch["width"] >= 44 and switch["height"] >= 44, switch
    tabs, button = box_of(page, "nav.tabs"), box_of(page, "#log-cramp")
    assert switch["y"] > button["y"] + button["height"] > tabs["y"] + tabs["height"]
    assert page.locator("header #mode-toggle").count() == 0
    assert page.errors == []


def test_after_log_a_cramp_at_night_the_confirmation_is_focused_with_undo_first(
    serve, context_for, glance_db
):
    url = serve(clock=FakeClock(CRAMP_MS + 20 * MIN))  # 03:20
    page = context_for("phone", "night")
    page.goto(url + "/")
    page.click("#log-cramp")
    page.wait_for_url("**/cramps/*/edit*")
    assert page.evaluate("document.activeElement.id") == "logged"
    assert page.locator("#logged h1").inner_text() == "✓ Cramp logged at 03:20"
    colours = page.evaluate(
        """() => [getComputedStyle(document.getElementById('logged')).color,
                  getComputedStyle(document.body).color]"""
    )
    assert colours[0] != colours[1], "the confirmation has its own colour, not the page's red"
    found = page.evaluate(CONTRAST_JS, ["#logged h1", "#undo"])
    assert min(f["contrast"] for f in found) >= 4.5
    for selector in ("#undo", "#skip", "fieldset.choices label"):
        for i in range(page.locator(selector).count()):
            box = page.locator(selector).nth(i).bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44, (selector, i, box)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "undo"  # Undo comes first
    page.click("fieldset.choices label:has(input[value=right])")  # the whole label is the target
    assert page.locator("input[name=leg][value=right]").is_checked()
    shot(page, "night-after-tap")
    src = "data:image/png;base64," + base64.b64encode(page.screenshot(full_page=True)).decode()
    assert page.evaluate(MEAN_LUMINANCE_JS, src) <= 12  # unmistakable, still dim (11.5 measured)
    page.click("#undo")
    page.wait_for_url("**/cramps?*")
    assert page.evaluate("document.activeElement.id") == "deleted"
    assert "Removed the cramp of" in page.inner_text("#deleted")
    assert page.locator("#recently-deleted").count() == 1  # forgiven, not lost: restorable
    assert page.errors == []


def test_a_month_of_nights_prints_on_one_a4_page(serve, context_for, filled):
    """The printable nights (Export): Chromium's own PDF of 31 nights is one page."""
    with Store.open(filled) as s:
        fill(s, NODE, NOON_MS - 33 * 86_400_000, NOON_MS - 46 * 3_600_000, step_ms=600_000)
    url = serve()
    page = context_for("phone", "night")
    page.goto(url + "/export/nights?from=2026-05-03&to=2026-06-02")
    assert page.locator("#print-nights tbody tr").count() == 31
    assert page.locator("body").get_attribute("class") == "day print-view"
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert page.errors == []
