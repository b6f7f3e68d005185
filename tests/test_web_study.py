"""The Study page: the stored pooled report in the one-person page's words, pseudonyms by
default, the forest plot, the pooled trial, who was left out; /study/print and /api/study.

The database is filled through the real store (several rooms in their own time zones, one
without a zone) and the report is stored by the real CLI, `bedside report --pooled`, in a
subprocess; each verdict's words are checked on hand-made reports stored the same way.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

from monitor.analysis import reports
from monitor.clock import FakeClock
from monitor.config import load
from monitor.store import Reading, Store
from monitor.store.reports import STUDY_KEY
from tests.oracle.datasets import seasonal_person
from tests.support import run_bedside, write_config
from web import study as study_mod

# People in four zones (clock changes in both hemispheres), one room with no zone known.
PEOPLE = [
    seasonal_person("anna-room", "Europe/Berlin", date(2026, 8, 25), 90, seed=11, room_logit=0.5),
    seasonal_person("ben-room", "Australia/Sydney", date(2026, 8, 25), 90, seed=12, room_logit=0.4),
    seasonal_person("cleo-room", "America/New_York", date(2026, 9, 5), 80, seed=13, room_logit=0.4),
]
NO_ZONE = seasonal_person("shed-node", "UTC", date(2026, 9, 1), 20, seed=14)
PUBLISHED = {
    "anna-room": "Europe/Berlin",
    "ben-room": "Australia/Sydney",
}  # on <prefix>/<node>/info
CONFIGURED = {"cleo-room": "America/New_York"}  # [study.timezones]
WEB_NOW = int(datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)
IDS = ["anna-room", "ben-room", "cleo-room", "shed-node", "hall-server"]


def _sections(db, show_names: bool = False) -> dict:
    return {
        "node": {"id": "hall-server", "timezone": "Europe/Berlin"},
        "storage": {"database": str(db)},
        "mqtt": {"enabled": False},
        "study": {"show_names": show_names},
        "study.timezones": CONFIGURED,
    }


@pytest.fixture(scope="module")
def study_db(tmp_path_factory):
    """A recorder database with three people, one room without a zone, one finished trial
    published, and the pooled report stored by `bedside report --pooled`."""
    folder = tmp_path_factory.mktemp("study")
    db = folder / "recorder.db"
    with Store.open(db) as s:
        for ds in [*PEOPLE, NO_ZONE]:
            s.add_readings(ds.name, [Reading(ms, t, h) for ms, t, h in ds.readings])
            s.add_cramps(
                ds.name, [{"ts_ms": ms} for ms in ds.cramps], source="import", now_ms=WEB_NOW
            )
        for node, zone in PUBLISHED.items():
            s.set_node_timezone(node, zone)
        trial = {"first_night": "2026-09-01", "pairs": 14, "usual_only": 5, "warm_only": 1}
        s.set_trial_result("ben-room", trial, WEB_NOW - 40 * 86_400_000)
    config = write_config(folder / "recorder.toml", _sections(db))
    done = run_bedside("report", "--pooled", config=config)
    assert done.returncode == 0, done.stderr
    assert "left out of the study: shed-node (no time zone known)" in done.stderr
    return db


@pytest.fixture
def study_app(tmp_path, study_db):
    from web.app import create_app

    made = []

    def make(show_names: bool = False, db=None):
        path = write_config(tmp_path / f"c{len(made)}.toml", _sections(db or study_db, show_names))
        app = create_app(
            load(path), clock=FakeClock(WEB_NOW), test_config={"REPORT_JOB_ENABLED": False}
        )
        made.append(app)
        return app.test_client()

    yield make
    for app in made:
        app.extensions["bedside"]["data"].close()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _stored(db) -> dict:
    with Store.open(db) as s:
        return s.latest_report(STUDY_KEY).report


def test_the_page_says_the_stored_report_in_the_one_person_words(study_app, study_db):
    report = _stored(study_db)
    html = study_app().get("/study").get_data(as_text=True)
    text = _text(html)
    assert reports.verdict_sentence(report) in text
    assert "nobody's room is compared with anyone else's" in text.lower()
    assert "that same person's nights of the same half-month" in text
    label = reports.VERDICT_LABEL[report["verdict"]]
    assert f"{label}:" in text  # the current verdict's word, explained in one line
    for _, other, _ in reports.verdict_meanings():
        assert other in text  # every verdict word is explained
    meanings = _text(html.split('id="verdict-words"', 1)[1].split("</dl>", 1)[0])
    assert "people's own colder-than-usual nights" in meanings
    assert "your" not in meanings.lower()  # said of everyone's own nights, not the reader's
    people = report["people"]
    assert f"{people} of the 3 people taking part" in text
    assert f"together {report['nights']['valid']} valid nights" in text
    assert "more valid night" in text and "around " in text  # the next check as a date
    assert "0 more nights" not in text


def test_pseudonyms_by_default_never_node_ids_or_names(study_app):
    html = study_app().get("/study").get_data(as_text=True)
    text = _text(html)
    for label in ("P1", "P2", "P3"):
        assert label in html
    main = html.split('<main id="main"', 1)[1]  # the room picker lists rooms for the owner
    for word in IDS:
        assert word not in main, word
    assert "1 room is not counted: its time zone is not known" in text
    assert "add its time zone under [study.timezones] on the recorder" in text


def test_names_when_the_owner_turns_them_on(study_app):
    html = study_app(show_names=True).get("/study").get_data(as_text=True)
    main = html.split('<main id="main"', 1)[1]
    assert "P1" not in main
    for node in ("cleo-room", "anna-room", "ben-room"):
        assert node in main  # a room without a name set shows its id
    assert "shed-node is not counted: its time zone is not known" in _text(main)


def test_the_forest_plot_has_a_row_per_person_and_the_pooled_diamond(study_app, study_db):
    report = _stored(study_db)
    html = study_app().get("/study").get_data(as_text=True)
    svg = re.search(r'<svg class="chart forest".*?</svg>', html, re.S).group(0)
    rows = [r for r in report["per_person"]]
    drawn = svg.count('class="fp-row"') + svg.count('class="fp-arrow"')
    drawn += svg.count(">no usable half-month<title>")
    assert drawn == len(rows)
    assert ("diamond" in svg) == (report["pooled"] is not None)
    assert "\u2190 warmer nights" in svg and "colder nights \u2192" in svg


def test_the_pooled_trial_plain_words_first_then_the_figures(study_app, study_db):
    trial = _stored(study_db)["trial"]
    assert trial["people"] == 1 and trial["usual_only"] == 5 and trial["warm_only"] == 1
    text = _text(study_app().get("/study").get_data(as_text=True))
    words = "One finished trial, 14 pairs of nights in all. In 6 of the 14 pairs cramps came"
    assert words in text
    assert text.index(words) < text.index("Two-sided mid-p = ")
    assert "exact p = " in text and "odds ratio, usual against warm: 5.00" in text


def test_print_view_is_one_sheet_with_the_same_words(study_app, study_db):
    report = _stored(study_db)
    html = study_app().get("/study/print").get_data(as_text=True)
    assert reports.verdict_sentence(report) in _text(html)
    svg = re.search(r'<svg class="chart forest".*?</svg>', html, re.S).group(0)
    assert svg.count('class="diamond"') == 1  # everyone together: drawn once
    assert svg.count('class="label"') == 3  # P1, P2, P3
    assert "print.css" in html and '<nav class="tabs"' not in html
    assert "anna-room" not in html


def test_api_study_gives_the_stored_contract_json_with_node_ids(study_app, study_db):
    body = study_app().get("/api/study").get_json()
    stored = _stored(study_db)
    for key in ("contract", "as_of", "people", "nights", "pooled", "sequential", "verdict"):
        assert body[key] == stored[key]
    assert [r["node"] for r in body["per_person"]] == ["anna-room", "ben-room", "cleo-room"]
    assert body["left_out"] == {"shed-node": "no time zone known"}
    assert body["zones"]["cleo-room"] == "America/New_York"
    assert body["stale"] is False


def test_api_study_404_with_a_reason_before_the_first_report(study_app, tmp_path):
    db = tmp_path / "empty.db"
    Store.open(db).close()
    client = study_app(db=db)
    response = client.get("/api/study")
    assert response.status_code == 404
    assert "no study report is stored yet" in response.get_json()["error"]
    text = _text(client.get("/study").get_data(as_text=True))
    assert "Not enough people or nights yet" in text


# -- each verdict's words, on hand-made reports ------------------------------------------------


def _fit(odds, lo, hi, p, separation=None):
    return {
        "nights": 400,
        "strata": 60,
        "or_per_degree_colder": odds,
        "ci_low": lo,
        "ci_high": hi,
        "p": p,
        "separation": separation,
    }


def _report(verdict: str, at: dict | None, look: int | None, people: int = 3) -> dict:
    fit = at or None
    return {
        "contract": 3,
        "as_of": "2026-11-30T07:00:00Z",
        "people": people,
        "nights": {"valid": 400 if look else 200, "cramp": 90},
        "pooled": fit,
        "sequential": {
            "looks": [360, 720, 1460, 2920, 4380],
            "alpha_per_look": 0.0135,
            "look": look,
            "look_nights": 360 if look else None,
            "next_look_nights": 720 if look else 360,
            "at_look": at,
        },
        "verdict": verdict,
        "per_person": [
            {"node": "a", "valid": 150, "cramp": 30, "seasonal": _fit(1.6, 1.1, 2.3, 0.01)},
            {"node": "b", "valid": 150, "cramp": 30, "seasonal": _fit(1, 1, 1, 1, "colder")},
            {"node": "c", "valid": 100, "cramp": 30, "seasonal": None},
        ],
        "trial": None,
        "left_out": {},
        "zones": {"a": "UTC", "b": "UTC", "c": "UTC"},
    }


CASES = {
    "supports": (_fit(1.5, 1.2, 1.9, 0.001), 1, "Supports: after 360 nights, colder nights"),
    "contradicts": (_fit(0.6, 0.45, 0.8, 0.001), 1, "Contradicts: after 360 nights, warmer"),
    "inconclusive": (_fit(1.1, 0.9, 1.3, 0.3), 1, "No firm answer yet: after 360 nights"),
    "insufficient-data": (None, None, "Too early: 200 of the 360 nights"),
}


@pytest.mark.parametrize("verdict", CASES)
def test_each_verdict_in_the_plain_words(study_app, tmp_path, verdict):
    at, look, start = CASES[verdict]
    db = tmp_path / "made.db"
    with Store.open(db) as s:
        s.add_readings("a", [Reading(WEB_NOW - 3_600_000, 17.0, 50.0)])
        s.save_report(STUDY_KEY, _report(verdict, at, look), {"pooled": True}, 0, WEB_NOW)
    text = _text(study_app(db=db).get("/study").get_data(as_text=True))
    headline = re.search(r'id="verdict">(.*?)</p>', study_app(db=db).get("/study").get_data(True))
    assert headline.group(1).replace("&#39;", "'").startswith(start)
    assert "per °C warmer" not in headline.group(1) or verdict == "contradicts"
    if verdict in ("supports", "contradicts"):
        assert "likely between" in text and "98.65% range" in text  # the decision level
    assert "0 more nights" not in text
    svg = re.search(
        r'<svg class="chart forest".*?</svg>', study_app(db=db).get("/study").text, re.S
    )
    assert svg.group(0).count('class="fp-arrow"') == 1  # b is separated: an arrow
    assert "no usable half-month" in svg.group(0)  # c: a row of text


def test_the_next_check_is_dated_by_the_rate_of_nights_across_people():
    report = _report("insufficient-data", None, None)
    assert study_mod.when_words(0, 2.0, date(2026, 12, 1)).startswith("due now")
    alone = study_mod.next_check(report, None, date(2026, 12, 1))
    assert alone.endswith("together: 160 more valid nights.")  # no rate: no date, no pace
    words = study_mod.next_check(report, 10.0, date(2026, 12, 1))
    assert words.startswith("The first check is at 360 valid nights of everyone together:")
    assert "160 more valid nights (about 2 weeks: around 17 December)" in words


def test_the_stored_json_round_trips(study_db):
    assert json.loads(json.dumps(_stored(study_db)))["contract"] == 3


def test_one_person_with_a_usable_half_month_is_not_enough_people(study_app, tmp_path):
    db = tmp_path / "one.db"
    with Store.open(db) as s:
        s.add_readings("a", [Reading(WEB_NOW - 3_600_000, 17.0, 50.0)])
        report = _report("insufficient-data", None, None, people=1)
        s.save_report(STUDY_KEY, report, {"pooled": True}, 0, WEB_NOW)
    text = _text(study_app(db=db).get("/study").get_data(as_text=True))
    assert "Not enough people yet: only one person has a usable half-month" in text
    assert "1 of the 3 people taking part has a usable half-month" in text


def test_a_missing_report_starts_report_pooled_and_says_being_computed(tmp_path, study_db):
    """The page starts the real child (`bedside report --pooled`) and says so; once it has
    run, the page shows its verdict."""
    import shutil

    from web.app import create_app

    db = tmp_path / "copy.db"
    shutil.copy(study_db, db)
    with Store.open(db) as s:
        assert s.delete_reports(STUDY_KEY) == 1
    path = write_config(tmp_path / "job.toml", _sections(db))
    app = create_app(load(path), clock=FakeClock(WEB_NOW))
    job = app.extensions["bedside"]["job"]
    try:
        assert job.command(STUDY_KEY)[-2:] == ["report", "--pooled"]
        client = app.test_client()
        missing = client.get("/api/study")
        assert missing.status_code == 404 and missing.get_json()["computing"] is True
        page = _text(client.get("/study").get_data(as_text=True))
        assert "The study's first report is being computed" in page  # the child needs seconds
        # Who is not counted is unknown without a report: never "every room is counted".
        assert "not counted is known once the first report is computed" in page
        assert "Every room with readings is counted" not in page
        assert job.wait(120) == 0, job.last_error
        body = client.get("/api/study").get_json()
        assert body["left_out"] == {"shed-node": "no time zone known"}
        page = _text(client.get("/study").get_data(as_text=True))
        assert reports.verdict_sentence(body) in page
        assert "1 room is not counted" in page
    finally:
        job.stop()
        app.extensions["bedside"]["data"].close()


def test_a_report_older_than_the_data_is_stale(study_app, tmp_path):
    db = tmp_path / "old.db"
    with Store.open(db) as s:
        s.add_readings("a", [Reading(WEB_NOW - 3_600_000, 17.0, 50.0)])
        report = _report("inconclusive", _fit(1.1, 0.9, 1.3, 0.3), 1)
        s.save_report(STUDY_KEY, report, {"pooled": True}, s.data_version(), WEB_NOW)
    client = study_app(db=db)
    assert client.get("/api/study").get_json()["stale"] is False
    with Store.open(db) as s:
        s.add_cramp("a", WEB_NOW - 7_200_000, source="cli", now_ms=WEB_NOW)  # out of order
    assert client.get("/api/study").get_json()["stale"] is True
    text = _text(client.get("/study").get_data(as_text=True))
    assert "newer data is waiting for the next report" in text


def test_a_failed_first_report_names_no_room_unless_names_are_on(study_app, tmp_path):
    db = tmp_path / "nozone.db"
    with Store.open(db) as s:
        s.add_readings("secret-room", [Reading(WEB_NOW - 3_600_000, 17.0, 50.0)])
    for show in (False, True):
        client = study_app(show_names=show, db=db)
        job = client.application.extensions["bedside"]["job"]
        job.last_error = (
            "bedside: no one can take part in the study yet (secret-room: no time zone)"
        )
        html = client.get("/study").get_data(as_text=True).split('<main id="main"', 1)[1]
        assert "The last attempt to compute it failed" in html
        assert ("secret-room" in html) is show


def test_a_separated_fit_is_an_arrow_to_its_own_side():
    from web import forest

    def arrow(side: str) -> tuple[float, float]:
        svg = str(forest.forest_plot([forest.Row("P1", _fit(1, 1, 1, 0.001, side))]))
        line = re.search(r'class="fp-arrow"><line x1="([\d.]+)" x2="([\d.]+)"', svg)
        return float(line.group(1)), float(line.group(2))

    start, end = arrow("colder")
    assert end > start  # to the right: colder nights, more cramps
    start, end = arrow("warmer")
    assert end < start


def test_the_rate_of_nights_adds_up_the_people_still_recording(tmp_path):
    as_of = WEB_NOW
    with Store.open(tmp_path / "rate.db") as s:
        # a: 30 days of readings, 30 valid nights; b: 10 days, 5 valid; c: stopped 20 days ago
        for node, first_day, last_day in (("a", 30, 0), ("b", 10, 0), ("c", 60, 20)):
            s.add_readings(
                node,
                [
                    Reading(as_of - first_day * 86_400_000, 17.0, 50.0),
                    Reading(as_of - last_day * 86_400_000, 17.0, 50.0),
                ],
            )
        report = {
            "per_person": [
                {"node": "a", "valid": 30},
                {"node": "b", "valid": 5},
                {"node": "c", "valid": 40},
            ]
        }
        assert study_mod.nights_per_day(s, report, as_of) == pytest.approx(1.0 + 0.5)
