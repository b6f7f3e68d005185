"""Nights: windows across clock changes, coverage, cramps, and the stored summaries."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.nights import (
    NightBook,
    NightParams,
    list_nights,
    night_of,
    night_summaries,
    night_window,
    summarize,
)
from monitor.store import Reading, Store

BERLIN = NightParams(timezone="Europe/Berlin")
SYDNEY = NightParams(timezone="Australia/Sydney")
FAR_FUTURE = 4_000_000_000_000  # every test night is finished


def local_ms(tz: str, *args) -> int:
    return round(datetime(*args, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def fill(store: Store, start: int, end: int, step_s: int = 60, temp: float = 19.0, node="n"):
    store.add_readings(node, [Reading(t, temp, 50.0) for t in range(start, end, step_s * 1000)])


def fill_bins(store: Store, start: int, bins: list[int], temp: float = 19.0, node="n"):
    """One reading in the middle of each listed 5-minute bin of a night."""
    store.add_readings(node, [Reading(start + b * 300_000 + 150_000, temp, 50.0) for b in bins])


def test_autumn_clock_change_night_is_13_hours_with_156_bins(store):
    start, end = night_window(date(2026, 10, 24), BERLIN)  # clocks go back on the 25th
    assert end - start == 13 * 3_600_000
    assert start == local_ms("Europe/Berlin", 2026, 10, 24, 20, 0)
    fill(store, start, end)
    s = summarize(store, "n", date(2026, 10, 24), BERLIN, FAR_FUTURE)
    assert (s.total_bins, s.bins, s.coverage, s.valid) == (156, 156, 1.0, True)
    # The same readings judged against a 12-hour night would read 156/144.
    assert s.n_readings == 13 * 60


def test_spring_clock_change_night_is_11_hours_with_132_bins(store):
    start, end = night_window(date(2026, 3, 28), BERLIN)  # clocks go forward on the 29th
    assert end - start == 11 * 3_600_000
    fill_bins(store, start, list(range(106)))  # 106/132 = 0.803
    s = summarize(store, "n", date(2026, 3, 28), BERLIN, FAR_FUTURE)
    assert (s.total_bins, s.bins) == (132, 106)
    assert s.valid
    assert night_window(date(2026, 3, 27), BERLIN)[1] - night_window(date(2026, 3, 27), BERLIN)[
        0
    ] == (12 * 3_600_000)


def test_southern_hemisphere_clock_changes_in_october_and_april():
    # Sydney: clocks go forward on Sunday 4 October 2026, back on Sunday 5 April 2026.
    s, e = night_window(date(2026, 10, 3), SYDNEY)
    assert e - s == 11 * 3_600_000
    s, e = night_window(date(2026, 4, 4), SYDNEY)
    assert e - s == 13 * 3_600_000
    s, e = night_window(date(2026, 7, 4), SYDNEY)  # winter there: AEST, UTC+10
    assert e - s == 12 * 3_600_000
    assert datetime.fromtimestamp(s / 1000, UTC) == datetime(2026, 7, 4, 10, 0, tzinfo=UTC)
    # 03:00 local on 5 July belongs to the night of 4 July; 12:00 to none.
    assert night_of(local_ms("Australia/Sydney", 2026, 7, 5, 3, 0), SYDNEY) == date(2026, 7, 4)
    assert night_of(local_ms("Australia/Sydney", 2026, 7, 5, 12, 0), SYDNEY) is None


def test_79_percent_coverage_is_left_out_and_80_kept(store):
    # 20:00 to 04:20 is 500 minutes: exactly 100 bins.
    params = NightParams(timezone="Europe/Berlin", night_end="04:20")
    a, b = date(2026, 1, 10), date(2026, 1, 11)
    fill_bins(store, night_window(a, params)[0], list(range(79)))
    fill_bins(store, night_window(b, params)[0], [i for i in range(100) if i % 5])  # 80 bins, gaps
    nights = {s.night: s for s in night_summaries(store, "n", params, FAR_FUTURE)}
    assert (nights[a].coverage, nights[a].valid) == (0.79, False)
    assert (nights[b].coverage, nights[b].valid) == (0.80, True)


def test_coverage_counts_bins_not_readings(store):
    start, _ = night_window(date(2026, 1, 10), BERLIN)
    store.add_readings("n", [Reading(start + i * 1000, 19.0) for i in range(200)])
    s = summarize(store, "n", date(2026, 1, 10), BERLIN, FAR_FUTURE)
    assert (s.n_readings, s.bins) == (200, 1)


def test_daytime_cramp_is_left_out_and_night_cramps_counted(store):
    night = date(2026, 1, 10)
    start, end = night_window(night, BERLIN)
    fill(store, start - 3_600_000, end + 3_600_000)
    for ts in (start - 60_000, start, end - 1, end):  # 19:59 and 08:00 are daytime
        store.add_cramp("n", ts, source="cli", now_ms=ts)
    s = summarize(store, "n", night, BERLIN, FAR_FUTURE)
    assert s.cramps == 2
    assert night_of(start - 60_000, BERLIN) is None
    assert night_of(end, BERLIN) is None


def test_min_mean_and_cold_is_strictly_below_threshold(store):
    night = date(2026, 2, 1)
    start, _ = night_window(night, BERLIN)
    store.add_readings(
        "n",
        [Reading(start + 1000, 18.0, 40.0), Reading(start + 2000, 20.0, None)],
    )
    s = summarize(store, "n", night, BERLIN, FAR_FUTURE)
    assert (s.min_temp_c, s.mean_temp_c, s.mean_humidity_pct) == (18.0, 19.0, 40.0)
    assert s.cold is False  # 18.0 is not below 18.0
    s2 = summarize(store, "n", night, NightParams("Europe/Berlin", cold_below_c=18.01), FAR_FUTURE)
    assert s2.cold is True


def _book(store, now=FAR_FUTURE, params=BERLIN):
    book = NightBook(store, "n", params, now)
    nights = [book.night(d) for d in book.dates() if night_window(d, params)[0] <= now]
    book.save()
    return book, {s.night: s for s in nights if s.n_readings}


def test_stored_summaries_recomputed_after_import_into_old_night_and_not_otherwise(store):
    first = night_window(date(2026, 1, 1), BERLIN)[0]
    now = first + 10 * 86_400_000 + 13 * 3_600_000  # 09:00 on 12 January
    fill(store, first, now, step_s=120)
    book, before = _book(store, now)
    assert book.computed > 0
    again, same = _book(store, now)
    assert again.computed == 0 and same == before

    # A live append after the newest reading touches no finished night.
    fill(store, now, now + 3_600_000, step_s=120)
    live, _ = _book(store, now)
    assert live.computed == 0

    # An import of colder readings into the night of 3 January: only that night changes.
    s3, _ = night_window(date(2026, 1, 3), BERLIN)
    store.add_readings("n", [Reading(s3 + 30_000, 12.5, 60.0)])
    after_import, nights = _book(store, now)
    recomputed = {d for d in nights if nights[d] != before.get(d)}
    assert recomputed == {date(2026, 1, 3)}
    assert nights[date(2026, 1, 3)].min_temp_c == 12.5
    # Nights sharing the dirty UTC day are recomputed too, but no others.
    assert 1 <= after_import.computed <= 3
    assert _book(store, now)[0].computed == 0

    # A cramp logged later for an old night is an out-of-order write as well.
    store.add_cramp("n", s3 + 3_600_000, source="web", now_ms=now)
    _, nights = _book(store, now)
    assert nights[date(2026, 1, 3)].cramps == 1
    cramp = store.cramps("n")[0]
    store.delete_cramp(cramp.id, now_ms=now)
    _, nights = _book(store, now)
    assert nights[date(2026, 1, 3)].cramps == 0


def stored_nights(db_path):
    """The night_summaries table, read through a connection of the test's own."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT night FROM night_summaries").fetchall()
    finally:
        conn.close()


def test_unfinished_nights_are_not_stored(store, db_path):
    start, _ = night_window(date(2026, 1, 5), BERLIN)
    fill(store, start, start + 3_600_000)
    book, _ = _book(store, now=start + 3_600_000)
    assert book.computed >= 1
    rows = stored_nights(db_path)
    assert ("2026-01-05",) not in rows


def test_list_nights_on_a_read_only_store_writes_nothing(store, db_path):
    start = night_window(date(2026, 1, 1), BERLIN)[0]
    fill(store, start, start + 5 * 86_400_000, step_s=300)
    ro = Store.open_readonly(db_path)
    try:
        listed = list_nights(ro, "n", BERLIN, FAR_FUTURE, limit=3)
        assert [s.night for s in listed] == [date(2026, 1, 5), date(2026, 1, 4), date(2026, 1, 3)]
        assert all(s.cold is False for s in listed)
        assert len(stored_nights(db_path)) == 0
        # The writer stores them; the reader then uses the stored rows and agrees.
        written = list_nights(store, "n", BERLIN, FAR_FUTURE, limit=3)
        assert len(stored_nights(db_path)) == 3
        assert list_nights(ro, "n", BERLIN, FAR_FUTURE, limit=3) == written == listed
        assert list_nights(ro, "n", BERLIN, FAR_FUTURE, limit=2, offset=1) == listed[1:]
    finally:
        ro.close()


_instants = st.integers(min_value=0, max_value=6 * 86_400 // 60).map(
    lambda m: night_window(date(2026, 3, 26), BERLIN)[0] + m * 60_000 + 7_000
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.tuples(st.lists(_instants, max_size=300), st.lists(_instants, max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_cached_path_equals_from_scratch(tmp_path_factory, batches):
    """Whatever order rows arrive in, stored summaries equal a fresh computation."""
    path = tmp_path_factory.mktemp("prop") / "p.db"
    with Store.open(path) as store:
        now = night_window(date(2026, 4, 2), BERLIN)[1]
        for readings, cramps in batches:
            store.add_readings(
                "n", [Reading(t, 15 + (t // 60_000) % 70 / 10, 50.0) for t in readings]
            )
            for t in cramps:
                store.add_cramp("n", t, source="import", now_ms=now)
            cached = night_summaries(store, "n", BERLIN, now)
            days = [date(2026, 3, d) for d in range(24, 32)] + [date(2026, 4, 1)]
            fresh = [summarize(store, "n", d, BERLIN, now) for d in days]
            assert cached == [s for s in fresh if s.n_readings]


def test_nights_and_reports_stay_light_for_the_web():
    import subprocess
    import sys

    code = (
        "import sys, monitor.nights, monitor.analysis.reports;"
        "print(sorted(m for m in ('numpy', 'scipy', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
