"""The evidence page's charts: the within-month view and the cramp-rate bands."""

from __future__ import annotations

from datetime import date

from web import charts


def test_band_chart_greys_only_bands_under_the_limit():
    svg = charts.band_chart([("15–16", 0.5, 4), ("16–17", 0.2, 5), ("17–18", 0.0, 12)], few_below=5)
    assert svg.count('class="bar few"') == 1 and svg.count('class="bar"') == 2
    assert "15–16: 50% of 4 nights (fewer than 5" in svg
    assert ">n=4<" in svg and ">n=5<" in svg and ">n=12<" in svg


def test_within_month_chart_marks_cramp_nights_and_describes_itself():
    points = [(date(2025, 1, d), 16 + d / 10, d / 10 - 1.05, d % 3 == 0) for d in range(1, 21)]
    svg = charts.within_month_chart(points, summary="20 valid nights.")
    assert svg.count('<circle class="wm"') == 14
    assert svg.count('<circle class="wm wm-cramp"') == 6
    assert 'aria-labelledby="wm-title wm-desc"' in svg
    assert '<desc id="wm-desc">20 valid nights.</desc>' in svg
    assert "Fri 03 Jan 2025: 16.3 °C, 0.8 °C below its month&#39;s average, cramp night" in svg
    assert "No valid nights yet." in charts.within_month_chart([])
