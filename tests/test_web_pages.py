"""The dashboard's HTML pages through the Flask test client: content, forms, CSRF, rooms."""

from __future__ import annotations

import pytest

from monitor.store import Reading, Store
from tests.test_web_api import store_report
from tests.web_fixtures import CRAMP_MS, NODE, NOON_MS, csrf_of, fill

PAGES = [
    "/",
    "/nights",
    "/nights/2026-06-02",
    "/cramps",
    "/evidence",
    "/export",
    "/rooms",
    "/login",
    "/now/live",
    "/cramps/1/edit",
]


def cramps_of(db_path, include_deleted=False):
    with Store.open_readonly(db_path) as s:
        return s.cramps(None, include_deleted=include_deleted)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert "text/html" in r.content_type
    assert "Content-Security-Policy" in r.headers


def test_pages_render_on_an_empty_database(app_factory):
    client = app_factory().test_client()
    for path in ["/", "/nights", "/cramps", "/evidence", "/export", "/rooms"]:
        assert client.get(path).status_code == 200, path
    assert "No readings yet" in client.get("/").get_data(as_text=True)


def test_now_shows_reading_chart_threshold_and_cramp(client):
    html = client.get("/").get_data(as_text=True)
    assert '<span id="temp">17.0</span>' in html
    assert 'id="humid">50</span>' in html
    assert "Last night · Tue 02 → Wed 03 Jun" in html
    assert 'class="threshold"' in html and "cold below 18" in html
    assert html.count('class="cramp-mark"') == 1
    assert "cramp at 03:00" in html
    assert 'id="log-cramp"' in html
    assert "<script>" not in html  # no inline scripts (CSP)


def test_now_shows_alert_banner(app_factory, filled):
    with Store.open(filled) as s:
        s.start_episode(NODE, "cold", NOON_MS - 600_000, 16.5)
    html = app_factory().test_client().get("/").get_data(as_text=True)
    assert "banner-cold" in html and "Cold room" in html and "lowest 16.5" in html


def test_now_shows_sensor_health_in_words(app_factory, filled, db_path):
    with Store.open(db_path) as store:
        store.set_sensor_health(
            NODE,
            status="failing",
            consecutive_failures=7,
            failure_rate=0.5,
            last_good_ms=NOON_MS - 3_600_000,
            last_error="DHT sensor not found, check wiring",
            updated_ms=NOON_MS,
        )
    html = app_factory().test_client().get("/").get_data(as_text=True)
    assert "Not answering" in html and "50% of recent reads failed" in html
    assert "DHT sensor not found, check wiring" in html
    assert "updated ms" not in html  # no raw field names on the page


def test_log_a_cramp_then_details(client, filled):
    token = csrf_of(client)
    r = client.post("/cramps/log", data={"csrf_token": token})
    assert r.status_code == 302 and "/edit" in r.headers["Location"]
    cramps = cramps_of(filled)
    assert len(cramps) == 2 and cramps[-1].ts_ms == NOON_MS and cramps[-1].source == "web"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Cramp logged at 12:00" in page
    r = client.post(
        f"/cramps/{cramps[-1].id}/edit",
        data={
            "csrf_token": token,
            "when": "2026-06-03T12:00",
            "leg": "both",
            "severity": "4",
            "remedy": "stretch",
            "relief_min": "3",
            "note": "  left calf  ",
        },
    )
    assert r.status_code == 302
    saved = cramps_of(filled)[-1]
    assert (saved.leg, saved.severity, saved.remedy, saved.relief_min, saved.note) == (
        "both",
        4,
        "stretch",
        3.0,
        "left calf",
    )
    assert saved.ts_ms == NOON_MS  # an unchanged time field does not round the instant
    log = client.get("/cramps").get_data(as_text=True)
    assert "stretch" in log and "What helped fastest" in log


def test_forms_without_csrf_token_are_refused(client, filled):
    assert client.post("/cramps/log").status_code == 400
    assert client.post("/cramps/log", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/cramps/1/delete", data={}).status_code == 400
    assert client.post("/cramps/1/edit", data={"severity": "1"}).status_code == 400
    assert len(cramps_of(filled)) == 1
    assert cramps_of(filled)[0].severity is None


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("severity", "9", "severity"),
        ("severity", "two", "severity"),
        ("leg", "arm", "leg"),
        ("remedy", "wine", "remedy"),
        ("relief_min", "-2", "relief"),
        ("relief_min", "nan", "relief"),
        ("when", "tomorrow", "time"),
        ("when", "2030-01-01T00:00", "future"),
        ("note", "x" * 2001, "note"),
    ],
)
def test_bad_details_are_refused_and_change_nothing(client, filled, field, value, reason):
    token = csrf_of(client)
    r = client.post("/cramps/1/edit", data={"csrf_token": token, "leg": "right", field: value})
    assert r.status_code == 400
    assert reason in r.get_data(as_text=True)
    assert cramps_of(filled)[0].leg == "left"


def test_delete_and_undo(client, filled):
    token = csrf_of(client)
    r = client.post("/cramps/1/delete", data={"csrf_token": token})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Removed the cramp" in page and 'id="undo"' in page
    assert cramps_of(filled) == []
    r = client.post("/cramps/1/restore", data={"csrf_token": token})
    assert r.status_code == 302
    assert len(cramps_of(filled)) == 1


def test_a_cramp_undone_on_the_button_can_be_restored_later(client, filled, db_path):
    with Store.open(db_path) as store:
        (cramp,) = store.cramps(NODE)
        store.delete_cramp(cramp.id, now_ms=NOON_MS - 60_000)  # the 3-s hold, an hour ago
    page = client.get("/cramps").get_data(as_text=True)
    assert 'id="recently-deleted"' in page and f'action="/cramps/{cramp.id}/restore"' in page
    r = client.post(f"/cramps/{cramp.id}/restore", data={"csrf_token": csrf_of(client)})
    assert r.status_code == 302 and [c.id for c in cramps_of(filled)] == [cramp.id]
    assert 'id="recently-deleted"' not in client.get("/cramps").get_data(as_text=True)


def test_unknown_cramp_page_is_404(client):
    assert client.get("/cramps/42/edit").status_code == 404
    token = csrf_of(client)
    assert client.post("/cramps/42/delete", data={"csrf_token": token}).status_code == 404


def test_notes_are_escaped(client, filled):
    with Store.open(filled) as s:
        s.update_cramp(1, now_ms=NOON_MS, note="<script>alert(1)</script>")
    html = client.get("/cramps").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_nights_page_and_paging(client):
    html = client.get("/nights").get_data(as_text=True)
    # Named by both dates, the one that just ended as "Last night" (it is noon on Wed 03).
    assert "Last night · Tue 02 → Wed 03 Jun" in html and "Mon 01 → Tue 02 Jun" in html
    assert 'href="/nights/2026-06-02"' in html
    assert client.get("/nights?page=x").status_code == 400
    assert "No nights" not in client.get("/nights?page=0").get_data(as_text=True)


def test_night_page_chart(client):
    html = client.get("/nights/2026-06-02").get_data(as_text=True)
    assert "<svg" in html and 'class="cramp-mark"' in html
    assert client.get("/nights/not-a-date").status_code == 404


def test_evidence_page_without_report(client):
    html = client.get("/evidence").get_data(as_text=True)
    assert "No report yet" in html
    assert "Garrison" in html and "doctor" in html


def test_evidence_page_with_an_old_report(client, filled, monkeypatch):
    """A stored version-1 report (no planned checks): it renders, says it will be redone, and
    keeps its crude figures under the toggle (tests/test_web_evidence.py: version 2)."""
    store_report(monkeypatch, filled, NOON_MS - 2 * 86_400_000 - 4 * 3_600_000 + 5 * 60_000)
    html = client.get("/evidence").get_data(as_text=True)
    assert 'id="verdict"' in html and "will be redone at the next morning job" in html
    assert "computed 08:05, 2 nights ago" in html
    toggle = html[html.index('<details id="more-figures"') :]
    assert "1.80 (95% CI 1.10–2.90)" in toggle  # logistic
    assert "2.13 (95% CI 1.20–3.60)" in toggle  # relative risk
    assert "1.80" not in html[: html.index('<details id="more-figures"')]
    assert 'id="key-number"' not in html  # the crude figure is no longer the key number
    assert "Cramp nights" in html and "n=" in html
    # The band chart is the report's dose-response table, not a recount of the nights.
    assert "16–17 °C" in html and "n=10" in html and "19–20 °C" in html and "n=30" in html


def test_export_csv(client):
    r = client.get("/export/readings.csv")
    assert r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).splitlines()
    assert lines[0] == "timestamp,temperature_c,humidity_pct"
    assert len(lines) > 2000
    cr = client.get("/export/cramps.csv").get_data(as_text=True).splitlines()
    assert cr[0].startswith("timestamp,leg,severity,note")
    assert cr[1].startswith("2026-06-03T01:00:00Z,left")


def test_error_page_is_html(client):
    r = client.get("/nowhere")
    assert r.status_code == 404 and "text/html" in r.content_type


# -- night mode -----------------------------------------------------------------------------


def test_night_mode_in_the_night_window(app_factory, filled):
    from monitor.clock import FakeClock

    night = app_factory(clock=FakeClock(CRAMP_MS)).test_client()
    assert '<body class="night"' in night.get("/").get_data(as_text=True)
    day = app_factory().test_client()
    assert '<body class="day"' in day.get("/").get_data(as_text=True)


def test_night_mode_on_demand(client):
    r = client.get("/mode?set=night&next=/nights")
    assert r.status_code == 302 and r.headers["Location"] == "/nights"
    assert '<body class="night"' in client.get("/").get_data(as_text=True)
    client.get("/mode?set=auto")
    assert '<body class="day"' in client.get("/").get_data(as_text=True)
    assert client.get("/mode?set=purple").status_code == 400
    assert client.get("/mode?set=day&next=//evil.example").headers["Location"] == "/"


# -- rooms ----------------------------------------------------------------------------------


def test_single_room_has_no_picker(client):
    html = client.get("/").get_data(as_text=True)
    assert "room-select" not in html and 'href="/rooms"' not in html


def test_rooms_picker_overview_and_cookie(app_factory, filled):
    with Store.open(filled) as s:
        fill(s, "kids", NOON_MS - 3_600_000, NOON_MS - 1_800_000 + 1, temp=lambda ts: 15.5)
        s.start_episode("kids", "cold", NOON_MS - 3_000_000, 15.5)
    client = app_factory().test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'id="room-select"' in html and '<option value="kids"' in html
    rooms = client.get("/rooms").get_data(as_text=True)
    assert "kids" in rooms and "testroom" in rooms and "pill-cold" in rooms
    assert "30 min ago" in rooms  # kids' last reading
    r = client.get("/room?id=kids&next=/")
    assert "bedside_room=kids" in r.headers["Set-Cookie"]
    assert '<span id="temp">15.5</span>' in client.get("/").get_data(as_text=True)
    assert client.get("/api/current").get_json()["node"] == "kids"
    assert client.get("/room?id=nope").status_code == 404


# -- password -------------------------------------------------------------------------------


def test_password_protects_form_writes(app_factory, filled):
    client = app_factory({"web": {"password": "s3cret"}}).test_client()
    token = csrf_of(client)
    r = client.post("/cramps/log", data={"csrf_token": token})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert len(cramps_of(filled)) == 1
    token = csrf_of(client, "/login")
    bad = client.post("/login", data={"csrf_token": token, "password": "nope"})
    assert bad.status_code == 401
    assert client.post("/login", data={"password": "s3cret"}).status_code == 400  # no token
    ok = client.post("/login", data={"csrf_token": token, "password": "s3cret", "next": "/"})
    assert ok.status_code == 302
    token = csrf_of(client)  # a fresh token after login
    assert client.post("/cramps/log", data={"csrf_token": token}).status_code == 302
    assert len(cramps_of(filled)) == 2
    # A logged-in browser may use the API with its CSRF header.
    r = client.post(
        "/api/cramps", json={"ts": "2026-06-03T09:00:00Z"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 201


def test_every_route_that_writes_is_guarded(app):
    """Each route taking a writing method wears write_required: the API's kind on /api/,
    the form kind elsewhere; only logging in and out go without (they check CSRF)."""
    unguarded = {"auth.login", "auth.logout"}
    for rule in app.url_map.iter_rules():
        if not rule.methods - {"GET", "HEAD", "OPTIONS"} or rule.endpoint in unguarded:
            continue
        kind = getattr(app.view_functions[rule.endpoint], "write_required", None)
        assert kind == ("api" if rule.rule.startswith("/api/") else "form"), rule.rule


def test_a_missing_cramp_is_404_on_the_edit_form_before_the_login_check(app_factory, filled):
    client = app_factory({"web": {"password": "s3cret"}}).test_client()
    token = csrf_of(client, "/login")  # a session, but not logged in
    r = client.post("/cramps/999/edit", data={"csrf_token": token, "leg": "right"})
    assert r.status_code == 404
    for path in ("/cramps/999/delete", "/cramps/999/restore", "/cramps/log"):
        r = client.post(path, data={"csrf_token": token})
        assert r.status_code == 302 and r.headers["Location"] == "/login?next=/", path


def test_live_fragment_follows_new_readings(client, filled, web_clock):
    before = client.get("/api/current").get_json()["version"]
    web_clock.advance(30)
    with Store.open(filled) as s:
        s.add_reading(NODE, Reading(NOON_MS + 30_000, 19.25, 45.0))
    assert client.get("/api/current").get_json()["version"] != before
    assert '<span id="temp">19.2</span>' in client.get("/now/live").get_data(as_text=True)


def test_error_pages_follow_night_mode(app_factory, filled):
    from monitor.clock import FakeClock

    client = app_factory(clock=FakeClock(CRAMP_MS)).test_client()
    r = client.get("/no/such/page")
    assert r.status_code == 404 and '<body class="night"' in r.get_data(as_text=True)


def test_strip_plot_bins_years_of_nights():
    from web import charts

    few = charts.strip_plot([("a", [17.0, 18.5])], threshold=18.0)
    assert few.count("<circle") == 2
    many = charts.strip_plot([("a", [15 + (i % 50) / 10 for i in range(1800)])])
    assert 10 < many.count("<circle") <= 30
    assert "36 nights" in many


def test_evidence_is_per_room(app_factory, filled):
    from tests.evidence_fixtures import store_analysis

    with Store.open(filled) as s:
        fill(s, "kids", NOON_MS - 3_600_000, NOON_MS, temp=lambda ts: 16.0)
        ours = store_analysis(s, NODE, "Europe/Berlin", NOON_MS - 60_000)
        kids = store_analysis(s, "kids", "Europe/Berlin", NOON_MS - 60_000)
    assert ours["summary"] != kids["summary"]
    client = app_factory().test_client()
    first = client.get("/evidence").get_data(as_text=True)
    client.get("/room?id=kids")
    second = client.get("/evidence").get_data(as_text=True)
    assert f'id="verdict">{ours["summary"]}</p>' in first
    assert f'id="verdict">{kids["summary"]}</p>' in second
    assert ours["summary"] not in second
    body = client.get("/api/evidence?node=kids").get_json()
    assert body["node"] == "kids" and body["report"]["nights"]["valid"] == 0
    assert body["verdict_sentence"] == kids["summary"]


def test_night_page_keeps_day_mode_by_day(client):
    html = client.get("/nights/2026-06-02").get_data(as_text=True)
    assert '<body class="day"' in html
    assert "Last night · Tue 02 → Wed 03 Jun" in html
    assert "to 08:00 on Wednesday 03 June 2026" in html


def test_logout_favicon_and_all_rooms_export(app_factory, filled):
    with Store.open(filled) as s:
        fill(s, "kids", NOON_MS - 120_000, NOON_MS, temp=lambda ts: 16.0)
    client = app_factory({"web": {"password": "pw"}}).test_client()
    token = csrf_of(client, "/login")
    client.post("/login", data={"csrf_token": token, "password": "pw"})
    token = csrf_of(client)
    assert "Log out" in client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 400  # no token
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert "Log in" in client.get("/").get_data(as_text=True)
    assert client.get("/favicon.ico").status_code == 301
    csv = client.get("/export/readings.csv?all=1").get_data(as_text=True).splitlines()
    assert csv[0] == "timestamp,temperature_c,humidity_pct,node"
    assert any(line.endswith(",kids") for line in csv)
    assert 'href="/export/cramps.csv?all=1"' in client.get("/export").get_data(as_text=True)
