"""The dashboard's JSON API through the Flask test client: contract, errors, auth."""

from __future__ import annotations

import base64
import re

import pytest

from monitor.analysis import reports
from monitor.errors import UserError
from monitor.store import Reading, Store
from tests.support import run_bedside, write_config
from tests.web_fixtures import CRAMP_MS, NODE, NOON_MS
from web.hosts import is_loopback
from web.server import check_exposure


def cramp_count(db_path) -> int:
    with Store.open_readonly(db_path) as s:
        return len(s.cramps(None, include_deleted=True))


def test_current_reports_newest_reading_and_age(client):
    body = client.get("/api/current").get_json()
    assert body["node"] == NODE
    assert body["reading"]["temperature_c"] == 17.0
    assert body["reading"]["ts"] == "2026-06-03T10:00:00Z"
    assert body["reading"]["age_s"] == 0
    assert body["alerts"] == []
    assert body["last_cramp"] == "2026-06-03T01:00:00Z"


def test_current_without_readings(app_factory):
    body = app_factory().test_client().get("/api/current").get_json()
    assert body["reading"] is None


def test_current_shows_open_alert_episodes_and_silent_sensor(app_factory, filled, web_clock):
    with Store.open(filled) as s:
        s.start_episode(NODE, "cold", NOON_MS - 600_000, 16.5)
    client = app_factory().test_client()
    assert [a["kind"] for a in client.get("/api/current").get_json()["alerts"]] == ["cold"]
    web_clock.advance(3600)  # no reading for an hour: the sensor is silent
    kinds = {a["kind"] for a in client.get("/api/current").get_json()["alerts"]}
    assert kinds == {"cold", "sensor"}


def test_current_unknown_node_is_404(client):
    r = client.get("/api/current?node=nope")
    assert r.status_code == 404
    assert "nope" in r.get_json()["error"]


def test_readings_in_range(client):
    r = client.get("/api/readings?from=2026-06-03T09:55:00Z&to=2026-06-03T10:00:00Z")
    assert r.status_code == 200
    rows = r.get_json()["readings"]
    assert rows[0]["ts"] == "2026-06-03T09:55:00Z"
    assert len(rows) == 5


@pytest.mark.parametrize(
    "query, reason",
    [
        ("", "ISO 8601"),
        ("from=2026-06-03T09:00:00Z", "ISO 8601"),
        ("from=yesterday&to=2026-06-03T10:00:00Z", "ISO 8601"),
        ("from=2026-06-03T09:00:00&to=2026-06-03T10:00:00Z", "offset"),
        ("from=2026-06-03T10:00:00Z&to=2026-06-03T09:00:00Z", "after"),
        ("from=2026-01-01T00:00:00Z&to=2026-06-03T09:00:00Z", "31 days"),
    ],
)
def test_readings_bad_ranges_are_400(client, query, reason):
    r = client.get(f"/api/readings?{query}")
    assert r.status_code == 400
    assert reason in r.get_json()["error"]


def test_nights_lists_newest_first(client):
    nights = client.get("/api/nights").get_json()["nights"]
    assert [n["night"] for n in nights][:2] == ["2026-06-02", "2026-06-01"]
    assert nights[0]["cramps"] == 1
    assert nights[0]["cold"] is True
    assert nights[0]["valid"] is True
    assert nights[0]["start"] == "2026-06-02T18:00:00Z"


@pytest.mark.parametrize("query", ["limit=-1", "limit=abc", "limit=10000", "offset=1.5"])
def test_nights_bad_paging_is_400(client, query):
    r = client.get(f"/api/nights?{query}")
    assert r.status_code == 400
    assert "error" in r.get_json()


def test_cramps_list(client):
    cramps = client.get("/api/cramps").get_json()["cramps"]
    assert len(cramps) == 1
    assert cramps[0]["leg"] == "left" and cramps[0]["source"] == "button"


def test_post_cramp_defaults_to_now_and_is_idempotent(client, filled):
    r = client.post(
        "/api/cramps",
        json={"leg": "right", "severity": 3, "remedy": "stretch", "relief_min": 4, "note": "calf"},
    )
    assert r.status_code == 201
    cramp = r.get_json()["cramp"]
    assert cramp["ts"] == "2026-06-03T10:00:00Z"
    assert (cramp["leg"], cramp["severity"], cramp["remedy"], cramp["relief_min"]) == (
        "right",
        3,
        "stretch",
        4,
    )
    again = client.post("/api/cramps", json={"ts": "2026-06-03T10:00:00Z"})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert cramp_count(filled) == 2


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"severity": 6}, "severity"),
        ({"severity": "3"}, "severity"),
        ({"severity": True}, "severity"),
        ({"leg": "middle"}, "leg"),
        ({"remedy": "quinine"}, "remedy"),
        ({"relief_min": -1}, "relief_min"),
        ({"relief_min": 1e9}, "relief_min"),
        ({"note": 5}, "note"),
        ({"note": "x" * 2001}, "note"),
        ({"ts": "2026-06-03T09:00:00"}, "offset"),
        ({"ts": 1780000000000}, "ts"),
        ({"ts": "2031-01-01T00:00:00Z"}, "future"),
        ({"ts": "2020-01-01T00:00:00Z"}, "before"),
        ({"colour": "red"}, "unknown field"),
        ([1, 2], "JSON object"),
        ("text", "JSON object"),
    ],
)
def test_post_cramp_rejects_bad_fields_and_writes_nothing(client, filled, body, reason):
    r = client.post("/api/cramps", json=body)
    assert r.status_code == 400
    assert reason in r.get_json()["error"]
    assert cramp_count(filled) == 1


def test_post_cramp_needs_json(client, filled):
    r = client.post(
        "/api/cramps", data="leg=left", content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 415
    r = client.post("/api/cramps", data="{not json", content_type="application/json")
    assert r.status_code == 400 and "not valid JSON" in r.get_json()["error"]
    r = client.post("/api/cramps", data=b"{}" + b" " * 70_000, content_type="application/json")
    assert r.status_code == 413 and "error" in r.get_json()
    assert cramp_count(filled) == 1


def test_patch_delete_restore(client, filled):
    cid = client.get("/api/cramps").get_json()["cramps"][0]["id"]
    r = client.patch(f"/api/cramps/{cid}", json={"severity": 2, "note": "woke me"})
    assert r.status_code == 200
    assert r.get_json()["cramp"]["severity"] == 2
    assert r.get_json()["cramp"]["leg"] == "left"  # untouched fields stay

    bad = client.patch(f"/api/cramps/{cid}", json={"severity": 0, "note": "lost"})
    assert bad.status_code == 400
    with Store.open_readonly(filled) as s:
        assert s.get_cramp(cid).note == "woke me"  # nothing half-written

    r = client.delete(f"/api/cramps/{cid}")
    assert r.status_code == 200 and r.get_json()["cramp"]["deleted"] is True
    assert client.get("/api/cramps").get_json()["cramps"] == []
    listed = client.get("/api/cramps?include_deleted=1").get_json()["cramps"]
    assert listed[0]["deleted"] is True
    r = client.post(f"/api/cramps/{cid}/restore", json={})
    assert r.status_code == 200 and r.get_json()["cramp"]["deleted"] is False
    assert len(client.get("/api/cramps").get_json()["cramps"]) == 1


def test_patch_moving_onto_another_cramp_is_409(client):
    other = client.post("/api/cramps", json={}).get_json()["cramp"]
    r = client.patch(f"/api/cramps/{other['id']}", json={"ts": "2026-06-03T01:00:00Z"})
    assert r.status_code == 409


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_unknown_cramp_is_404(client, method):
    r = getattr(client, method)("/api/cramps/999", json={"severity": 1})
    assert r.status_code == 404
    assert "999" in r.get_json()["error"]
    assert client.post("/api/cramps/999/restore", json={}).status_code == 404


def test_wrong_method_is_405_json(client):
    r = client.put("/api/cramps", json={})
    assert r.status_code == 405
    assert "error" in r.get_json()
    assert "POST" in r.headers["Allow"]


def test_unknown_api_path_is_404_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "error" in r.get_json()


def test_evidence_without_report(client):
    body = client.get("/api/evidence").get_json()
    assert body["report"] is None
    assert body["stale"] is True


SPEC_REPORT = {
    "nights": {"valid": 40, "cramp": 12, "cold": 15},
    "cold_threshold_c": 18.0,
    "table": {"cold_cramp": 8, "cold_no_cramp": 7, "warm_cramp": 4, "warm_no_cramp": 21},
    "fisher_p": 0.012,
    "relative_risk": {"estimate": 2.13, "ci_low": 1.2, "ci_high": 3.6},
    "mann_whitney": {"u": 120.0, "p": 0.02},
    "logistic": {"or_per_degree_colder": 1.8, "ci_low": 1.1, "ci_high": 2.9, "p": 0.01},
    "case_crossover": None,
    "verdict": "supports",
    "nights_needed": 25,
    # Extras in the shape monitor/analysis/stats.py stores them.
    "dose_response": [
        {"from_c": 16, "to_c": 17, "nights": 10, "cramp_nights": 6, "rate": 0.6},
        {"from_c": 19, "to_c": 20, "nights": 30, "cramp_nights": 6, "rate": 0.2},
    ],
    "humidity": {
        "nights": 40,
        "or_per_pct_more_humid": 1.1,
        "ci_low": 0.9,
        "ci_high": 1.3,
        "p": 0.4,
    },
    "power": {"power": 0.8, "nights": 40, "smallest_detectable_or_per_degree": 2.1},
    "summary": "Colder nights went with more cramps.",
}


def store_report(monkeypatch, db_path, created_ms: int, data_version: int | None = None):
    """Store a report as `bedside report` does (monitor.analysis.reports.save_report)."""
    with Store.open(db_path) as s:
        version = s.data_version() if data_version is None else data_version
        return reports.save_report(s, NODE, SPEC_REPORT, {}, version, created_ms)


def test_evidence_returns_the_stored_report(client, filled, monkeypatch):
    store_report(monkeypatch, filled, NOON_MS - 3_600_000)
    body = client.get("/api/evidence").get_json()
    assert body["report"]["verdict"] == "supports"
    assert body["report"]["logistic"]["ci_low"] == 1.1
    assert body["stale"] is False
    assert body["computed"] == "2026-06-03T09:00:00Z"


def test_evidence_older_than_the_data_is_stale(client, filled, monkeypatch):
    store_report(monkeypatch, filled, NOON_MS - 3_600_000, data_version=0)
    with Store.open(filled) as s:
        s.add_cramp(NODE, CRAMP_MS + 60_000, source="cli", now_ms=NOON_MS)
    assert client.get("/api/evidence").get_json()["stale"] is True


def test_evidence_older_than_last_night_is_stale(client, filled, monkeypatch):
    store_report(monkeypatch, filled, NOON_MS - 30 * 3_600_000)
    assert client.get("/api/evidence").get_json()["stale"] is True


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["ok"] is True
    assert body["newest_reading"] == "2026-06-03T10:00:00Z"


def test_openapi_matches_routes(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/healthz":
            path = re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule).replace("{cramp_id}", "{id}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                served.add((path, method))
    assert documented == served


def test_security_headers(client):
    r = client.get("/api/current")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"


# -- with a password ------------------------------------------------------------------------


@pytest.fixture
def locked(app_factory, filled):
    return app_factory({"web": {"password": "s3cret"}}).test_client()


def test_writes_need_the_password(locked, filled):
    r = locked.post("/api/cramps", json={})
    assert r.status_code == 401
    assert "password" in r.get_json()["error"]
    assert (
        locked.post("/api/cramps", json={}, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    assert locked.delete("/api/cramps/1").status_code == 401
    assert locked.patch("/api/cramps/1", json={"severity": 1}).status_code == 401
    assert locked.post("/api/cramps/1/restore").status_code == 401
    assert cramp_count(filled) == 1
    assert locked.get("/api/cramps").status_code == 200  # reading stays open


def test_bearer_and_basic_auth_write(locked, filled):
    r = locked.post("/api/cramps", json={}, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 201
    basic = base64.b64encode(b"me:s3cret").decode()
    r = locked.patch(
        "/api/cramps/1", json={"severity": 4}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200
    bad = locked.post(
        "/api/cramps", json={"ts": "2026-06-03T09:00:00Z"}, headers={"Authorization": "Basic !!!"}
    )
    assert bad.status_code == 401


# -- serving ---------------------------------------------------------------------------------


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_network_host_needs_password(web_config):
    with pytest.raises(UserError) as err:
        check_exposure(web_config(), "0.0.0.0")
    assert err.value.exit_code == 2 and "[web] password" in str(err.value)
    check_exposure(web_config({"web": {"password": "x"}}), "0.0.0.0")
    check_exposure(web_config({"web": {"allow_anonymous_writes": True}}), "0.0.0.0")
    check_exposure(web_config(), "127.0.0.1")


def test_bedside_web_refuses_open_network_host(tmp_path):
    path = write_config(
        tmp_path / "c.toml",
        {
            "node": {"id": "r", "timezone": "UTC"},
            "storage": {"database": str(tmp_path / "b.db")},
            "web": {"host": "0.0.0.0"},
        },
    )
    result = run_bedside("web", config=path)
    assert result.returncode == 2
    assert "refusing to serve 0.0.0.0 without [web] password" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cross_site_form_cannot_restore_a_deleted_cramp(client, filled):
    (cramp,) = client.get("/api/cramps").get_json()["cramps"]
    client.delete(f"/api/cramps/{cramp['id']}")
    forged = client.post(
        f"/api/cramps/{cramp['id']}/restore",
        data={"x": "1"},
        headers={"Origin": "http://evil.example"},
    )
    assert forged.status_code == 415 and "application/json" in forged.get_json()["error"]
    assert client.get("/api/cramps").get_json()["cramps"] == []  # still deleted


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "192.168.1.5"])
def test_a_loopback_dashboard_answers_only_to_loopback_names(client, host):
    r = client.get("/api/current", headers={"Host": host})
    assert r.status_code == 400 and "localhost" in r.get_json()["error"]
    assert client.get("/api/current", headers={"Host": "127.0.0.1:8080"}).status_code == 200
    assert client.get("/api/current", headers={"Host": "[::1]:8080"}).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/nights?limit=²",
        "/api/cramps?offset=²",
        "/nights?page=²",
        "/cramps?page=²",
        "/cramps?deleted=99999999999999999999",
        "/cramps?saved=²",
    ],
)
def test_odd_numbers_in_query_strings_are_refused_or_ignored_not_500(client, filled, url):
    assert client.get(url).status_code in (200, 400)


@pytest.mark.parametrize(
    "target", ["/%09/evil.com", "//evil.com", "/\\evil.com", "/%0a/x", "https://evil.com"]
)
def test_redirect_after_a_mode_switch_never_leaves_the_site(client, target):
    from urllib.parse import unquote

    r = client.get(f"/mode?set=day&next={target}")
    location = r.headers.get("Location", "")
    assert r.status_code in (302, 303) and location.startswith("/")
    assert not location.startswith("//") and "evil" not in unquote(location)


def test_a_reading_stamped_in_the_future_does_not_stand_for_now(client, filled):
    before = client.get("/api/current").get_json()["reading"]
    with Store.open(filled) as s:
        s.add_readings("testroom", [Reading(NOON_MS + 23 * 3_600_000, 30.0, 10.0)])
    assert client.get("/api/current").get_json()["reading"] == before
