"""The 3 am glance (issue #16), over HTTP: what the Now page, the charts and the cramp pages say."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.clock import FakeClock
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


# -- issue 22: the 3 am glance, round 2 ----------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_ms(*args) -> int:
    return int(datetime(*args, tzinfo=BERLIN).timestamp() * 1000)


@pytest.fixture
def december_db(db_path):
    """Readings from Fri 04 Dec 2026 18:00 to Mon 07 Dec 03:00 (Berlin) and nothing else."""
    with Store.open(db_path) as s:
        start, end = berlin_ms(2026, 12, 4, 18, 0), berlin_ms(2026, 12, 7, 3, 0)
        s.add_readings(NODE, [Reading(t, 17.5, 50.0) for t in range(start, end + 1, 5 * MIN)])
    return db_path


def test_at_3_am_a_cramp_at_2_42_is_tonight_and_tonight_is_named_by_both_dates(
    app_factory, december_db
):
    """'last cramp: Sun 06 Dec 02:42' above 'Night of Sun 06 Dec · 0 cramps' (issue 22) read
    as a contradiction at 03:00; now both say which night they mean in the same words."""
    with Store.open(december_db) as s:
        s.add_cramp(NODE, berlin_ms(2026, 12, 6, 2, 42), source="web", now_ms=0)
    at_3 = app_factory(clock=FakeClock(berlin_ms(2026, 12, 6, 3, 0))).test_client()
    html = at_3.get("/").get_data(as_text=True)
    assert '<span id="last-cramp">02:42 tonight</span>' in html
    assert re.search(r'id="night-name">Tonight · Sat 05 → Sun 06 Dec <small>· 1 cramp<', html)
    # The next night at 03:00: yesterday's 02:42 is named by its night, never "Sun 06 Dec".
    next_night = app_factory(clock=FakeClock(berlin_ms(2026, 12, 7, 3, 0))).test_client()
    html = next_night.get("/").get_data(as_text=True)
    assert '<span id="last-cramp">02:42, night of Sat 05 → Sun 06 Dec</span>' in html
    assert re.search(r'id="night-name">Tonight · Sun 06 → Mon 07 Dec <small>· 0 cramps<', html)
    assert "Night of Sun 06 Dec" not in html
    # By day the night that just ended is "last night", in the list and on its page too.
    noon = app_factory(clock=FakeClock(berlin_ms(2026, 12, 7, 12, 0))).test_client()
    html = noon.get("/").get_data(as_text=True)
    assert "Last night · Sun 06 → Mon 07 Dec" in html
    assert "02:42, night of Sat 05 → Sun 06 Dec" in html
    listing = noon.get("/nights").get_data(as_text=True)
    assert "Last night · Sun 06 → Mon 07 Dec" in listing and "Sat 05 → Sun 06 Dec" in listing
    page = noon.get("/nights/2026-12-05").get_data(as_text=True)
    assert "<h1>Sat 05 → Sun 06 Dec</h1>" in page


def test_night_names_across_months_and_years():
    from monitor.nights import night_dates

    assert night_dates(date(2026, 11, 30)) == "Mon 30 Nov → Tue 01 Dec"
    assert night_dates(date(2026, 12, 31), long=True) == (
        "Thursday 31 December 2026 → Friday 01 January 2027"
    )


def stale_health(db, now_ms: int) -> None:
    """What a monitor that crashed (or a Pi that lost power) leaves: an "ok" health row and
    readings, the newest of them hours old."""
    with Store.open(db) as s:
        s.set_sensor_health(
            NODE,
            status="ok",
            consecutive_failures=0,
            failure_rate=0.0,
            last_good_ms=now_ms - 3 * 3_600_000,
            last_error=None,
            updated_ms=now_ms - 3 * 3_600_000,
        )


def test_a_stopped_monitor_reads_as_not_reporting_on_now_and_rooms(app_factory, december_db):
    now = berlin_ms(2026, 12, 7, 6, 10)  # the newest reading is 03:00: 3 h 10 min old
    stale_health(december_db, now)
    client = app_factory(clock=FakeClock(now)).test_client()
    html = client.get("/").get_data(as_text=True)
    assert "sensor has been silent since 03:00" in html  # the banner ...
    assert "Working" not in html  # ... and no contradicting health line beside it
    assert re.search(r'id="sensor-state"><strong>Not reporting</strong>', html)
    assert '<span id="last-good">03:00</span> (3 h 10 min ago)' in html
    assert "The monitor may have stopped" in html
    rooms = client.get("/rooms").get_data(as_text=True)
    assert '<td class="sensor-silent">Not reporting</td>' in rooms and "Working" not in rooms
    # Fresh readings with the same row: working.
    fresh = app_factory(clock=FakeClock(berlin_ms(2026, 12, 7, 3, 1))).test_client()
    assert re.search(r'id="sensor-state"><strong>Working</strong>', fresh.get("/").get_data(True))
    assert '<td class="sensor-ok">Working</td>' in fresh.get("/rooms").get_data(as_text=True)


def test_a_running_daemon_with_a_dead_sensor_says_not_answering(app_factory, december_db):
    now = berlin_ms(2026, 12, 7, 4, 0)
    with Store.open(december_db) as s:
        s.set_sensor_health(
            NODE,
            status="failing",
            consecutive_failures=30,
            failure_rate=1.0,
            last_good_ms=berlin_ms(2026, 12, 7, 3, 0),
            last_error="no answer from the DHT22",
            updated_ms=now - MIN,
        )
    html = app_factory(clock=FakeClock(now)).test_client().get("/").get_data(as_text=True)
    assert re.search(r'id="sensor-state"><strong>Not answering</strong>', html)
    assert "Last error: no answer from the DHT22" in html
    assert "The monitor may have stopped" not in html


def test_readings_are_not_announced_alerts_are(app_factory, filled):
    with Store.open(filled) as s:
        s.start_episode(NODE, "cold", NOON_MS - 10 * MIN, 16.5)
    html = app_factory().test_client().get("/").get_data(as_text=True)
    assert "aria-live" not in html  # the temperature changes every 30 s: not news
    assert re.search(r'<p role="alert">Cold room', html)


def test_after_log_a_cramp_the_confirmation_comes_first_with_undo(client, filled):
    token = csrf_of(client)
    r = client.post("/cramps/log", data={"csrf_token": token, "next": "/"})
    form = client.get(r.headers["Location"]).get_data(as_text=True)
    logged = form.index('id="logged"')
    assert 'data-autofocus aria-labelledby="logged-title"' in form
    assert "✓ Cramp logged at 12:00" in form
    assert logged < form.index('id="undo"') < form.index('id="skip"') < form.index('name="leg"')
    assert "Delete this cramp" not in form  # Undo is the one way out here
    cramp_id = int(re.search(r'action="/cramps/(\d+)/delete"', form).group(1))
    undone = client.post(f"/cramps/{cramp_id}/delete", data={"csrf_token": token})
    assert undone.status_code == 302
    page = client.get(undone.headers["Location"]).get_data(as_text=True)
    assert "Removed the cramp of" in page and 'id="deleted" tabindex="-1" data-autofocus' in page
    # Forgiven the project's way: kept as deleted, listed for restoring, restorable.
    app = client.application
    with app.app_context():
        cramp = app.extensions["bedside"]["data"].reader().get_cramp(cramp_id)
    assert cramp.deleted and cramp.source == "web"
    assert f'action="/cramps/{cramp_id}/restore"' in page
    client.post(f"/cramps/{cramp_id}/restore", data={"csrf_token": token})
    with app.app_context():
        assert not app.extensions["bedside"]["data"].reader().get_cramp(cramp_id).deleted


def test_switching_to_day_at_night_asks_first(app_factory, filled):
    client = app_factory(clock=FakeClock(CRAMP_MS)).test_client()  # 03:00
    asked = client.get("/mode?set=day&next=/nights")
    assert asked.status_code == 200 and "Set-Cookie" not in asked.headers
    html = asked.get_data(as_text=True)
    assert 'id="stay-dim" href="/nights"' in html
    assert 'href="/mode?set=day&amp;confirm=1&amp;next=/nights"' in html
    assert "mode-toggle" not in html  # no second way round the question
    done = client.get("/mode?set=day&confirm=1&next=/nights")
    assert done.status_code == 302 and "bedside_mode=day" in done.headers["Set-Cookie"]
    noon = app_factory().test_client()
    assert noon.get("/mode?set=day&next=/nights").status_code == 302  # by day: no question
    noon.get("/mode?set=night")  # night display chosen by day: back to day without a question
    assert noon.get("/mode?set=day&next=/nights").status_code == 302


def test_the_display_switch_is_in_the_footer_not_the_tabs(client):
    html = client.get("/").get_data(as_text=True)
    header = html[html.index("<header") : html.index("</header>")]
    footer = html[html.index('<footer class="page-foot">') :]
    assert "mode-toggle" not in header and 'class="mode tap" id="mode-toggle"' in footer
    assert '<a href="/trial" >Trial</a>' in header and '<a href="/trends" >Trends</a>' in header


def test_export_takes_a_date_range_as_the_cli_does(client, filled):
    day = client.get("/export/readings.csv?from=2026-06-02&to=2026-06-02").get_data(as_text=True)
    stamps = [line.split(",")[0] for line in day.splitlines()[1:]]
    # Berlin's 2026-06-02 is 2026-06-01T22:00Z up to 2026-06-02T22:00Z.
    assert stamps[0].startswith("2026-06-01T22:00") and stamps[-1].startswith("2026-06-02T21:59")
    everything = client.get("/export/readings.csv").get_data(as_text=True)
    assert len(everything.splitlines()) > len(day.splitlines())
    cramps = client.get("/export/cramps.csv?from=2026-06-03").get_data(as_text=True)
    assert len(cramps.splitlines()) == 2  # the header and the 03:00 cramp of 2026-06-03
    bad = client.get("/export/readings.csv?from=2026-13-01")
    assert bad.status_code == 400 and "from must be a date as YYYY-MM-DD" in bad.get_data(True)
    backwards = client.get("/export/cramps.csv?from=2026-06-03&to=2026-06-01")
    assert backwards.status_code == 400 and "from must not be after to" in backwards.get_data(True)
    page = client.get("/export?from=2026-06-01&to=2026-06-02").get_data(as_text=True)
    assert 'name="from" value="2026-06-01"' in page and 'formaction="/export/nights"' in page


def test_the_nights_print_on_one_page(client, filled):
    html = client.get("/export/nights?from=2026-06-01&to=2026-06-02").get_data(as_text=True)
    assert '<body class="day print-view">' in html and "print.css" in html
    assert "<td>Mon 01 → Tue 02 Jun</td>" in html and "<td>Tue 02 → Wed 03 Jun</td>" in html
    assert "2 nights with readings" in html and "1 with a cramp (1 cramp)" in html
    empty = client.get("/export/nights?from=2020-01-01&to=2020-01-05").get_data(as_text=True)
    assert "No nights with readings in this range: the table would list" in empty
    too_long = client.get("/export/nights?from=2026-01-01&to=2026-06-01")
    assert too_long.status_code == 400 and "at most 31 nights" in too_long.get_data(True)
