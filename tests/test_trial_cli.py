"""`bedside trial` as a person runs it (`python -m monitor`): clear errors, the show and
report JSON contracts, a whole trial run in the past, stopping early."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.clock import FakeClock
from monitor.store import Store
from monitor.trial import design, service
from monitor.trial.design import Protocol
from tests.support import run_bedside
from tests.trial_support import FIRST, NODE, Script, add_cramp, fill_night, local_ms, orders_for

SHOW_KEYS = {"status", "first_night", "nights", "warm_min_c", "commitment", "salt", "schedule"}
REPORT_KEYS = {
    "status", "pairs", "usual_only", "warm_only", "both", "neither", "p", "p_exact", "odds_ratio",
    "ci_low", "ci_high", "adherence", "per_protocol", "verdict",
}  # fmt: skip
PP_KEYS = {"pairs", "usual_only", "warm_only", "p", "odds_ratio", "ci_low", "ci_high"}


def bedside(config, *args):
    return run_bedside("trial", *args, config=config)


def today_berlin() -> date:
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


def test_start_refuses_clearly(make_config, db_path):
    path, _ = make_config()
    r = bedside(path, "show")
    assert r.returncode == 1 and "no trial" in r.stderr and "Traceback" not in r.stderr
    in_two_days = today_berlin() + timedelta(days=2)
    least = str(design.MIN_NIGHTS)
    for args, code, words in (
        (["--nights", "13"], 2, "even"),
        (["--nights", str(design.MIN_NIGHTS - 2)], 2, f"at least {least}"),
        (["--nights", least, "--first-night", "2026-13-01"], 2, "YYYY-MM-DD"),
        (["--nights", least, "--first-night", "2020-01-01"], 2, "has passed"),
        (["--nights", least, "--warm-min-c", "45"], 2, "from 10 to 30"),
    ):
        r = bedside(path, "start", *args, "--yes")
        assert (r.returncode, "Traceback" in r.stderr) == (code, False), r.stderr
        assert words in r.stderr
    r = bedside(path, "start", "--nights", least, "--first-night", in_two_days.isoformat(), "--yes")
    assert r.returncode == 0, r.stderr
    assert f"from the night of {in_two_days.strftime('%a %d %b')}" in r.stdout
    assert "chance of a firm answer" in r.stdout and "That is less than even" in r.stdout
    r = bedside(path, "start", "--nights", "56", "--yes")
    assert r.returncode == 1 and "already planned or running" in r.stderr
    assert bedside(path, "stop").returncode == 2  # --reason is required
    r = bedside(path, "stop", "--reason", "   ")
    assert r.returncode == 1 and "why" in r.stderr


def test_show_json_of_a_planned_trial_hides_every_arm(make_config):
    path, _ = make_config({"trial": {"warm_min_c": 20.0}})
    first = today_berlin() + timedelta(days=3)
    r = bedside(path, "start", "--nights", "12", "--first-night", first.isoformat(), "--yes")
    assert r.returncode == 0, r.stderr
    shown = json.loads(bedside(path, "show", "--json").stdout)
    assert set(shown) >= SHOW_KEYS
    assert shown["status"] == "planned" and shown["nights"] == 12
    assert shown["first_night"] == first.isoformat() and shown["warm_min_c"] == 20.0
    assert shown["salt"] is None and len(shown["commitment"]) == 64
    assert shown["schedule"] == [
        {"night": (first + timedelta(days=i)).isoformat(), "arm": None} for i in range(12)
    ]
    report = json.loads(bedside(path, "report", "--json").stdout)
    assert set(report) >= REPORT_KEYS and set(report["per_protocol"]) >= PP_KEYS
    assert report["verdict"] == "too-early" and report["pairs"] == 0
    text = bedside(path, "show").stdout
    assert "Standing" not in text and "is a warm" not in text and "is a usual" not in text
    assert f"The first instruction comes on {first.strftime('%a %d %b')} at 18:00." in text


ARMS = ["warm", "usual", "usual", "warm"] * 4  # 16 nights, 8 pairs


def run_past_trial(db_path, config, *, stop_after: int | None = None):
    """A trial of June 2026, its nights stored as the sensor and the button would.

    Cramps on every usual night; on warm nights only in the last pair (both):
    b = 7, c = 0, both = 1.
    """
    clock = FakeClock(local_ms(FIRST, "09:00"))
    with Store.open(db_path) as store:
        service.start_trial(store, config, clock.now_ms(), nights=16, rng=Script(orders_for(ARMS)))
        loaded = service.load(store, NODE)
        p = loaded.protocol
        for i, (night, arm) in enumerate(zip(p.dates(), ARMS, strict=True)):
            fill_night(store, p, night, 19.8 if arm == "warm" else 16.5)
            if arm == "usual" or i >= 14:
                add_cramp(store, p, night)
            if stop_after is not None and i == stop_after:
                service.stop_trial(store, NODE, p.announce_ms(night) + 60_000, "a cold")
    return loaded


def test_a_whole_trial_reported_from_the_cli(make_config, db_path):
    path, config = make_config()
    loaded = run_past_trial(db_path, config)
    report = json.loads(bedside(path, "report", "--json").stdout)
    assert report["status"] == "finished" and report["verdict"] == "warm-helped"
    assert (report["pairs"], report["usual_only"], report["warm_only"]) == (8, 7, 0)
    assert (report["both"], report["neither"]) == (1, 0)
    assert report["p_exact"] == pytest.approx(2 / 2**7)  # 7 of 7 discordant pairs one way
    assert report["p"] <= report["p_exact"]  # the mid-p (the exact one until it lands)
    assert report["odds_ratio"] is None and report["ci_high"] is None  # c = 0
    low = 0.025 ** (1 / 7)
    assert report["ci_low"] == pytest.approx(low / (1 - low))
    assert report["adherence"] == {"warm": [8, 8], "usual": [8, 8]}
    assert report["per_protocol"]["pairs"] == 8
    assert report["per_protocol"]["p"] == pytest.approx(report["p"])
    shown = json.loads(bedside(path, "show", "--json").stdout)
    assert shown["status"] == "finished" and shown["salt"] == loaded.trial.salt
    assert [s["arm"] for s in shown["schedule"]] == ARMS
    lines = "\n".join(f"{s['night']} {s['arm']}" for s in shown["schedule"])
    digest = hashlib.sha256((shown["salt"] + "\n" + lines).encode("utf-8")).hexdigest()
    assert digest == shown["commitment"]  # the commitment verifies, from the outside
    text = bedside(path, "report").stdout
    assert text.startswith(
        "In 7 of the 8 pairs cramps came on one night only: 7 times after the usual night,"
        " never after the warm night. That is unlikely to be chance"
    )
    assert "warm nights came with fewer cramps" in text and "Verdict: warm nights helped" in text
    assert "Mid-p (two-sided): " in text and "exact p: 0.0156" in text
    assert "warm-helped" not in text
    shown_text = bedside(path, "show").stdout
    assert "matches the commitment" in shown_text and ": finished" in shown_text
    assert "instruction comes" not in shown_text and "revealed" not in shown_text


def test_stopped_early_from_the_cli(make_config, db_path):
    path, config = make_config()
    run_past_trial(db_path, config, stop_after=5)
    report = json.loads(bedside(path, "report", "--json").stdout)
    assert report["status"] == "stopped" and report["verdict"] == "stopped-early"
    assert report["pairs"] == 3  # nights 0-5 were announced before the stop
    assert report["adherence"] == {"warm": [3, 3], "usual": [3, 3]}
    assert "stopped early (a cold)" in bedside(path, "report").stdout
    shown = json.loads(bedside(path, "show", "--json").stdout)
    assert shown["salt"] is not None and [s["arm"] for s in shown["schedule"]] == ARMS
    r = bedside(path, "stop", "--reason", "again")
    assert r.returncode == 1 and "no trial is planned or running" in r.stderr
    # The next trial may start; its first night is tonight or tomorrow.
    r = bedside(path, "start", "--nights", "12", "--json", "--yes")
    assert r.returncode == 0, r.stderr
    started = json.loads(r.stdout)
    assert started["status"] == "planned" and started["plan"]["baseline"]["nights"] > 0


def test_a_bad_trial_config_names_key_and_file(make_config, tmp_path):
    path, _ = make_config()
    path.write_text(path.read_text() + '\n[trial]\nannounce_at = "22:00"\nwarm_min_c = 5\n')
    r = run_bedside("config", "check", config=path)
    assert r.returncode == 2
    assert f"{path}: [trial] announce_at: must be in the daytime" in r.stderr
    assert f"{path}: [trial] warm_min_c: must be a temperature from 10 to 30" in r.stderr


def test_a_low_chance_plan_asks_before_it_starts(make_config, db_path):
    """Below even odds of a firm answer: a question on standard input; no answer refuses
    (exit 2), "n" declines (exit 1), "y" or --yes starts."""
    path, _ = make_config()
    least = str(design.MIN_NIGHTS)
    r = run_bedside("trial", "start", "--nights", least, config=path, input="")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "below 50%" in r.stderr and "--yes" in r.stderr
    assert "That is less than even" in r.stderr and "Start this trial anyway? [y/N]" in r.stderr
    r = run_bedside("trial", "start", "--nights", least, config=path, input="n\n")
    assert r.returncode == 1 and "not started" in r.stderr
    with Store.open_readonly(db_path) as s:
        assert s.latest_trial(NODE) is None  # nothing stored either time
    r = run_bedside("trial", "start", "--nights", least, config=path, input="y\n")
    assert r.returncode == 0, r.stderr
    with Store.open_readonly(db_path) as s:
        assert s.latest_trial(NODE).nights == int(least)


def test_a_plan_with_a_good_chance_starts_without_a_question(make_config, db_path):
    """Cramps on 9 nights in 10: 112 nights give well over even odds; no question asked."""
    path, _ = make_config()
    past = Protocol(today_berlin() - timedelta(days=31), 30, 19.0, timezone="Europe/Berlin")
    with Store.open(db_path) as store:
        for k, night in enumerate(past.dates()):
            fill_night(store, past, night, 17.0)
            if k % 10:
                add_cramp(store, past, night)
    r = run_bedside("trial", "start", "--nights", "112", config=path, input="")
    assert r.returncode == 0, r.stderr
    assert "Start this trial anyway" not in r.stderr
    assert "this 112-night plan has" in r.stdout and "less than even" not in r.stdout
