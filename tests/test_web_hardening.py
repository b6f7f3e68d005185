"""The dashboard against a hostile client: password guessing, stolen session cookies,
DNS rebinding, a TLS-terminating proxy, and bodies built to crash a parser."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.web_fixtures import csrf_of
from web.server import OncePerWindow

PASSWORD = "s3cret"


@pytest.fixture
def locked_app(app_factory, filled):
    return app_factory({"web": {"password": PASSWORD}})


def _login(client, password: str):
    token = csrf_of(client, "/login")
    return client.post("/login", data={"csrf_token": token, "password": password})


def _basic(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"me:{password}".encode()).decode()}


# -- password guessing ---------------------------------------------------------------------


def test_ten_wrong_passwords_lock_the_client_out_of_every_password_check(
    locked_app, web_clock, caplog
):
    client = locked_app.test_client()
    caplog.set_level(logging.WARNING, logger="web.security")
    for _ in range(10):
        assert _login(client, "guess").status_code == 401
    # Right or wrong, form, Bearer or Basic: 429 with a Retry-After of at least a minute.
    refused = [
        _login(client, PASSWORD),
        client.post("/api/cramps", json={}, headers={"Authorization": f"Bearer {PASSWORD}"}),
        client.post("/api/cramps", json={}, headers=_basic(PASSWORD)),
        client.post("/api/cramps", json={}, headers={"Authorization": "Bearer wrong"}),
    ]
    for r in refused:
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 60
    assert "too many wrong passwords" in refused[1].get_json()["error"]
    assert "too many wrong passwords" in refused[0].get_data(as_text=True)
    locks = [r for r in caplog.records if "wrong passwords from" in r.getMessage()]
    assert len(locks) == 1  # logged once, not per refused request
    # Another client is not locked out ...
    other = locked_app.test_client()
    r = other.post(
        "/api/cramps",
        json={},
        headers={"Authorization": f"Bearer {PASSWORD}"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert r.status_code == 201
    # ... and once the window has passed, the first client may try again.
    web_clock.advance(15 * 60 + 1)
    assert _login(client, PASSWORD).status_code == 302


def test_retry_after_counts_down_and_right_passwords_do_not_count(locked_app, web_clock):
    client = locked_app.test_client()
    for _ in range(9):
        assert _login(client, "guess").status_code == 401
        assert _login(client, PASSWORD).status_code == 302  # right ones are not guesses
    web_clock.advance(60)
    assert _login(client, "guess").status_code == 401  # the tenth wrong one
    first = int(_login(client, PASSWORD).headers["Retry-After"])
    web_clock.advance(5 * 60)
    later = _login(client, PASSWORD)
    assert later.status_code == 429
    assert int(later.headers["Retry-After"]) == max(60, first - 300)


# -- sessions --------------------------------------------------------------------------------


def _stolen_cookie_writes(app, cookie: str, token: str):
    thief = app.test_client()
    thief.set_cookie("bedside_session", cookie)
    return thief.post("/api/cramps", json={}, headers={"X-CSRF-Token": token})


def test_logout_revokes_every_session_cookie_issued_before(locked_app):
    client = locked_app.test_client()
    assert _login(client, PASSWORD).status_code == 302
    token = csrf_of(client)
    cookie = client.get_cookie("bedside_session").value
    assert _stolen_cookie_writes(locked_app, cookie, token).status_code == 201  # it works ...
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    r = _stolen_cookie_writes(locked_app, cookie, token)  # ... until the logout
    assert r.status_code == 401


def test_a_new_password_revokes_old_sessions_also_across_a_restart(app_factory, filled):
    first = app_factory({"web": {"password": "old-one"}})
    client = first.test_client()
    assert _login(client, "old-one").status_code == 302
    token = csrf_of(client)
    cookie = client.get_cookie("bedside_session").value
    again = app_factory({"web": {"password": "old-one"}})  # a restart keeps sessions
    assert _stolen_cookie_writes(again, cookie, token).status_code == 201
    changed = app_factory({"web": {"password": "new-one"}})
    assert _stolen_cookie_writes(changed, cookie, token).status_code == 401


def test_a_logout_is_remembered_across_a_restart(app_factory, filled):
    app = app_factory({"web": {"password": PASSWORD}})
    client, spare = app.test_client(), app.test_client()
    _login(client, PASSWORD)
    _login(spare, PASSWORD)
    token = csrf_of(spare)
    cookie = spare.get_cookie("bedside_session").value
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    restarted = app_factory({"web": {"password": PASSWORD}})
    assert _stolen_cookie_writes(restarted, cookie, token).status_code == 401


# -- hosts -----------------------------------------------------------------------------------


@pytest.fixture
def lan_app(app_factory, filled):
    return app_factory({"web": {"host": "0.0.0.0", "password": PASSWORD}})


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "rebind.attacker.test"])
def test_a_network_dashboard_refuses_foreign_host_names(lan_app, host):
    r = lan_app.test_client().get("/api/current", headers={"Host": host})
    assert r.status_code == 400
    assert "allowed_hosts" in r.get_json()["error"]


def test_a_network_dashboard_answers_to_its_own_names_and_addresses(lan_app):
    import socket

    client = lan_app.test_client()
    short = socket.gethostname().split(".")[0]
    for host in (short, f"{short}.local:8080", "localhost:8080", "192.168.1.5", "[fe80::1]:80"):
        assert client.get("/api/current", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_is_the_exact_list_when_set(app_factory, filled):
    app = app_factory(
        {"web": {"host": "0.0.0.0", "password": PASSWORD, "allowed_hosts": ["bed.example"]}}
    )
    client = app.test_client()
    assert client.get("/api/current", headers={"Host": "bed.example:8080"}).status_code == 200
    assert client.get("/api/current", headers={"Host": "192.168.1.5"}).status_code == 400
    r = client.get("/", headers={"Host": "evil.example"})
    assert r.status_code == 400 and "bed.example" in r.get_data(as_text=True)


# -- behind a TLS-terminating reverse proxy ---------------------------------------------------


def test_behind_a_proxy_the_cookie_is_secure_and_guesses_count_per_real_client(app_factory, filled):
    """The real waitress server, with this test at 127.0.0.1 playing the proxy (its
    headers are believed from [web] trusted_proxy only: tests/test_hardening2_proxy.py
    puts a real nginx in front and forges from another address)."""
    import socket

    import requests

    from web.server import ServerThread

    app = app_factory({"web": {"password": PASSWORD, "behind_proxy": True}})
    server = ServerThread(app).start()
    own = socket.gethostname().split(".")[0] + ".local"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": own}

    def post(headers):
        return requests.post(f"{server.url}/api/cramps", json={}, headers=headers, timeout=30)

    try:
        r = requests.get(f"{server.url}/login", headers=forwarded, timeout=30)
        assert r.status_code == 200
        assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
        # Two phones behind the same proxy: one guessing does not lock the other out.
        for _ in range(10):
            guess = {**forwarded, "X-Forwarded-For": "192.0.2.10", "Authorization": "Bearer x"}
            assert post(guess).status_code == 401
        right = {"Authorization": f"Bearer {PASSWORD}"}
        assert post({**forwarded, "X-Forwarded-For": "192.0.2.10", **right}).status_code == 429
        assert post({**forwarded, "X-Forwarded-For": "192.0.2.11", **right}).status_code == 201
        # A rebinding name forwarded by the proxy is still refused.
        bad = requests.get(
            f"{server.url}/api/current",
            headers={**forwarded, "X-Forwarded-Host": "evil.example"},
            timeout=30,
        )
        assert bad.status_code == 400
    finally:
        server.stop()


# -- hostile bodies --------------------------------------------------------------------------

NESTED = "[" * 1000 + "]" * 1000
SURROGATE_NOTE = '{"note": "\\ud800"}'
HOSTILE = {"nested": NESTED, "surrogate": SURROGATE_NOTE}


@pytest.mark.parametrize("body", list(HOSTILE))
@pytest.mark.parametrize(
    "method, path",
    [("POST", "/api/cramps"), ("PATCH", "/api/cramps/1"), ("POST", "/api/cramps/1/restore")],
)
def test_hostile_json_bodies_are_400_with_a_reason(client, filled, method, path, body):
    from tests.test_badinput_web import snapshot

    before = snapshot(filled)
    r = client.open(
        path, method=method, data=HOSTILE[body], headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.get_data(as_text=True)[:200]
    assert r.get_json()["error"]
    assert snapshot(filled) == before


@pytest.mark.parametrize("note", ["a\x00b", "bell\x07", "esc\x1b[31m", "cr\ronly", "a\x85b"])
def test_notes_with_control_characters_are_refused_everywhere(client, filled, note):
    r = client.post("/api/cramps", json={"note": note})
    assert r.status_code == 400 and "control characters" in r.get_json()["error"]
    token = csrf_of(client)
    r = client.post("/cramps/1/edit", data={"csrf_token": token, "note": note})
    assert r.status_code == 400 and "control characters" in r.get_data(as_text=True)


def test_notes_keep_newlines_and_tabs(client, filled):
    note = "woke up\r\nleft calf\tbad"
    r = client.post("/api/cramps", json={"note": note})
    assert r.status_code == 201 and r.get_json()["cramp"]["note"] == note


# -- logs under load -------------------------------------------------------------------------


def test_waitress_queue_warnings_are_one_line_per_minute_not_per_request(app, caplog):
    """Under load waitress warned 'Task queue depth is N' once per request."""
    import requests

    from web.server import ServerThread

    server = ServerThread(app, threads=1).start()
    try:
        caplog.set_level(logging.WARNING, logger="waitress")
        queue_log = logging.getLogger("waitress.queue")
        assert any(isinstance(f, OncePerWindow) for f in queue_log.filters)
        for _ in range(200):  # what waitress does for each request that waits
            queue_log.warning("Task queue depth is %d", 3)
        assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 200
    finally:
        server.stop()
    depth = [r for r in caplog.records if "Task queue depth" in r.getMessage()]
    assert len(depth) == 1


def test_the_held_back_count_is_said_with_the_next_line():
    clock = [0.0]
    f = OncePerWindow(60, monotonic=lambda: clock[0])
    records = [
        logging.LogRecord("waitress.queue", 30, "", 0, "depth %d", (i,), None) for i in range(5)
    ]
    assert [f.filter(r) for r in records[:4]] == [True, False, False, False]
    clock[0] = 61
    assert f.filter(records[4])
    assert records[4].getMessage() == "depth 4 (3 more such messages in the last 60 s)"
