"""`bedside web` and `bedside demo` as real processes, and the pieces they are built from."""

from __future__ import annotations

import json
import signal
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.store import Store
from tests.support import free_port, start_bedside, stop_process, wait_port, write_config
from tests.web_fixtures import NODE
from web import demo, security


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def test_bedside_web_serves_and_stops_on_sigterm(tmp_path):
    port = free_port()
    path = write_config(
        tmp_path / "c.toml",
        {
            "node": {"id": "r1", "timezone": "UTC"},
            "storage": {"database": str(tmp_path / "b.db")},
            "web": {"port": port},
        },
    )
    proc = start_bedside("web", config=path, log=tmp_path / "web.log")
    try:
        wait_port("127.0.0.1", port)
        assert get_json(f"http://127.0.0.1:{port}/healthz")["ok"] is True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
            assert r.headers["Server"] == "bedside"  # waitress, not Werkzeug's debug server
    finally:
        code = stop_process(proc, signal.SIGTERM)
    assert code == 0, (tmp_path / "web.log").read_text()


@pytest.mark.slow
def test_bedside_demo_fills_history_serves_and_stops(tmp_path):
    port = free_port()
    db = tmp_path / "demo.db"
    proc = start_bedside(
        "demo",
        "--weeks",
        "2",
        "--port",
        str(port),
        "--database",
        str(db),
        log=tmp_path / "demo.log",
    )
    try:
        wait_port("127.0.0.1", port, timeout=120)
        current = get_json(f"http://127.0.0.1:{port}/api/current")
        assert current["reading"] is not None
        nights = get_json(f"http://127.0.0.1:{port}/api/nights")["nights"]
        assert len(nights) >= 10
        assert get_json(f"http://127.0.0.1:{port}/api/cramps")["cramps"]
    finally:
        # Generous: on a loaded machine the demo's first report child (scipy) once held the
        # stop past 30 s; stopping must still end cleanly with 0.
        code = stop_process(proc, signal.SIGINT, timeout=120)
    log = (tmp_path / "demo.log").read_text()
    assert code == 0, log
    assert f"http://127.0.0.1:{port}" in log and "Traceback" not in log


def test_demo_history_has_more_cramps_on_cold_nights(tmp_path, clock):
    with Store.open(tmp_path / "d.db") as s:
        counts = demo.fill_history(s, "demo", "Europe/Berlin", 1, 12, clock.now_ms())
        assert counts["readings"] == 12 * 7 * 2880
        cramps = s.cramps("demo")
    assert counts["cramps"] == len(cramps) > 5
    assert any(c.remedy and c.relief_min is not None for c in cramps)
    assert demo.cramp_probability(15.0) > 3 * demo.cramp_probability(20.0)


def test_demo_history_stores_the_cold_episodes_the_alert_machine_finds(tmp_path, clock):
    from monitor.daemon.alerts import ColdRules

    # The demo's live interval is 5 s (silent after 25 s); history readings are 30 s apart.
    demo_rules = ColdRules(silent_ms=25_000)
    with Store.open(tmp_path / "d.db") as s:
        counts = demo.fill_history(s, "demo", "Europe/Berlin", 1, 3, clock.now_ms(), demo_rules)
        episodes = s.episodes("demo", kind="cold")
        assert counts["cold_episodes"] == len(episodes) > 0
        for e in episodes[:-1]:
            assert e.end_ms is not None and e.end_ms > e.start_ms
            inside = s.readings("demo", e.start_ms, e.end_ms)
            assert e.min_temp_c == min(r.temperature_c for r in inside) < 18.0


def test_demo_config_round_trips_through_toml(tmp_path, web_config):
    from monitor.config import parse

    config = demo.demo_config(web_config(), tmp_path / "x.db", 8099)
    path = demo.write_config(config, tmp_path / "demo.toml")
    again = parse(path.read_text(), str(path))
    assert again.storage.database == str(tmp_path / "x.db")
    assert again.sensor.kind == "simulated" and again.sensor.interval_s == 5.0
    assert again.web.port == 8099 and again.node == config.node
    assert again.study == config.study  # a table value ([study.timezones]) too


def test_demo_config_writes_study_timezones_as_a_table(tmp_path, web_config):
    from monitor.config import parse

    config = web_config({"study.timezones": {"kid": "Australia/Sydney"}})
    path = demo.write_config(config, tmp_path / "demo.toml")
    assert parse(path.read_text(), str(path)).study.timezones == {"kid": "Australia/Sydney"}


def test_generated_secret_is_kept_next_to_the_database(web_config, db_path):
    config = web_config()
    first = security.secret_key(config)
    assert security.secret_key(config) == first
    secret_file = db_path.with_name(db_path.name + ".web-secret")
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert security.secret_key(web_config({"web": {"secret_key": "k"}})) == "k"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            k: json_values | st.sampled_from(["left", "stretch", "2026-06-03T09:00:00Z", 3, 2.5])
            for k in ("ts", "leg", "severity", "note", "remedy", "relief_min")
        },
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, method=st.sampled_from(["post", "patch"]))
def test_fuzzed_cramp_bodies_never_500_and_never_half_write(client, filled, body, method):
    with Store.open_readonly(filled) as s:
        before = [c for c in s.cramps(None, include_deleted=True)]
    url = "/api/cramps" if method == "post" else "/api/cramps/1"
    r = getattr(client, method)(url, json=body)
    assert r.status_code in (200, 201, 400, 409, 415), (r.status_code, r.get_data(as_text=True))
    assert "error" in r.get_json() or r.status_code < 300
    with Store.open_readonly(filled) as s:
        after = s.cramps(None, include_deleted=True)
    if r.status_code >= 400:
        assert after == before
    else:
        assert NODE in {c.node for c in after}


def test_report_job_runs_one_child_at_a_time_and_backs_off(web_config, monkeypatch, tmp_path):
    from web import reportjob

    job = reportjob.ReportJob(web_config())
    marker, go = tmp_path / "ran", tmp_path / "go"
    # The child runs until the test says go: "running" is then a fact, not a race.
    child = (
        "import pathlib, time\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.01)\n"
        f"pathlib.Path({str(marker)!r}).touch()"
    )
    monkeypatch.setattr(job, "command", lambda node: ["python3", "-c", child])
    assert job.start(NODE) is True
    assert job.running()
    assert job.start(NODE) is False  # one at a time
    go.touch()
    assert job.wait(30) == 0
    assert marker.exists() and not job.running()
    assert job.start(NODE) is False  # ran a moment ago: not again on every page view
    monkeypatch.setattr(
        job, "command", lambda node: ["python3", "-c", "raise SystemExit('no data')"]
    )
    assert job.start("other") is True
    assert job.wait(30) == 1
    assert job.last_error == "no data"
    assert job.start("other") is False  # backs off after a failure


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/api/readings",
            "/api/nights",
            "/api/cramps",
            "/api/current",
            "/nights",
            "/cramps",
            "/",
            "/evidence",
            "/api/evidence",
        ]
    ),
    params=st.dictionaries(
        st.sampled_from(
            ["from", "to", "limit", "offset", "node", "room", "page", "include_deleted"]
        ),
        st.text(max_size=30) | st.sampled_from(["2026-06-03T09:00:00Z", "0", "-1", "1e99"]),
        max_size=4,
    ),
)
def test_fuzzed_queries_never_500(client, path, params):
    r = client.get(path, query_string=params)
    assert r.status_code in (200, 400, 404), (path, params, r.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/nights/9999-12-31",
        "/nights/0001-01-01",
        "/cramps/99999999999999999999999/edit",
        "/api/cramps/99999999999999999999999",
    ],
)
def test_absurd_ids_and_dates_are_404(client, path):
    assert client.get(path).status_code in (404, 405)
    assert client.delete(path).status_code in (404, 405)


def test_web_process_never_imports_scipy_or_statsmodels(tmp_path, filled):
    """The dashboard stays light: every page served, and no statistics stack loaded."""
    import subprocess
    import sys

    from tests.support import ROOT

    script = f"""
import sys
from monitor.config import parse
from web.app import create_app
config = parse('[node]\\nid = "{NODE}"\\ntimezone = "Europe/Berlin"\\n'
               '[storage]\\ndatabase = "{filled}"\\n[mqtt]\\nenabled = false\\n')
app = create_app(config, test_config={{"REPORT_JOB_ENABLED": False}})
client = app.test_client()
for path in ["/", "/nights", "/nights/2026-06-02", "/cramps", "/evidence", "/export",
             "/rooms", "/api/current", "/api/nights", "/api/cramps", "/api/evidence"]:
    assert client.get(path).status_code == 200, path
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "statsmodels", "numpy"))
print("HEAVY", heavy[:5])
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
