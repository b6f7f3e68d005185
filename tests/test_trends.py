"""Trends: nights grouped by week and month (pure), the page with its three charts, and the
chart fixes of issue 22 (a unit on the value axis, labels clear of the points)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from monitor.nights import NightSummary
from monitor.store import Reading, Store
from monitor.trends import group, period_start
from tests.web_fixtures import NODE, NOON_MS
from web import charts

DAY_MS = 86_400_000


def night(day: date, low: float | None, cramps: int = 0) -> NightSummary:
    return NightSummary(
        night=day,
        start_ms=0,
        end_ms=1,
        n_readings=100 if low is not None else 0,
        coverage=1.0,
        valid=True,
        min_temp_c=low,
        mean_temp_c=None if low is None else low + 1,
        mean_humidity_pct=50.0,
        cramps=cramps,
        finished=True,
        cold_below_c=18.0,
    )


def test_a_night_belongs_to_the_week_and_month_of_its_evening():
    sunday = date(2026, 12, 6)  # the night Sun 06 -> Mon 07 Dec
    assert period_start(sunday, "week") == date(2026, 11, 30)
    assert period_start(date(2026, 12, 7), "week") == date(2026, 12, 7)
    assert period_start(date(2026, 11, 30), "month") == date(2026, 11, 1)
    with pytest.raises(ValueError, match="by must be one of week, month"):
        period_start(sunday, "year")


def test_weeks_count_minimums_cramp_nights_and_alerts():
    nights = [
        night(date(2026, 11, 30), 17.0, cramps=2),  # Mon, week of 30 Nov
        night(date(2026, 12, 1), 19.0),
        night(date(2026, 12, 6), 16.0, cramps=1),  # Sun: still the week of 30 Nov
        night(date(2026, 12, 7), 18.5),  # Mon: the next week
    ]
    alerts = [date(2026, 12, 6), date(2026, 12, 6), date(2026, 12, 8)]
    first, second = group(nights, alerts, "week")
    assert first.start == date(2026, 11, 30) and first.label("week") == "30 Nov"
    assert first.nights == 3 and first.cramp_nights == 2 and first.cramps == 3
    assert first.mean_min_c == pytest.approx((17 + 19 + 16) / 3) and first.lowest_c == 16.0
    assert first.cold_nights == 2 and first.alerts == 2
    assert (second.nights, second.cramp_nights, second.cold_nights, second.alerts) == (1, 0, 0, 1)
    (month,) = group(nights[1:], alerts, "month")
    assert month.label("month") == "Dec 2026" and month.nights == 3 and month.alerts == 3
    assert [p.start for p in group(nights, [], "week", shown=1)] == [date(2026, 12, 7)]


@pytest.fixture
def weeks_db(filled):
    """Five weeks of nights, colder each week, a cramp on the coldest nights, two alerts."""
    start = NOON_MS - 35 * DAY_MS
    with Store.open(filled) as s:
        rows = []
        for ts in range(start, NOON_MS - 2 * DAY_MS, 600_000):
            week = (ts - start) // (7 * DAY_MS)
            rows.append(Reading(ts, 21.0 - week - (ts // 3_600_000 % 24 < 6), 50.0))
        s.add_readings(NODE, rows)
        for d in range(0, 33, 4):
            s.add_cramp(NODE, start + d * DAY_MS + 13 * 3_600_000, source="cli", now_ms=NOON_MS)
        s.start_episode(NODE, "cold", NOON_MS - 10 * DAY_MS, 16.0)
        # Midnight after Sun 24 May: the night of Sun 24, so the same week as the first.
        s.start_episode(NODE, "cold", NOON_MS - 10 * DAY_MS + 12 * 3_600_000, 16.0)
    return filled


def test_trends_page_draws_three_charts_and_explains_itself(app_factory, weeks_db):
    client = app_factory().test_client()
    html = client.get("/trends").get_data(as_text=True)
    assert html.count('<svg class="chart"') == 3
    assert 'aria-current="page">Trends</a>' in html
    assert "Night minimum by week" in html and "Cold-room alerts by week" in html
    rows = re.findall(r"<tr><td>(\d\d \w\w\w)</td><td>(\d+)</td>", html)
    assert len(rows) >= 5  # newest first, every week with readings
    assert sum(int(n) for _, n in rows) >= 33
    assert "<td>2</td></tr>" in html  # the week of the two alerts
    assert "average night minimum" in html and "coldest night" in html
    monthly = client.get("/trends?by=month").get_data(as_text=True)
    assert "Night minimum by month" in monthly and "May 2026" in monthly
    bad = client.get("/trends?by=year")
    assert bad.status_code == 400 and "by must be week or month" in bad.get_data(as_text=True)


def test_trends_without_nights_says_so(app_factory, db_path):
    html = app_factory().test_client().get("/trends").get_data(as_text=True)
    assert "No nights recorded yet" in html


def test_count_chart_says_one_night_not_one_nights():
    svg = charts.count_chart(["07 Dec", "14 Dec"], [1, 2], title="Nights with a cramp")
    assert "07 Dec: 1 night<" in svg and "14 Dec: 2 nights<" in svg


def test_temperature_axes_carry_their_unit():
    day = 3_600_000
    svg = charts.time_chart([(0, 17.0), (day, 18.5)], x_range=(0, 2 * day), label_fn=str)
    assert re.search(r'<text class="axis"[^>]*>°C</text>', svg)
    low = charts.minimum_chart(["a", "b"], [17.0, 18.0], [16.0, 17.5], threshold=18)
    assert re.search(r'<text class="axis"[^>]*>°C</text>', low)


def test_within_month_words_sit_outside_the_plot_clear_of_every_point():
    first = date(2026, 1, 1)
    points = [
        (first + timedelta(days=i), 15.0, (-3.0 if i % 2 else 3.0), i % 5 == 0) for i in range(60)
    ]
    svg = charts.within_month_chart(points)
    ys = [float(y) for y in re.findall(r'<circle class="wm[^"]*" cx="[\d.]+" cy="([\d.]+)"', svg)]
    colder = float(re.search(r'y="([\d.]+)">↓ colder than usual', svg).group(1))
    warmer = float(re.search(r'y="([\d.]+)">↑ warmer than usual', svg).group(1))
    # 13-px text: its glyphs span about 10 px above the baseline and 3 below; points r <= 4.
    assert min(ys) - 4 > warmer + 3
    assert max(ys) + 4 < colder - 10
