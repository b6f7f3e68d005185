"""The statistics and their null rules, the verdict, the extras and the stored report."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import statistics
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.analysis import stats as analysis
from monitor.analysis.reports import CONTRACT_KEYS, latest_report, save_report
from monitor.analysis.stats import CrossoverSet, build_report, case_crossover, referent_instants
from monitor.nights import NightParams, NightSummary, night_window
from monitor.store import Reading, Store

BERLIN = NightParams(timezone="Europe/Berlin")
NOW = 4_000_000_000_000


def night_on(
    d: date, min_temp: float, cramps: int, *, valid: bool = True, hum: float = 50.0
) -> NightSummary:
    """A finished Berlin night of date d as the night summaries give it (for pure tests)."""
    start, end = night_window(d, BERLIN)
    return NightSummary(
        night=d,
        start_ms=start,
        end_ms=end,
        n_readings=144,
        coverage=1.0 if valid else 0.5,
        valid=valid,
        min_temp_c=min_temp,
        mean_temp_c=min_temp + 1,
        mean_humidity_pct=hum,
        cramps=cramps,
        finished=True,
        cold_below_c=18.0,
    )


def night(i: int, min_temp: float, cramps: int, *, valid: bool = True, hum: float = 50.0):
    """Night i of 2026 (i = 0 is the night of 1 January)."""
    return night_on(date(2026, 1, 1) + timedelta(days=i), min_temp, cramps, valid=valid, hum=hum)


def mixed_nights(n: int = 40) -> list[NightSummary]:
    """Colder nights more often cramp nights, with overlap (a fit that converges)."""
    out = []
    for i in range(n):
        t = 15 + (i * 7 % 40) / 5  # 15.0 .. 22.8, shuffled
        cramp = 1 if (t < 18 and i % 3 != 0) or (t >= 18 and i % 4 == 0) else 0
        out.append(night(i, t, cramp, hum=45 + (i * 3 % 10)))
    return out


def test_contract_keys_and_plain_json():
    report = build_report(mixed_nights(), [], [], BERLIN, as_of_ms=NOW)
    assert set(report) >= CONTRACT_KEYS | {"contract", "as_of"}
    assert (report["contract"], report["as_of"]) == (3, "2096-10-02T07:06:40.000Z")
    assert set(report["seasonal"]) == {
        "nights",
        "strata",
        "or_per_degree_colder",
        "ci_low",
        "ci_high",
        "p",
        "test",
        "separation",
    }
    assert set(report["sequential"]) == {
        "looks",
        "alpha_per_look",
        "look",
        "look_nights",
        "next_look_nights",
        "at_look",
    }
    assert set(report["nights"]) == {"valid", "cramp", "cold"}
    assert set(report["table"]) == {"cold_cramp", "cold_no_cramp", "warm_cramp", "warm_no_cramp"}
    assert set(report["logistic"]) == {"or_per_degree_colder", "ci_low", "ci_high", "p"}
    json.dumps(report, allow_nan=False)
    assert report["nights"]["valid"] == 40
    assert (
        report["table"]["cold_cramp"] + report["table"]["cold_no_cramp"]
        == (report["nights"]["cold"])
    )


def test_logistic_matches_statsmodels_as_odds_ratio_per_degree_colder():
    import numpy as np
    import statsmodels.api as sm

    nights = mixed_nights()
    y = [int(n.cramps > 0) for n in nights]
    x = sm.add_constant(np.array([n.min_temp_c for n in nights]))
    fit = sm.Logit(y, x).fit(disp=0)
    got = analysis.logistic(nights)
    assert got["or_per_degree_colder"] == pytest.approx(math.exp(-fit.params[1]))
    assert got["ci_low"] == pytest.approx(math.exp(-fit.conf_int()[1][1]))
    assert got["p"] == pytest.approx(fit.pvalues[1])
    assert got["or_per_degree_colder"] > 1  # colder nights cramp more in this data


def test_perfect_separation_gives_logistic_null_and_insufficient_data():
    nights = [night(i, 15 + i / 4, 1 if 15 + i / 4 < 18 else 0) for i in range(24)]
    report = build_report(nights, [], [], BERLIN)
    assert report["logistic"] is None
    assert report["verdict"] == "insufficient-data"
    assert report["fisher_p"] is not None  # the other figures still stand
    json.dumps(report, allow_nan=False)


def test_too_few_nights_is_too_early_with_counts():
    nights = [night(i, 16 + i % 4, 1 if i in (2, 7) else 0) for i in range(12)]
    report = build_report(nights, [], [], BERLIN)
    assert report["verdict"] == "insufficient-data"
    assert report["summary"] == "Too early: 12 of the 90 nights the first check needs."
    assert report["seasonal"] is None  # 2 cramp nights: fewer than 3
    assert report["nights_needed"] is None  # no standard error to project from
    assert "78 from now" in report["power"]["reason"]


def test_invalid_nights_do_not_count():
    nights = mixed_nights() + [night(100 + i, 10.0, 1, valid=False) for i in range(10)]
    assert (
        build_report(nights, [], [], BERLIN)["nights"]
        == build_report(mixed_nights(), [], [], BERLIN)["nights"]
    )


def test_relative_risk_and_fisher_nulls():
    empty_cold = {"cold_cramp": 0, "cold_no_cramp": 0, "warm_cramp": 3, "warm_no_cramp": 9}
    assert analysis.fisher_p(empty_cold) is None
    assert analysis.risk_ratio(empty_cold) is None
    no_cold_cramp = {"cold_cramp": 0, "cold_no_cramp": 10, "warm_cramp": 3, "warm_no_cramp": 7}
    rr = analysis.risk_ratio(no_cold_cramp)
    assert rr["estimate"] == 0.0 and rr["ci_high"] is None  # the log interval is undefined
    no_warm_cramp = {"cold_cramp": 4, "cold_no_cramp": 6, "warm_cramp": 0, "warm_no_cramp": 10}
    assert analysis.risk_ratio(no_warm_cramp)["estimate"] is None  # infinite


def test_mann_whitney_null_when_a_group_is_empty():
    assert analysis.mann_whitney([night(i, 17.0, 0) for i in range(5)]) is None
    mw = analysis.mann_whitney(mixed_nights())
    assert mw["u"] >= 0 and 0 <= mw["p"] <= 1


def _sets(n: int) -> list[CrossoverSet]:
    return [
        CrossoverSet(i, 16.0 + (i % 3) * 0.5, [17.0 + (j + i) % 5 * 0.4 for j in range(20)])
        for i in range(n)
    ]


def test_case_crossover_needs_five_cramps():
    assert case_crossover(_sets(4)) is None
    five = case_crossover(_sets(5))
    assert five["cramps"] == 5
    # Every case colder than all its referents: separated, with a score-test p.
    assert (five["separation"], five["test"], five["or_per_degree_colder"]) == (
        "colder",
        "score",
        None,
    )
    overlapping = [CrossoverSet(s.cramp_ms, s.case + 0.8, s.referents) for s in _sets(8)]
    fit = case_crossover(overlapping)
    assert fit["separation"] is None and fit["test"] == "wald"
    assert fit["or_per_degree_colder"] > 1  # cases were mostly colder than their referents


def test_referents_are_same_clock_time_on_other_dates_of_the_month_fold_0():
    tz = ZoneInfo("Europe/Berlin")
    t = round(datetime(2026, 3, 10, 2, 30, 15, tzinfo=tz).timestamp() * 1000) + 250
    refs = referent_instants(t, "Europe/Berlin")
    assert len(refs) == 30  # March has 31 days
    assert t not in refs
    assert all(r % 1000 == 250 for r in refs)
    # 02:30 on 29 March does not exist; fold=0 reads it with the old offset (+01:00).
    gap = datetime(2026, 3, 29, 1, 30, 15, 250_000, tzinfo=UTC)
    assert round(gap.timestamp() * 1000) in refs
    # 02:30 on 25 October happens twice; fold=0 is the first (+02:00).
    t_oct = round(datetime(2026, 10, 2, 2, 30, tzinfo=tz).timestamp() * 1000)
    doubled = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert round(doubled.timestamp() * 1000) in referent_instants(t_oct, "Europe/Berlin")
    assert len(referent_instants(t_oct, "Europe/Berlin")) == 30


def test_exposure_needs_six_of_twelve_bins(store):
    t = 1_800_000_000_000
    lo = t - 3_600_000
    store.add_readings("n", [Reading(lo + b * 300_000 + 1000, 15.0 + b) for b in range(5)])
    store.add_readings("n", [Reading(t, 99.0)])  # at t itself: outside [t - 60 min, t)
    assert analysis.exposure(store, "n", t) is None
    store.add_readings("n", [Reading(lo + 11 * 300_000, 30.0)])
    assert analysis.exposure(store, "n", t) == pytest.approx(
        statistics.mean([15, 16, 17, 18, 19, 30])
    )


def _month_of_readings(store: Store, tz: str, year: int, month: int, temp_of=None):
    """Readings every 5 minutes for a whole local month (and the evening before)."""
    zone = ZoneInfo(tz)
    start = round(datetime(year, month, 1, tzinfo=zone).timestamp() * 1000) - 6 * 3_600_000
    end = round(datetime(year, month + 1, 1, 12, tzinfo=zone).timestamp() * 1000)
    temp_of = temp_of or (lambda ts: 18.0 + (ts // 3_600_000) % 7 * 0.3)
    store.add_readings("n", [Reading(ts, temp_of(ts), 50.0) for ts in range(start, end, 300_000)])


def test_two_cramps_in_one_night_are_one_cramp_night_but_two_sets(store):
    _month_of_readings(store, "Europe/Berlin", 2026, 1)
    zone = ZoneInfo("Europe/Berlin")
    for h, m in ((23, 10), (3, 40)):
        day = 14 if h == 23 else 15
        ts = round(datetime(2026, 1, day, h, m, tzinfo=zone).timestamp() * 1000)
        store.add_cramp("n", ts, source="cli", now_ms=NOW)
    daytime = round(datetime(2026, 1, 20, 14, 0, tzinfo=zone).timestamp() * 1000)
    store.add_cramp("n", daytime, source="cli", now_ms=NOW)
    report = analysis.analyze(store, "n", BERLIN, NOW)
    assert report["nights"]["cramp"] == 1
    assert report["cramps_in_valid_nights"] == 2
    valid = [n for n in analysis.night_summaries(store, "n", BERLIN, NOW) if n.valid]
    sets = analysis.crossover_sets(store, "n", BERLIN, valid, store.cramps("n"))
    assert len(sets) == 2  # the daytime cramp is left out
    assert all(len(s.referents) == 30 for s in sets)
    assert report["case_crossover"] is None  # fewer than 5 usable cramps
    assert report["verdict"] == "insufficient-data"


def test_southern_hemisphere_month_of_data(store):
    """Sydney in October: DST starts on the 4th, so one night is 11 hours long."""
    sydney = NightParams(timezone="Australia/Sydney")
    _month_of_readings(store, "Australia/Sydney", 2026, 10)
    zone = ZoneInfo("Australia/Sydney")
    for day in (3, 8, 12, 17, 22, 26):
        ts = round(datetime(2026, 10, day, 2, 15, tzinfo=zone).timestamp() * 1000)
        store.add_cramp("n", ts, source="cli", now_ms=NOW)
    report = analysis.analyze(store, "n", sydney, NOW)
    nights = {n.night: n for n in analysis.night_summaries(store, "n", sydney, NOW)}
    assert nights[date(2026, 10, 3)].total_bins == 132  # 11 hours
    assert nights[date(2026, 10, 3)].valid
    # Every night from 30 September to 31 October is fully covered.
    assert report["nights"]["valid"] == 32
    assert report["nights"]["cramp"] == 6
    assert report["case_crossover"]["cramps"] == 6


def test_remedies_and_dose_response(store):
    for i, (remedy, minutes) in enumerate([("stretch", 2), ("stretch", 4), ("heat", 10)]):
        store.add_cramp(
            "n", 1_800_000_000_000 + i, source="cli", now_ms=NOW, remedy=remedy, relief_min=minutes
        )
    assert analysis.remedies(store.cramps("n")) == {
        "heat": {"cramps": 1, "median_relief_min": 10},
        "stretch": {"cramps": 2, "median_relief_min": 3},
    }
    bands = analysis.dose_response([night(0, 16.5, 1), night(1, 16.9, 0), night(2, 18.0, 0)])
    assert bands == [
        {"from_c": 16, "to_c": 17, "nights": 2, "cramp_nights": 1, "rate": 0.5},
        {"from_c": 18, "to_c": 19, "nights": 1, "cramp_nights": 0, "rate": 0.0},
    ]


def test_report_is_stored_with_its_data_version(store, db_path):
    report = build_report(mixed_nights(), [], [], BERLIN)
    assert latest_report(store, "n") is None
    save_report(store, "n", report, BERLIN.as_dict(), 3, now_ms=1000)
    saved = save_report(store, "n", report, BERLIN.as_dict(), 4, now_ms=2000)
    ro = Store.open_readonly(db_path)
    try:
        got = latest_report(ro, "n")
    finally:
        ro.close()
    assert got == saved
    assert (got.data_version, got.created_ms, got.report["verdict"]) == (4, 2000, report["verdict"])
    assert latest_report(store, "other") is None


def test_an_odds_ratio_too_large_for_a_float_is_null_not_a_crash():
    from monitor.analysis.stats import _or_colder

    assert _or_colder(-800.0, -900.0, -700.0, 0.5) is None
    assert _or_colder(0.0, -0.1, 0.1, 0.5)["or_per_degree_colder"] == 1.0


def _stop_readings_at(store: Store, ts_ms: int) -> None:
    with contextlib.closing(sqlite3.connect(store.path)) as conn, conn:
        conn.execute("DELETE FROM readings WHERE ts_ms >= ?", (ts_ms,))


def test_a_night_that_has_not_ended_is_never_valid(store):
    """Tonight is not a cramp-free night yet, even with 80 % of its bins filled."""
    zone = ZoneInfo("Europe/Berlin")
    _month_of_readings(store, "Europe/Berlin", 2026, 1)
    _, end = night_window(date(2026, 1, 20), BERLIN)
    # Readings stop at 07:00 in the night of 20 January: 132 of 144 bins.
    _stop_readings_at(store, end - 3_600_000)
    at_seven = end - 3_600_000
    tonight = {n.night: n for n in analysis.night_summaries(store, "n", BERLIN, at_seven)}
    assert tonight[date(2026, 1, 20)].coverage > 0.9
    assert not tonight[date(2026, 1, 20)].valid
    assert tonight[date(2026, 1, 19)].valid
    assert analysis.analyze(store, "n", BERLIN, at_seven)["nights"]["valid"] == 20
    # As of 08:00 it has ended, and counts.
    assert analysis.analyze(store, "n", BERLIN, NOW, as_of_ms=end)["nights"]["valid"] == 21
    # The pages (no as_of): data ahead of this machine's clock (an import from elsewhere)
    # count as ended up to the newest reading, the last night not.
    long_ago = round(datetime(2025, 1, 1, tzinfo=zone).timestamp() * 1000)
    ahead = {n.night: n for n in analysis.night_summaries(store, "n", BERLIN, long_ago)}
    assert ahead[date(2026, 1, 19)].valid and not ahead[date(2026, 1, 20)].valid
    # The analysis stops at the clock: nothing after it is known yet.
    before = analysis.analyze(store, "n", BERLIN, long_ago)
    assert before["nights"]["valid"] == 0 and before["as_of"] == "2024-12-31T23:00:00.000Z"


def test_a_night_whose_readings_stop_at_0625_is_not_counted_by_default(store):
    """analysis-spec.md v3: the default as_of is the earlier of the clock and the newest
    reading, so a night whose sensor died at 06:25 never becomes valid by the clock alone;
    the same data give the same answer whenever the command runs."""
    zone = ZoneInfo("Europe/Berlin")
    _month_of_readings(store, "Europe/Berlin", 2026, 1)
    _, end = night_window(date(2026, 1, 20), BERLIN)
    six_25 = round(datetime(2026, 1, 21, 6, 25, tzinfo=zone).timestamp() * 1000)
    _stop_readings_at(store, six_25 + 1)  # the last reading is at 06:25 exactly
    nine = end + 3_600_000
    for clock in (six_25 + 600_000, nine, NOW):  # 06:35, 09:00, decades later
        report = analysis.analyze(store, "n", BERLIN, clock)
        assert report["as_of"] == "2026-01-21T05:25:00.000Z"
        assert report["nights"]["valid"] == 20
    # Given as_of before 08:00: not ended, not valid.
    seven = end - 3_600_000
    assert analysis.analyze(store, "n", BERLIN, NOW, as_of_ms=seven)["nights"]["valid"] == 20
    # Given as_of after 08:00: ended; 20:00-06:25 fills 126 of 144 bins (87.5 % >= 80 %).
    later = analysis.analyze(store, "n", BERLIN, NOW, as_of_ms=nine)
    assert later["nights"]["valid"] == 21 and later["as_of"] == "2026-01-21T08:00:00.000Z"
    # With min_coverage 0.9 it is ended but not covered: still 20.
    strict = replace(BERLIN, min_coverage=0.9)
    assert analysis.analyze(store, "n", strict, NOW, as_of_ms=nine)["nights"]["valid"] == 20


def test_rows_after_as_of_are_ignored(store):
    """Readings and cramps stamped after as_of do not exist for the analysis: the report
    as of a time equals the report of a store holding only the rows up to it."""
    zone = ZoneInfo("Europe/Berlin")
    _month_of_readings(store, "Europe/Berlin", 2026, 1, temp_of=lambda ts: 16 + ts % 7)
    cramp_days = (2, 5, 9, 12, 14, 17, 21, 24, 27)
    for day in cramp_days:
        ts = round(datetime(2026, 1, day, 23, 30, tzinfo=zone).timestamp() * 1000)
        store.add_cramp("n", ts, source="cli", now_ms=NOW)
    as_of = round(datetime(2026, 1, 18, 9, 0, tzinfo=zone).timestamp() * 1000)
    got = analysis.analyze(store, "n", BERLIN, NOW, as_of_ms=as_of)
    assert got["as_of"] == "2026-01-18T08:00:00.000Z"
    assert got["cramps_total"] == 6  # the three after it are not there
    # The same data cut at as_of (the row at as_of itself stays).
    with contextlib.closing(sqlite3.connect(store.path)) as conn, conn:
        conn.execute("DELETE FROM readings WHERE ts_ms > ?", (as_of,))
        conn.execute("DELETE FROM cramps WHERE ts_ms > ?", (as_of,))
    cut = analysis.analyze(store, "n", BERLIN, NOW, as_of_ms=as_of)
    assert cut == got
    assert got["nights"]["valid"] == 18  # 31 December .. 17 January
    assert got["case_crossover"]["cramps"] == 6


def test_as_of_takes_any_offset_and_is_truncated_to_milliseconds():
    from monitor.cli.analyze import parse_as_of
    from monitor.clock import iso_ms

    ms = parse_as_of("2026-12-07T07:25:00.123999+01:00")
    assert iso_ms(ms) == "2026-12-07T06:25:00.123Z"  # truncated, not rounded
    assert parse_as_of("2026-12-07T06:25:00Z") == parse_as_of("2026-12-07T01:25:00-05:00")
    assert iso_ms(parse_as_of("2026-12-07T06:25:00z")) == "2026-12-07T06:25:00.000Z"
    assert parse_as_of(None) is None
