"""Fixtures of the browser tests: one headless Chromium per module, the app served over HTTP."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: run the README's test command (scripts/test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def serve(app_factory):
    from web.server import ServerThread

    servers = []

    def start(sections=None, clock=None):
        server = ServerThread(app_factory(sections, clock=clock)).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()
