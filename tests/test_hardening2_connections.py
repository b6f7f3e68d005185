"""Idle connections cannot lock the dashboard, and waitress's connection-limit lines are
rate-limited (issue 21, #5).

waitress stops accepting at ``connection_limit`` open channels and closed idle ones only
after ``channel_timeout`` (120 s by default, checked every ``cleanup_interval``, 30 s):
100 idle TCP connections kept /healthz from answering for minutes.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest
import requests

from web.server import OncePerWindow, ServerThread

# Generous: only keeps a broken run from hanging; the figure goes to the report, not here.
HEALTHZ_WAIT_S = 90


@pytest.mark.slow
def test_idle_connections_past_the_limit_do_not_lock_out_healthz(app):
    server = ServerThread(app).start()
    limit = server.server.adj.connection_limit
    idle: list[socket.socket] = []
    try:
        for _ in range(limit + 20):  # every channel taken, and some more waiting in the backlog
            idle.append(socket.create_connection((server.host, server.port), timeout=10))
        started = time.monotonic()
        r = requests.get(f"{server.url}/healthz", timeout=HEALTHZ_WAIT_S)
        waited = time.monotonic() - started
        assert r.status_code == 200
        print(f"/healthz answered after {waited:.1f} s with {len(idle)} idle sockets open")
        # The idle ones were closed by the server (EOF), not left to hold a channel.
        first = idle[0]
        first.settimeout(HEALTHZ_WAIT_S)
        assert first.recv(1) == b""
    finally:
        for s in idle:
            s.close()
        server.stop()


def test_the_server_closes_idle_channels_within_seconds_and_keeps_a_sane_limit(app):
    server = ServerThread(app)
    try:
        adj = server.server.adj
        assert adj.channel_timeout <= 30 and adj.cleanup_interval <= 5
        # Each channel may hold up to 3 descriptors; the Pi's soft limit is 1024.
        assert adj.connection_limit >= 100 and 3 * adj.connection_limit < 1024 - 100
    finally:
        server.server.close()


def test_connection_limit_lines_are_rate_limited_with_a_count(app, caplog, monkeypatch):
    # A fresh filter: another test's server may have reached its limit a moment ago.
    monkeypatch.setattr(logging.getLogger("waitress"), "filters", [])
    server = ServerThread(app)
    try:
        waitress_log = logging.getLogger("waitress")
        assert any(isinstance(f, OncePerWindow) for f in waitress_log.filters)
        caplog.set_level(logging.INFO, logger="waitress")
        for _ in range(500):  # what a flapping server logs in a few seconds
            waitress_log.warning(
                "total open connections reached the connection limit, "
                "no longer accepting new connections"
            )
            waitress_log.info(
                "total open connections dropped below the connection limit, listening again"
            )
        waitress_log.warning("some other waitress warning")
        waitress_log.warning("some other waitress warning")
    finally:
        server.server.close()
    reached = [r for r in caplog.records if "reached the connection limit" in r.getMessage()]
    dropped = [r for r in caplog.records if "dropped below the connection" in r.getMessage()]
    other = [r for r in caplog.records if "some other" in r.getMessage()]
    assert len(reached) == 1 and len(dropped) == 1
    assert len(other) == 2  # only the connection-limit lines are held back


def test_held_back_connection_lines_are_counted_per_message():
    clock = [0.0]
    f = OncePerWindow(60, monotonic=lambda: clock[0], only=("total open connections",))

    def rec(msg):
        return logging.LogRecord("waitress", logging.WARNING, "", 0, msg, None, None)

    reached = "total open connections reached the connection limit"
    dropped = "total open connections dropped below the connection limit"
    assert f.filter(rec(reached)) and f.filter(rec(dropped))  # each kind says itself once
    assert not any(f.filter(rec(m)) for m in [reached, dropped] * 3)
    assert f.filter(rec("unrelated"))
    clock[0] = 61
    late = rec(reached)
    assert f.filter(late)
    assert late.getMessage() == f"{reached} (3 more such messages in the last 60 s)"
