"""The 3 am glance (issue #16), over HTTP: what the Now page, the charts and the cramp pages say."""

from __future__ import annotations

import re

from monitor.store import Reading, Store
from tests.web_fixtures import CRAMP_MS, NODE, NOON_MS, csrf_of
from web import charts

MIN = 60_000


def test_last_good_reading_is_the_newest_reading_not_the_older_health_row(app_factory, filled):
    with Store.open(filled) as s:
        s.set_sensor_health(
            NODE,
            status="ok",
            consecutive_failures=0,
            failure_rate=0.0,
            last_good_ms=NOON_MS - 10 * MIN,  # 11:50: the row is written every 10 minutes
            last_error=None,
            updated_ms=NOON_MS - 10 * MIN,
        )
    html = app_factory().test_client().get("/").get_data(as_text=True)
    assert 'last good reading <span id="last-good">12:00</span>' in html
    assert "(12:00)" in html  # the same instant as "updated ... (12:00)"


def test_last_hour_never_prints_a_signed_zero_and_the_sparkline_keeps_a_2_degree_scale(
    app_factory, filled
):
    with Store.open(filled) as s:  # 0.04 °C of noise: rounds to zero
        s.add_reading(NODE, Reading(NOON_MS + MIN, 16.96, 50.0))
    html = app_factory().test_client().get("/").get_data(as_text=True)
    assert 'last hour: <span id="trend">0.0</span> °C' in html
    assert "-0.0" not in html and "+0.0" not in html
    spark = charts.sparkline([(0, 17.0), (60_000, 17.1)], height=48)
    ys = [float(p.split(",")[1]) for p in re.search(r'points="([^"]+)"', spark).group(1).split()]
    # 0.1 °C on a 2 °C scale: a twentieth of the 44-px drawing height, not all of it.
    assert abs(abs(ys[0] - ys[1]) - 2.2) < 0.05
    steep = charts.sparkline([(0, 15.0), (60_000, 19.0)], height=48)
    ys = [float(p.split(",")[1]) for p in re.search(r'points="([^"]+)"', steep).group(1).split()]
    assert abs(ys[0] - ys[1]) > 30  # a real 4 °C change still fills most of it


def test_signed_filter(app):
    signed = app.jinja_env.filters["signed"]
    assert [signed(v) for v in (0.04, -0.04, -0.0, 0.3, -1.26, None)] == [
        "0.0",
        "0.0",
        "0.0",
        "+0.3",
        "\u22121.3",
        "—",
    ]


def test_alert_banner_keeps_its_alert_text_stable_and_the_lowest_outside_it(app_factory, filled):
    with Store.open(filled) as s:
        s.start_episode(NODE, "cold", NOON_MS - 600_000, 16.5)
    html = app_factory().test_client().get("/").get_data(as_text=True)
    alert = re.search(r'<p role="alert">(.*?)</p>', html, re.S).group(1)
    assert alert.startswith("Cold room: below") and "16.5" not in alert
    assert 'data-key="alert-cold-' in html and "lowest 16.5 °C" in html


def test_every_live_block_has_a_key_and_the_page_one_h1(client):
    html = client.get("/").get_data(as_text=True)
    live = client.get("/now/live").get_data(as_text=True)
    for key in ("reading", "log", "chart"):
        assert f'data-key="{key}"' in live
    assert html.count("<h1") == 1
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html


def night_chart_html(app_factory, db, cramps_ms, temp=None):
    with Store.open(db) as s:
        for ts in cramps_ms:
            s.add_cramp(NODE, ts, source="cli", now_ms=NOON_MS)
        if temp:
            night_start = CRAMP_MS - 5 * 3_600_000
            night_end = CRAMP_MS + 4 * 3_600_000
            s.add_readings(
                NODE, [Reading(t, temp(t), 50.0) for t in range(night_start, night_end, MIN)]
            )
    return app_factory().test_client().get("/nights/2026-06-02").get_data(as_text=True)


def test_cramps_minutes_apart_are_one_mark_with_a_count_and_their_times_in_text(
    app_factory, filled
):
    html = night_chart_html(app_factory, filled, [CRAMP_MS + 4 * MIN, CRAMP_MS + 9 * MIN])
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('class="cramp-mark"') == 1  # 03:00, 03:04 and 03:09 together
    assert '<text class="cramp-count"' in svg and ">3</text>" in svg
    assert "3 cramps, at 03:00, 03:04, 03:09" in svg
    assert re.search(r'<text class="cramp-label"[^>]*>03:00</text>', svg)


def test_cramps_far_apart_get_their_own_marks_and_labels(app_factory, filled):
    html = night_chart_html(app_factory, filled, [CRAMP_MS - 3 * 3_600_000])  # 00:00 and 03:00
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('class="cramp-mark"') == 2
    labels = re.findall(r'<text class="cramp-label"[^>]*>([^<]+)</text>', svg)
    assert labels == ["00:00", "03:00"]


def test_the_chart_has_a_text_alternative_and_shades_the_cold(app_factory, db_path):
    def temp(ts):  # below 18 °C from 01:00 to 04:00 Berlin, 19 °C otherwise
        return 16.4 if CRAMP_MS - 2 * 3_600_000 <= ts <= CRAMP_MS + 3_600_000 else 19.0

    html = night_chart_html(app_factory, db_path, [CRAMP_MS], temp=temp)
    label = re.search(r'<svg class="chart"[^>]*aria-label="([^"]+)"', html).group(1)
    assert "Lowest 16.4 °C at 01:00." in label
    assert "Below 18 °C from 01:00 to 04:00." in label
    assert "1 cramp, at 03:00." in label
    assert html.count('class="cold-span"') == 1


def test_threshold_label_sits_above_the_plot(app_factory, filled):
    html = night_chart_html(app_factory, filled, [])
    y_label = float(re.search(r'class="threshold-label"[^>]*y="([0-9.]+)"', html).group(1))
    top_of_marks = float(re.search(r'<g class="cramp-mark">.*?y1="([0-9.]+)"', html).group(1))
    assert y_label < top_of_marks


def test_remedies_show_n_and_too_few_to_compare_under_five(app_factory, filled):
    with Store.open(filled) as s:
        for i in range(5):
            s.add_cramp(
                NODE,
                CRAMP_MS - (i + 1) * 86_400_000,
                source="cli",
                now_ms=NOON_MS,
                remedy="stretch",
                relief_min=4 + i,
            )
        for i in range(2):
            s.add_cramp(
                NODE,
                CRAMP_MS - (i + 10) * 86_400_000,
                source="cli",
                now_ms=NOON_MS,
                remedy="heat",
                relief_min=1,
            )
    html = app_factory().test_client().get("/cramps").get_data(as_text=True)
    section = html[
        html.index('id="remedies"') : html.index("</section>", html.index('id="remedies"'))
    ]
    rows = re.findall(r"<tr[^>]*><td>(\w+)</td><td>(\d+)</td><td>([^<]+)</td>", section)
    # heat is faster on two cramps, but two are too few: stretch (n=5) is the ranked one.
    assert rows == [("stretch", "5", "6"), ("heat", "2", "too few to compare (1 so far)")]
    assert "n (cramps)" in section


def test_severity_names_its_ends(client):
    form = client.get("/cramps/1/edit").get_data(as_text=True)
    assert "Severity: 1 mild … 5 worst" in form
    assert "> 1 mild</label>" in form and "> 5 worst</label>" in form
    assert "5 worst" in client.get("/cramps").get_data(as_text=True)


def test_skip_goes_back_where_the_cramp_was_logged_or_opened(client):
    token = csrf_of(client)
    r = client.post("/cramps/log", data={"csrf_token": token, "next": "/"})
    form = client.get(r.headers["Location"]).get_data(as_text=True)
    assert '<a href="/" class="tap" id="skip">Done, no details</a>' in form
    listing = client.get("/cramps?page=0").get_data(as_text=True)
    edit = re.search(r'href="(/cramps/\d+/edit\?next=[^"]+)"', listing).group(1)
    form = client.get(edit.replace("&amp;", "&")).get_data(as_text=True)
    assert 'href="/cramps?page=0" class="button-link" id="skip"' in form
    night = client.get("/nights/2026-06-02").get_data(as_text=True)
    edit = re.search(r'href="(/cramps/\d+/edit\?next=[^"]+)"', night).group(1)
    form = client.get(edit).get_data(as_text=True)
    assert 'href="/nights/2026-06-02" class="button-link"' in form
    evil = client.get("/cramps/1/edit?next=//evil.example").get_data(as_text=True)
    assert 'href="/cramps" class="button-link"' in evil


def test_login_without_a_password_says_there_is_none(client, app_factory, filled):
    html = client.get("/login").get_data(as_text=True)
    assert "No password is set" in html and "needs its password" not in html
    assert 'type="password"' not in html
    locked = app_factory({"web": {"password": "s3cret"}}).test_client()
    html = locked.get("/login").get_data(as_text=True)
    assert "needs its password" in html and 'type="password"' in html
