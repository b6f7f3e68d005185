"""Notifications through apprise to a real HTTP endpoint on loopback, and a stuck one."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from monitor.daemon.alerts import Transition
from monitor.daemon.components import AlertComponent, DaemonContext
from monitor.daemon.notify import Notifier, format_message
from monitor.mqtt.payloads import Topics
from monitor.store import Reading
from tests.support import EVENT_TIMEOUT

BERLIN = ZoneInfo("Europe/Berlin")


def local_ms(text: str) -> int:
    return round(datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp() * 1000)


class Endpoint:
    """A tiny HTTP server: records JSON posts; can fail (500) or hang until released."""

    def __init__(self):
        self.received: list[dict] = []
        self.attempts = 0
        self.fail_first = 0  # answer 500 to this many requests first
        self.hang = False
        self.release = threading.Event()
        self.hanging = threading.Event()  # set while a request is held
        self.cond = threading.Condition()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with endpoint.cond:
                    endpoint.attempts += 1
                    fail = endpoint.attempts <= endpoint.fail_first
                    endpoint.cond.notify_all()
                if endpoint.hang:
                    endpoint.hanging.set()
                    endpoint.release.wait(EVENT_TIMEOUT)
                    return
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if not fail:
                    with endpoint.cond:
                        endpoint.received.append(json.loads(body))
                        endpoint.cond.notify_all()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, predicate) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), EVENT_TIMEOUT)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.close()


def test_messages_in_local_time():
    on = Transition(
        "cold",
        True,
        local_ms("2026-11-21T02:20"),
        local_ms("2026-11-21T02:10"),
        "below",
        temperature_c=16.84,
        min_temp_c=16.8,
    )
    assert format_message(on, "Bedroom", BERLIN, 18.0) == (
        "Bedroom is cold",
        "Bedroom is 16.8 °C, below 18 °C since 02:10",
    )
    off = Transition(
        "cold",
        False,
        local_ms("2026-11-21T04:00"),
        local_ms("2026-11-21T02:10"),
        "clear",
        temperature_c=18.6,
        min_temp_c=16.2,
        end_ms=local_ms("2026-11-21T03:55"),
    )
    title, body = format_message(off, "Bedroom", BERLIN, 18.0)
    assert title == "Bedroom is warm again"
    assert (
        body == "Bedroom is 18.6 °C again; it was below 18 °C from 02:10 to 03:55 (lowest 16.2 °C)"
    )
    stale = Transition(
        "cold",
        False,
        local_ms("2026-11-21T04:00"),
        local_ms("2026-11-21T02:10"),
        "stale",
        min_temp_c=16.2,
        end_ms=local_ms("2026-11-21T03:30"),
    )
    assert "silent since 03:30" in format_message(stale, "Bedroom", BERLIN, 17.5)[1]
    silent = Transition("sensor", True, 0, local_ms("2026-11-21T03:30"), "silent")
    assert "since 03:30" in format_message(silent, "Bedroom", BERLIN, 18.0)[1]


def test_delivered_to_a_real_endpoint(endpoint):
    n = Notifier([endpoint.url], timeout_s=5, retries=0)
    n.start()
    try:
        n.send("Bedroom is cold", "Bedroom is 16.8 °C, below 18 °C since 02:10")
        assert endpoint.wait_for(lambda e: e.received)
        (msg,) = endpoint.received
        assert msg["title"] == "Bedroom is cold"
        assert msg["message"] == "Bedroom is 16.8 °C, below 18 °C since 02:10"
    finally:
        assert n.close()


def test_failures_are_retried_with_backoff(endpoint, caplog):
    endpoint.fail_first = 2
    n = Notifier([endpoint.url], timeout_s=5, retries=3, backoff_s=0.01)
    n.start()
    try:
        with caplog.at_level(logging.WARNING, logger="monitor.daemon.notify"):
            n.send("t", "b")
            assert endpoint.wait_for(lambda e: e.received)
            assert n.worker.wait_idle(EVENT_TIMEOUT)
        assert endpoint.attempts == 3 and (n.sent, n.failed) == (1, 0)
        assert sum("retrying" in r.message for r in caplog.records) == 2
    finally:
        n.close()


def test_gives_up_after_bounded_retries(endpoint, caplog):
    endpoint.fail_first = 100
    n = Notifier([endpoint.url], timeout_s=5, retries=2, backoff_s=0.01)
    n.start()
    try:
        with caplog.at_level(logging.WARNING, logger="monitor.daemon.notify"):
            n.send("t", "b")
            assert n.worker.wait_idle(EVENT_TIMEOUT)
        assert endpoint.attempts == 3 and (n.sent, n.failed) == (0, 1)
        assert any("giving up" in r.message for r in caplog.records)
    finally:
        n.close()


def test_bad_url_is_logged_and_skipped(caplog):
    with caplog.at_level(logging.ERROR, logger="monitor.daemon.notify"):
        n = Notifier(["nonsense-without-scheme"], timeout_s=1, retries=0)
    assert n.targets == [] and "not a URL apprise understands" in caplog.text
    n.send("t", "b")  # nothing to do, nothing breaks
    assert n.close()


class Loop:
    """The AlertComponent as the daemon drives it, with recorded MQTT states."""

    def __init__(self, make_config, store, clock, urls, timeout_s=2):
        _, self.config = make_config(
            {
                "node": {"name": "Bedroom"},
                "sensor": {"interval_s": 30},
                "alerts": {
                    "min_duration_s": 60,
                    "notify": urls,
                    "notify_timeout_s": timeout_s,
                    "notify_retries": 1,
                },
            }
        )
        self.clock = clock
        self.store = store
        self.states: list[tuple[str, bytes]] = []
        self.cond = threading.Condition()

        def set_retained(topic, payload):
            with self.cond:
                self.states.append((topic, payload))
                self.cond.notify_all()

        ctx = DaemonContext(
            self.config, store, clock, Topics("bedside", "testroom"), set_retained, lambda: None
        )
        self.component = AlertComponent(ctx)

    def cycle(self, temp):
        """One read cycle; on_reading runs on its own thread so a stall fails, not hangs."""
        self.clock.advance(30)
        now = self.clock.now_ms()
        reading = None if temp is None else Reading(now, temp)
        if reading is not None:
            self.store.add_reading("testroom", reading)
        done = threading.Event()

        def call():
            self.component.on_reading(reading, now)
            done.set()

        threading.Thread(target=call, daemon=True).start()
        assert done.wait(EVENT_TIMEOUT), "on_reading blocked"

    def wait_state(self, topic, payload, count=1):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.states.count((topic, payload)) >= count, EVENT_TIMEOUT
            )
            assert ok, self.states


def test_stuck_endpoint_does_not_stall_the_read_loop(make_config, store, clock, endpoint):
    endpoint.hang = True
    # The client would wait a minute for this endpoint: it is stuck for the whole test.
    loop = Loop(make_config, store, clock, [endpoint.url], timeout_s=60)
    loop.component.start()
    cold = "bedside/testroom/alert/cold"
    loop.wait_state(cold, b"OFF")
    for _ in range(4):
        loop.cycle(16.5)
    loop.wait_state(cold, b"ON")
    assert endpoint.hanging.wait(EVENT_TIMEOUT)  # the ON message is stuck in the endpoint
    # The read loop and the other outputs carry on while the notification hangs.
    for temp in (17.0, None, 19.0, 19.2):
        loop.cycle(temp)
    loop.wait_state(cold, b"OFF", count=2)
    notifier = loop.component.notifier
    assert endpoint.attempts == 1 and notifier.sent == notifier.failed == 0  # still stuck
    assert loop.component.wait_idle(EVENT_TIMEOUT)
    (episode,) = store.episodes("testroom", kind="cold")
    assert episode.end_ms is not None and episode.min_temp_c == 16.5
    # Shutdown does not hang on the stuck endpoint either.
    closed = threading.Event()
    threading.Thread(target=lambda: (loop.component.close(), closed.set()), daemon=True).start()
    assert closed.wait(EVENT_TIMEOUT)


def test_episode_start_and_end_notified(make_config, store, clock, endpoint):
    loop = Loop(make_config, store, clock, [endpoint.url])
    loop.component.start()
    for temp in (16.9, 16.8, 16.8, 17.0, 18.4, 18.6):
        loop.cycle(temp)
    assert endpoint.wait_for(lambda e: len(e.received) == 2)
    start, end = (m["message"] for m in endpoint.received)
    assert start.startswith("Bedroom is 16.8 °C, below 18 °C since ")
    assert end.startswith("Bedroom is 18.6 °C again") and "(lowest 16.8 °C)" in end
    loop.component.close()
