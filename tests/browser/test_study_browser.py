"""The Study page in real Chromium at 390 and 1280 px, by day and by night: axe-core finds
no violation, nothing runs off the side, the forest plot's text stays 12 px or more, and
the print view is one page.

Two studies: one stored by the real `bedside report --pooled` (tests/test_web_study.py's
recorder database), and a hand-made report with every kind of forest row (an interval, a
separated fit as an arrow, a person without a usable half-month) and a firm verdict.
Screenshots go to $BEDSIDE_SHOTS when set (else test-artifacts/).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from monitor.clock import FakeClock
from monitor.config import load
from monitor.store import Reading, Store
from monitor.store.reports import STUDY_KEY
from tests.browser.test_dashboard_browser import ARTIFACTS, no_horizontal_overflow
from tests.browser.test_glance_browser import (  # noqa: F401 (context_for: a fixture)
    AXE,
    CONTRAST_JS,
    WIDTHS,
    context_for,
)
from tests.support import write_config
from tests.test_web_study import WEB_NOW, _fit, _report, _sections, study_db  # noqa: F401

pytestmark = pytest.mark.browser
DAY = 86_400_000
AS_OF = WEB_NOW - DAY - 5 * 3_600_000  # the hand-made report's as_of
SHOTS = Path(os.environ.get("BEDSIDE_SHOTS") or ARTIFACTS)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _made(db, more_people: int = 0):
    """A stored report with a firm verdict, an arrow row, a no-fit row and a trial."""
    report = _report("supports", _fit(1.5, 1.2, 1.9, 0.001), 1)
    report["per_person"] += [
        {"node": f"z{i:02}", "valid": 90, "cramp": 20, "seasonal": _fit(1.2, 0.7, 2.1, 0.4)}
        for i in range(more_people)
    ]
    report["trial"] = {
        "people": 2,
        "pairs": 30,
        "usual_only": 9,
        "warm_only": 2,
        "p": 0.02,
        "p_exact": 0.065,
        "odds_ratio": 4.5,
        "ci_low": 0.96,
        "ci_high": 42.8,
    }
    report["left_out"] = {"d": "no time zone known"}
    with Store.open(db) as s:
        for node in ("a", "b", "c", "d"):
            # recording from 150 days before the report's as_of (30 Nov 07:00 UTC) to it
            s.add_readings(node, [Reading(AS_OF - k * DAY, 17.0, 50.0) for k in (150, 0)])
        s.save_report(STUDY_KEY, report, {"pooled": True}, s.data_version(), WEB_NOW)
    return db


@pytest.fixture
def made_db(tmp_path):
    return _made(tmp_path / "made.db")


@pytest.fixture
def serve_db(tmp_path):
    from web.app import create_app
    from web.server import ServerThread

    servers = []

    def start(db) -> str:
        path = write_config(tmp_path / f"s{len(servers)}.toml", _sections(db))
        app = create_app(
            load(path), clock=FakeClock(WEB_NOW), test_config={"REPORT_JOB_ENABLED": False}
        )
        server = ServerThread(app).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def run_axe(page) -> list[dict]:
    """axe-core's violations on the whole page, each with every element it found."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document)).violations.map(v => ({
            id: v.id, nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)
        }))"""
    )


SMALLEST_TEXT_JS = """() => Math.min(...[...document.querySelectorAll('svg.forest text')]
    .map(t => t.getBoundingClientRect().height))"""


@pytest.mark.parametrize("mode", ["day", "night"])
@pytest.mark.parametrize("width", WIDTHS)
def test_study_page_is_clean_at_both_widths_day_and_night(
    serve_db,
    context_for,  # noqa: F811 (the glance test's fixture)
    study_db,  # noqa: F811 (tests/test_web_study.py's recorder database)
    made_db,
    width,
    mode,
):
    assert AXE.exists()
    for name, db in (("real", study_db), ("made", made_db)):
        url = serve_db(db)
        page = context_for(width, mode)
        page.goto(url + "/study")
        assert page.locator("body").get_attribute("class") == mode
        assert page.locator("svg.forest").count() == 1
        assert no_horizontal_overflow(page)
        assert page.evaluate(SMALLEST_TEXT_JS) >= 11.5  # chart text stays readable
        # axe leaves SVG text alone: the plot's words and numbers get AA (4.5:1) here
        found = page.evaluate(CONTRAST_JS, ["svg.forest text"])
        assert found and [f["text"] for f in found if f["contrast"] < 4.5] == []
        assert run_axe(page) == [], (name, width, mode)
        _shot(page, f"study-{name}-{width}-{mode}")
        assert page.errors == []


@pytest.mark.parametrize("more_people", [0, 20])
def test_study_print_view_is_one_page(
    serve_db,
    context_for,  # noqa: F811
    tmp_path,
    more_people,
):
    url = serve_db(_made(tmp_path / "print.db", more_people))
    page = context_for("desktop", "day")
    page.goto(url + "/study/print")
    assert run_axe(page) == []
    assert "around 30 March 2027" in page.inner_text("#next-check")  # ~2.7 valid nights a day
    _shot(page, f"study-print-{3 + more_people}-people")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
