"""The evidence page in plain words, on reports the real analysis computed and stored.

The reports come from monitor.analysis.stats.analyze on stores filled by
tests/evidence_fixtures.py (synthetic nights for each verdict, the repository's
examples/vienna-winter through monitor.csvio) or by tests/web_fixtures.fill; the
sentences are compared with what `bedside analyze` prints for the same report.
"""

from __future__ import annotations

import html as htmlmod
import math
import re
from datetime import date, datetime

import pytest

from monitor.analysis import reports
from monitor.cli.analyze import render_text
from monitor.clock import FakeClock
from monitor.nights import NightParams, night_summaries
from monitor.store import Store
from tests.evidence_fixtures import (
    ALPHA,
    BERLIN,
    separated,
    store_analysis,
    store_report,
    v3_report,
    wald,
)
from tests.test_web_api import SPEC_REPORT
from tests.web_fixtures import CRAMP_MS, NODE, NOON_MS
from web import charts
from web.evidence import p_value

ALL = ["vienna", "supports", "contradicts", "inconclusive", "disagree"]


def get(app_factory, scenario, path="/evidence", sections=None):
    merged = {"node": {"timezone": scenario.timezone}, **(sections or {})}
    app = app_factory(merged, clock=FakeClock(scenario.now_ms))
    r = app.test_client().get(path)
    assert r.status_code == 200, r.get_data(as_text=True)[-2000:]
    return r.get_data(as_text=True)


def stored(db_path) -> dict:
    with Store.open_readonly(db_path) as s:
        return s.latest_report(NODE).report


def text_of(fragment: str) -> str:
    """Visible text of an HTML fragment (tags dropped, entities decoded, spaces squeezed)."""
    return " ".join(htmlmod.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def by_id(page: str, ident: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{ident}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no element #{ident}"
    return text_of(match.group(2))


def split_toggle(page: str) -> tuple[str, str]:
    """(the page outside the statistician's toggle, the toggle's content)."""
    match = re.search(r'<details id="more-figures"[^>]*>(.*?)</details>', page, re.S)
    assert match, "no 'more figures' toggle"
    return page[: match.start()] + page[match.end() :], match.group(1)


def cli_lines(report: dict) -> list[str]:
    return render_text(report).splitlines()


# -- the headline, one per verdict and look ----------------------------------------------------


@pytest.fixture
def too_early(filled):
    """The dashboard fixture's two finished nights, analysed for real at noon."""
    with Store.open(filled) as s:
        return store_analysis(s, NODE, BERLIN, NOON_MS)


def test_headline_too_early(client, too_early):
    page = client.get("/evidence").get_data(as_text=True)
    assert too_early["verdict"] == "insufficient-data"
    assert by_id(page, "verdict") == "Too early: 2 of the 90 nights the first check needs."
    assert by_id(page, "verdict") == cli_lines(too_early)[0]
    # 88 more nights, as a span and a date from the report's as_of (every night valid).
    assert by_id(page, "next-check").startswith(
        "The first check is at 90 valid nights: 88 more nights (about 3 months: around"
    )
    # No figures to work out how long yet: said in words, not as a dash or a slug.
    assert "at least 3 cramp nights" in by_id(page, "firm-answer")
    assert "insufficient-data" not in text_of(page)
    assert "likely between" not in by_id(page, "verdict")


def page_lines(page: str, report: dict) -> list[str]:
    """The sentences under the question on the page, by the ids plain_lines gives them."""
    return [by_id(page, ident) for ident, _ in reports.plain_lines(report)]


@pytest.mark.parametrize("name", ALL)
def test_the_page_and_the_cli_say_the_same_sentences(app_factory, evidence_db, name):
    scenario = evidence_db(name)
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    lines = page_lines(page, report)
    assert lines == [t for _, t in reports.plain_lines(report)]
    assert lines == cli_lines(report)[: len(lines)]
    printed = get(app_factory, scenario, "/evidence/print")
    assert page_lines(printed, report) == lines
    label = reports.VERDICT_LABEL[report["verdict"]]
    assert lines[0].startswith(f"{label}: after 90 nights")
    assert page.index('id="verdict"') < page.index('id="crossover"') < page.index("<section")


def test_a_firm_headline_on_real_nights_gives_the_decision_level_interval(app_factory, evidence_db):
    scenario = evidence_db("supports")
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    seq = report["sequential"]
    assert report["verdict"] == "supports" and seq["look"] == 1
    lo, hi = reports.decision_interval(seq["at_look"], seq["alpha_per_look"])
    level = reports.level_words(seq["alpha_per_look"])
    headline = by_id(page, "verdict")
    assert headline.startswith(
        "Supports: after 90 nights, colder nights than usual for the half-month went with more"
        " cramps: about ×"
    )
    assert f"(likely between {reports._x(lo)} and {reports._x(hi)})." in headline
    assert f"“Likely between” is a {level} range" in by_id(page, "ratio-meaning")
    assert lo > 1  # the interval beside "supports" leaves 1 at the level it decides by
    assert "tends to overstate" in by_id(page, "early-caution")
    odds = reports._x(seq["at_look"]["or_per_degree_colder"])
    assert by_id(page, "ratio-meaning").startswith(f"{odds} per °C colder means")
    assert by_id(page, "crossover").endswith("it is not a verdict.")


def test_headline_contradicts(app_factory, evidence_db):
    scenario = evidence_db("contradicts")
    headline = by_id(get(app_factory, scenario), "verdict")
    assert stored(scenario.path)["verdict"] == "contradicts"
    assert headline.startswith(
        "Contradicts: after 90 nights, warmer nights than usual for the half-month went with"
        " more cramps: about ×"
    )
    assert "per °C warmer (likely between" in headline
    assert headline.endswith("Next check at 180 nights.")


def test_headline_inconclusive_names_the_next_check(app_factory, evidence_db):
    scenario = evidence_db("inconclusive")
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    assert report["verdict"] == "inconclusive"
    assert by_id(page, "verdict") == (
        "No firm answer yet: after 90 nights, the cramp nights were not clearly colder or warmer"
        " than usual for the half-month. Next check at 180 nights."
    )
    assert 'id="early-caution"' not in page and 'id="ratio-meaning"' not in page


def test_disagreement_sentence_when_the_two_views_point_different_ways(app_factory, evidence_db):
    scenario = evidence_db("disagree")
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    assert report["verdict"] == "supports" and report["case_crossover"]["ci_high"] < 1
    assert "on the whole warmer" in by_id(page, "crossover")
    sentence = by_id(page, "disagreement")
    assert sentence == reports.disagreement_sentence(report)
    assert sentence in cli_lines(report)
    assert sentence.startswith(
        "The two views disagree: the nights compared within their half-month"
    )
    assert "The verdict follows the nights" in sentence
    for agreeing in ("vienna", "contradicts", "inconclusive"):
        assert 'id="disagreement"' not in get(app_factory, evidence_db(agreeing))


# -- hand-made version-3 reports: each verdict, separation, the words around them ---------------


def hand_made(app_factory, filled, report, created_ms=NOON_MS):
    store_report(filled, report, created_ms)
    app = app_factory({"node": {"timezone": BERLIN}}, clock=FakeClock(NOON_MS))
    return app.test_client().get("/evidence").get_data(as_text=True)


def _hand(verdict, look, fit, valid, **extra):
    return lambda: v3_report(verdict, look, fit, valid=valid, **extra)


HAND_MADE = {
    "supports": _hand("supports", 1, wald(1.9, 1.3, 2.8, p=0.002), 100, recorded=110),
    "contradicts": _hand("contradicts", 2, wald(0.55, 0.4, 0.76, p=0.001), 200),
    "inconclusive": _hand("inconclusive", 3, wald(1.2, 0.95, 1.5, p=0.12), 400),
    "too-early": _hand("insufficient-data", None, None, 40, recorded=50),
    "separated-colder": _hand("supports", 1, separated("colder", 0.003), 95),
    "separated-warmer": _hand("contradicts", 1, separated("warmer", 0.003), 95),
}


@pytest.mark.parametrize("name", list(HAND_MADE))
def test_each_verdict_reads_plainly_on_the_page(app_factory, filled, name):
    report = HAND_MADE[name]()
    page = hand_made(app_factory, filled, report)
    outside, _ = split_toggle(page)
    visible = text_of(outside)
    assert by_id(page, "verdict") == reports.verdict_sentence(report) == cli_lines(report)[0]
    # Every verdict word explained in one line; the current one marked.
    meanings = by_id(page, "verdict-words")
    for _, label, line in reports.verdict_meanings(ALPHA):
        assert f"{label} {line}" in meanings
    current = re.search(r'<div class="current"><dt>([^<]+)</dt>', page).group(1)
    assert current == reports.VERDICT_LABEL[report["verdict"]]
    # The analysis time, in the site's time zone.
    assert "Report as of Mon 07 Dec 07:25 ·" in by_id(page, "report-age")
    # Never a slug, never "0 more nights", never a direction for "no firm answer".
    for raw in ("insufficient-data", "None", "nan", "did not go with more cramps"):
        assert raw not in visible, raw
    assert not re.search(r"\b0 more nights?\b", visible)
    assert "within their month" not in visible and "its month's average" not in visible
    if name.startswith("separated"):
        assert "as strong a pattern as these nights can show" in by_id(page, "verdict")
        assert "×" not in by_id(page, "verdict") and 'id="ratio-meaning"' not in page
        _, toggle = split_toggle(page)
        assert "no finite odds ratio), score test p = 0.003" in text_of(toggle)
    if name in ("supports", "contradicts"):
        assert "98.65% range" in by_id(page, "ratio-meaning")
        assert "tends to overstate" in by_id(page, "early-caution")
        assert "the odds of a cramp night were about" in by_id(page, "ratio-meaning")
    if name in ("inconclusive", "too-early"):
        assert "likely between" not in visible and "×1.2" not in by_id(page, "verdict")
    if name == "too-early":
        # 40 valid of 50 recorded nights: 50 more valid nights take about 63 days.
        assert by_id(page, "next-check") == (
            "The first check is at 90 valid nights: 50 more nights (about 2 months: around"
            " 8 February 2027)."
        )


def test_a_version_2_report_renders_labelled_and_is_recomputed(app_factory, filled):
    at = wald(1.42, 1.08, 1.87, p=0.01, nights=90, strata=4)
    report = v3_report("supports", 1, at, valid=100, contract=None)
    page = hand_made(app_factory, filled, report)
    assert "Computed under the previous rules (v2" in by_id(page, "previous-rules")
    assert "recomputing" in by_id(page, "previous-rules")
    assert "colder nights than usual for the month" in by_id(page, "verdict")
    assert "98.42% range" in by_id(page, "ratio-meaning")
    assert "Colder than usual for the month?" in page  # its plot by whole months, as it was made
    # Stale: the page asks for a new report (the job is off in tests: "newer data is waiting").
    assert "newer data is waiting" in by_id(page, "report-age")
    assert "v2" in cli_lines(report)[len(reports.plain_lines(report))]
    printed = get_print(app_factory)
    assert "previous rules (v2" in by_id(printed, "previous-rules")


def get_print(app_factory):
    app = app_factory({"node": {"timezone": BERLIN}}, clock=FakeClock(NOON_MS))
    return app.test_client().get("/evidence/print").get_data(as_text=True)


# -- figures: plain on the page, all of them one toggle away, the crude ones only there --------


CRUDE_LABELS = ["Fisher", "Relative risk", "Mann–Whitney", "Logistic regression"]


@pytest.mark.parametrize("name", ALL)
def test_crude_figures_only_inside_the_toggle_and_never_significant(app_factory, evidence_db, name):
    scenario = evidence_db(name)
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    outside, toggle = split_toggle(page)
    crude = by_id(toggle, "crude-figures")
    assert "do not account for the season" in crude
    rr = report["relative_risk"]
    lg = report["logistic"]
    figures = [
        f"Fisher's exact test, cold against warm nights {p_value(report['fisher_p'])}",
        f"{rr['estimate']:.2f} (95% CI {rr['ci_low']:.2f}–{rr['ci_high']:.2f})",
        f"U = {report['mann_whitney']['u']:g}",
        f"{lg['or_per_degree_colder']:.2f} (95% CI {lg['ci_low']:.2f}–{lg['ci_high']:.2f})",
    ]
    for label in CRUDE_LABELS:
        assert label in crude and label not in text_of(outside), label
    for figure in figures[:3]:
        assert figure in crude, figure
        assert figure not in text_of(outside), figure
    assert figures[3] in crude
    assert "signific" not in page.lower()
    assert "statistically" not in page.lower()


def test_every_figure_is_labelled_in_words(app_factory, evidence_db):
    scenario = evidence_db("vienna")
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    _, toggle = split_toggle(page)
    at, sf, cc = report["sequential"]["at_look"], report["seasonal"], report["case_crossover"]
    words = text_of(toggle)
    alpha = report["sequential"]["alpha_per_look"]
    lo, hi = reports.decision_interval(at, alpha)
    assert (
        "Nights compared within their half-month, at the check: odds ratio per °C colder"
        f" {at['or_per_degree_colder']:.2f} (95% CI {at['ci_low']:.2f}–{at['ci_high']:.2f};"
        f" {reports.level_words(alpha)} CI {lo:.2f}–{hi:.2f}), p = "
    ) in words
    assert f"; {at['nights']} nights in {at['strata']} half-months" in words
    assert f"{sf['or_per_degree_colder']:.2f} (95% CI {sf['ci_low']:.2f}" in words
    assert f"{cc['or_per_degree_colder']:.2f} (95% CI {cc['ci_low']:.2f}" in words
    assert (
        f"at 90, 180, 365, 730 and 1095 valid nights, each at a two-sided p below {alpha:g}"
    ) in words
    assert "a description, recomputed every morning" in words
    assert report["power"]["reason"] in words  # the CLI's nights-needed sentence
    assert (
        "Valid nights (ended, with a reading in at least 80% of their 5-minute bins) 108" in words
    )
    # No slug and no raw dictionary anywhere on the page.
    visible = text_of(page)
    for raw in ("insufficient-data", "or_per_degree_colder", "at_look", "{", "None", "nan"):
        assert raw not in visible, raw


def test_how_many_more_nights_from_the_seasonal_model(app_factory, evidence_db, db_path):
    scenario = evidence_db("vienna")
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    pw = report["power"]
    # 108 valid nights of the 111 with readings; 72 more valid nights from as_of.
    assert by_id(page, "next-check").startswith(
        "The next check is at 180 valid nights: 72 more nights (about"
    )
    assert by_id(page, "next-check") == reports.plan(report).next_check
    firm = by_id(page, "firm-answer")
    need, look = pw["nights_for_or_1_5"], pw["look_for_or_1_5"]
    assert (
        "If each °C colder raised the odds of a cramp night by half (×1.5): about"
        f" {need} valid nights would make a firm answer likely (an 80% chance: 4 times in 5):"
        f" the {look}-night check, {look - 108} more nights (about"
    ) in firm
    assert f"about {pw['nights_for_or_1_3']} valid nights would make a firm answer likely" in firm
    smallest = pw["smallest_detectable_or_per_degree"]
    assert (
        "With the 108 valid nights so far, a firm answer is likely only if each °C colder" in firm
    )
    assert f"multiplies the odds by about ×{smallest:.1f} or more." in firm
    # Why: one person's nights differ little within a half-month; the figure is the pooled
    # within-half-month spread of the valid nights' minimums, worked out here independently.
    with Store.open_readonly(db_path) as s:
        nights = night_summaries(s, NODE, NightParams(scenario.timezone), scenario.now_ms)
    valid = [n for n in nights if n.valid]
    halves: dict = {}
    for n in valid:
        key = (n.night.year, n.night.month, n.night.day > 15)
        halves.setdefault(key, []).append(n.min_temp_c)
    ss = sum(sum((x - sum(v) / len(v)) ** 2 for x in v) for v in halves.values())
    spread = math.sqrt(ss / (len(valid) - len(halves)))
    assert f"differs from its half-month's average by only about {spread:.1f} °C" in by_id(
        page, "why-long"
    )
    assert '<a href="/trial">warm-night trial</a>' in page


# -- the plots: the report's valid nights ------------------------------------------------------

POINT = re.compile(r'<circle class="(wm(?: wm-cramp)?)"[^>]*><title>([^<]*)</title></circle>')


def test_within_month_plot_points_are_the_valid_nights(app_factory, evidence_db, db_path):
    scenario = evidence_db("supports")
    page = get(app_factory, scenario)
    report = stored(scenario.path)
    with Store.open_readonly(db_path) as s:
        nights = night_summaries(s, NODE, NightParams(scenario.timezone), scenario.now_ms)
    # The last night has 11 of its 12 hours of readings and a cramp, but has not ended;
    # one night half-way has only half its readings (and the coldest minimum, and a cramp).
    tonight = nights[-1]
    assert tonight.coverage >= 0.8 and tonight.cramps and not tonight.finished
    flaky = [n for n in nights if n.finished and not n.valid]
    assert len(flaky) == 1 and flaky[0].cramps and flaky[0].min_temp_c == 14.0
    valid = [n for n in nights if n.valid]
    assert len(valid) == report["nights"]["valid"] == 100
    halves: dict = {}
    for n in valid:
        halves.setdefault((n.night.year, n.night.month, n.night.day > 15), []).append(n.min_temp_c)
    expected = {}
    for n in valid:
        half = halves[(n.night.year, n.night.month, n.night.day > 15)]
        expected[n.night] = (n.min_temp_c, n.min_temp_c - sum(half) / len(half), n.cramps > 0)
    # The points were stored with the report when it was saved (one per valid night).
    stored_points = report["plot"]["within_half_month"]
    assert [date.fromisoformat(d) for d, *_ in stored_points] == [n.night for n in valid]
    points = {}
    for cls, title in POINT.findall(page):
        title = htmlmod.unescape(title)
        day, rest = title.split(": ", 1)
        night = datetime.strptime(day, "%a %d %b %Y").date()
        low, dev, side = re.match(r"([\d.]+) °C, ([\d.]+) °C (above|below)", rest).groups()
        assert night not in points
        points[night] = (float(low), float(dev) * (-1 if side == "below" else 1), cls, title)
    assert set(points) == set(expected)
    assert tonight.night not in points and flaky[0].night not in points
    for night, (low, dev, cls, title) in points.items():
        want_low, want_dev, cramp = expected[night]
        assert low == pytest.approx(want_low, abs=0.05)
        assert dev == pytest.approx(want_dev, abs=0.05 + 1e-9)
        assert (cls == "wm wm-cramp") == cramp == title.endswith("cramp night")
    cramp_points = sum(1 for *_, cls, _ in points.values() if cls == "wm wm-cramp")
    assert cramp_points == report["nights"]["cramp"]
    # Its text alternative, and the dot plot, count the same nights.
    text = by_id(page, "within-month-text")
    assert text.startswith(f"100 valid nights. On the {cramp_points} cramp nights")
    assert f"Cramp nights ({cramp_points})" in page
    assert f"Other nights ({100 - cramp_points})" in page


def test_the_plot_is_drawn_from_the_points_stored_with_the_report(app_factory, filled):
    """A report with its points: the page draws them and walks no night (the nights in the
    store here are two June nights; the stored points are three January ones)."""
    report = v3_report("insufficient-data", valid=3)
    report["plot"] = {
        "within_half_month": [
            ["2026-01-02", 16.0, -1.0, True],
            ["2026-01-03", 18.0, 1.0, False],
            ["2026-01-20", 17.0, 0.0, False],
        ],
        "spread": 1.2,
    }
    page = hand_made(app_factory, filled, report)
    titles = [htmlmod.unescape(t) for _, t in POINT.findall(page)]
    assert sorted(t.split(":")[0] for t in titles) == [
        "Fri 02 Jan 2026",
        "Sat 03 Jan 2026",
        "Tue 20 Jan 2026",
    ]
    assert by_id(page, "within-month-text").startswith("3 valid nights. On the 1 cramp night")
    assert "about 1.2 °C on a typical night" in by_id(page, "why-long")
    # Without stored points (a report saved before they were kept): worked out from the nights.
    with Store.open(filled) as s:
        s.save_report(
            NODE,
            {**report, "plot": None, "nights": {"valid": 2}},
            {},
            s.data_version(),
            NOON_MS + 1,
        )
    page = (
        app_factory(clock=FakeClock(NOON_MS)).test_client().get("/evidence").get_data(as_text=True)
    )
    assert sorted(htmlmod.unescape(t).split(":")[0] for _, t in POINT.findall(page)) == [
        "Mon 01 Jun 2026",
        "Tue 02 Jun 2026",
    ]


def test_band_bars_show_n_and_grey_bands_under_five_nights(
    client, too_early, app_factory, evidence_db
):
    bands = too_early["dose_response"]
    assert [b["nights"] for b in bands] == [2]  # both nights at 17 °C
    page = client.get("/evidence").get_data(as_text=True)
    assert page.count('class="bar few"') == 1
    assert "17–18 °C: 50% of 2 nights (fewer than 5: too few to read)" in page
    assert "n=2" in page
    vienna = get(app_factory, evidence_db("vienna"))
    assert 'class="bar few"' not in vienna
    for band in stored(evidence_db("vienna").path)["dose_response"]:
        assert f"n={band['nights']}</text>" in vienna


def test_band_chart_greys_only_bands_under_the_limit():
    svg = charts.band_chart([("15–16", 0.5, 4), ("16–17", 0.2, 5), ("17–18", 0.0, 12)], few_below=5)
    assert svg.count('class="bar few"') == 1 and svg.count('class="bar"') == 2
    assert "15–16: 50% of 4 nights (fewer than 5" in svg
    assert ">n=4<" in svg and ">n=5<" in svg and ">n=12<" in svg


def test_within_month_chart_marks_cramp_nights_and_describes_itself():
    points = [(date(2025, 1, d), 16 + d / 10, d / 10 - 1.05, d % 3 == 0) for d in range(1, 21)]
    svg = charts.within_month_chart(points, summary="20 valid nights.", unit="month")
    assert svg.count('<circle class="wm"') == 14
    assert svg.count('<circle class="wm wm-cramp"') == 6
    assert 'aria-labelledby="wm-title wm-desc"' in svg
    assert '<desc id="wm-desc">20 valid nights.</desc>' in svg
    assert "Fri 03 Jan 2025: 16.3 °C, 0.8 °C below its month&#39;s average, cramp night" in svg
    assert "No valid nights yet." in charts.within_month_chart([])
    # Version 3 compares nights within their half-month: the chart says so in its own words.
    assert "against its half-month&#39;s average" in charts.within_month_chart(points)


# -- the page for a doctor ---------------------------------------------------------------------


def test_print_view_for_a_doctor(app_factory, evidence_db):
    scenario = evidence_db("vienna")
    page = get(app_factory, scenario, "/evidence/print")
    report = stored(scenario.path)
    assert by_id(page, "verdict") == reports.verdict_sentence(report)
    assert by_id(page, "crossover") == reports.crossover_sentence(report)
    caveats = by_id(page, "caveats")
    assert "not proof of cause" in caveats
    assert "Garrison et al., CMAJ 2015" in caveats and "summer" in caveats
    assert "deserve a doctor's opinion" in caveats
    assert "108 nights with enough readings, from 20 September 2025 to" in by_id(
        page, "print-nights"
    )
    # The print stylesheet: linked, served, and about paper.
    assert 'href="/static/print.css"' in page
    client = app_factory().test_client()
    css = client.get("/static/print.css").get_data(as_text=True)
    assert "@media print" in css and "@page" in css
    # Cramps by month and by hour add up to the cramps recorded.
    with Store.open_readonly(scenario.path) as s:
        total = len(s.cramps(NODE))
    assert f"{total} cramps recorded in all" in by_id(page, "print-nights")
    month_rows = re.findall(
        r"<tr><td>(\w+ \d{4})</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", page
    )
    assert [m for m, *_ in month_rows][:2] == ["September 2025", "October 2025"]
    assert sum(int(c) for *_, c in month_rows) == total
    assert sum(int(n) for _, n, _, _ in month_rows) == report["nights"]["valid"]
    assert sum(int(c) for _, _, c, _ in month_rows) == report["nights"]["cramp"]
    hours = re.search(r'id="print-hours".*?<th>Cramps</th>(.*?)</tr>', page, re.S).group(1)
    assert sum(int(x) for x in re.findall(r">(\d+)</td>", hours)) == total
    assert "No remedy logged with a time to relief yet." in page
    assert "signific" not in page.lower()


def test_print_view_remedies_with_their_numbers(app_factory, filled):
    with Store.open(filled) as s:
        for i in range(5):
            s.add_cramp(
                NODE,
                CRAMP_MS - (i + 1) * 60_000,
                source="web",
                now_ms=NOON_MS,
                remedy="stretch",
                relief_min=2.0 + i,
            )
        for i in range(2):
            s.add_cramp(
                NODE,
                CRAMP_MS - 86_400_000 + i * 60_000,
                source="web",
                now_ms=NOON_MS,
                remedy="heat",
                relief_min=10.0,
            )
        store_analysis(s, NODE, BERLIN, NOON_MS)
    page = app_factory().test_client().get("/evidence/print").get_data(as_text=True)
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td><td>([^<]+)</td></tr>", page)
    assert ("Stretch", "5", "eased after a median of 4 minutes") in rows
    assert ("Heat", "2", "too few to compare") in rows


def test_print_view_without_a_report(client):
    r = client.get("/evidence/print")  # two finished nights, one cramp, no report yet
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert by_id(page, "verdict") == "No report yet."
    assert "2 nights with enough readings, from 01 June 2026 to 02 June 2026" in page
    assert "1 cramp recorded in all" in page
    assert "<tr><td>June 2026</td><td>2</td><td>1</td><td>1</td></tr>" in page
    assert "not proof of cause" in by_id(page, "caveats")


# -- reports from before version 2 -------------------------------------------------------------


def test_an_old_report_still_renders_and_says_it_will_be_redone(client, filled):
    with Store.open(filled) as s:
        reports.save_report(s, NODE, SPEC_REPORT, {}, s.data_version(), NOON_MS - 3_600_000)
    page = client.get("/evidence").get_data(as_text=True)
    headline = by_id(page, "verdict")
    assert "older version of bedside" in headline and "next morning job" in headline
    outside, toggle = split_toggle(page)
    assert "2.13 (95% CI 1.20–3.60)" in toggle and "2.13" not in text_of(outside)
    assert "Verdict of the older version (from the crude figures)" in text_of(toggle)
    assert "will be worked out again" in by_id(page, "next-check")
    assert "signific" not in page.lower()
    printed = client.get("/evidence/print")
    assert printed.status_code == 200
    assert "older version of bedside" in by_id(printed.get_data(as_text=True), "verdict")
