"""Fixtures for the dashboard tests: a config, a populated store, the app and its client."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from monitor.clock import FakeClock
from monitor.store import Reading, Store

NODE = "testroom"
# 12:00 in Berlin (summer time) on 2026-06-03: daytime, two finished nights behind it.
NOON_MS = int(datetime(2026, 6, 3, 10, 0, tzinfo=UTC).timestamp() * 1000)
# 03:00 Berlin inside the night of 2026-06-02.
CRAMP_MS = int(datetime(2026, 6, 3, 1, 0, tzinfo=UTC).timestamp() * 1000)


def fill(
    store: Store, node: str, start_ms: int, end_ms: int, step_ms: int = 60_000, temp=lambda ts: 17.0
) -> None:
    store.add_readings(
        node, [Reading(ts, temp(ts), 50.0) for ts in range(start_ms, end_ms, step_ms)]
    )


@pytest.fixture
def web_clock():
    return FakeClock(NOON_MS)


@pytest.fixture
def web_config(make_config):
    def make(sections: dict | None = None):
        return make_config(sections)[1]

    return make


@pytest.fixture
def filled(db_path, web_clock):
    """Readings from 2026-06-01 12:00Z up to noon of 2026-06-03 and one cramp at 03:00."""
    store = Store.open(db_path)
    fill(store, NODE, NOON_MS - 46 * 3_600_000, NOON_MS + 1)
    store.add_cramp(NODE, CRAMP_MS, source="button", now_ms=CRAMP_MS, leg="left")
    store.close()
    return db_path


@pytest.fixture
def app_factory(web_config, web_clock):
    from web.app import create_app

    made = []

    def make(sections: dict | None = None, clock=None, **test_config):
        test_config.setdefault("REPORT_JOB_ENABLED", False)
        app = create_app(web_config(sections), clock=clock or web_clock, test_config=test_config)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["bedside"]["job"].stop()
        app.extensions["bedside"]["data"].close()


@pytest.fixture
def app(app_factory, filled):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_of(client, path: str = "/") -> str:
    """The CSRF token of the session, as a page's form carries it."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)
