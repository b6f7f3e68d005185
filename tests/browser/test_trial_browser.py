"""The Trial page in headless Chromium: it fits a phone, the start form works from a real
browser (CSRF, redirect), the print view is one page."""

from __future__ import annotations

import pytest

from monitor.clock import FakeClock
from tests.browser.test_dashboard_browser import WAIT_MS, no_horizontal_overflow, shot
from tests.trial_support import FIRST, local_ms

pytestmark = pytest.mark.browser
# `browser`, `serve` and `page` (phone-sized) come from tests/browser/conftest.py.


def test_plan_and_start_a_trial_on_a_phone(serve, page, filled):
    url = serve(clock=FakeClock(local_ms(FIRST, "10:00")))
    page.goto(url + "/trial")
    assert no_horizontal_overflow(page)
    shot(page, "phone-trial-plan")
    page.fill("#nights", "28")
    page.click("#trial-start button[type=submit]")
    # Asked once more, server-side: the plan as it would be fixed and its chance in words.
    page.wait_for_selector("#trial-confirm", timeout=WAIT_MS)
    assert "28 nights (14 pairs), from the night of Wed 10 Jun" in page.inner_text("#trial-confirm")
    assert "chance of a firm answer" in page.inner_text("#confirm-chance")
    assert no_horizontal_overflow(page)
    shot(page, "phone-trial-confirm")
    page.click("#trial-confirm-form button[type=submit]")
    page.wait_for_selector("#trial-status", timeout=WAIT_MS)
    assert "Planned" in page.inner_text("#trial-status")
    assert "28 nights (14 pairs) from the night of Wed 10 Jun" in page.inner_text("#trial-status")
    assert no_horizontal_overflow(page)
    shot(page, "phone-trial-planned")
    page.goto(url + "/trial/print")
    assert "result is printed once it is over" in page.inner_text("main")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * 844  # far from a second printed page
