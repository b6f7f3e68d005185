"""End to end through the real CLI: the contract's shared examples, the repository's own
example (vienna-winter, expected.json from the independent oracle), reports and bad flags.

The contract examples live in the shared/ folder beside the checkout and are skipped
with a reason where that folder is absent; everything else runs on examples/vienna-winter,
so a fresh clone tests it too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from monitor.analysis.reports import CONTRACT_KEYS, latest_report
from monitor.store import Store
from tests.support import EXAMPLES, OWN_EXAMPLES, run_bedside

SHARED = {"berlin-autumn": "Europe/Berlin", "lisbon-seasons": "Europe/Lisbon"}
VIENNA = OWN_EXAMPLES / "vienna-winter"


def assert_close(expected, got, path="report"):
    """Every key of the contract, numbers within a relative 1e-4."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), path
        for key, value in expected.items():
            assert key in got, f"{path}.{key} missing"
            assert_close(value, got[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), path
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_close(e, g, f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert got == expected, path
    elif isinstance(expected, int):
        assert got == expected and isinstance(got, int), path
    else:
        assert isinstance(got, float | int) and not isinstance(got, bool), path
        assert math.isclose(got, expected, rel_tol=1e-4), f"{path}: {got} != {expected}"


def import_example(folder: Path, timezone: str, make_config):
    config_path, config = make_config({"node": {"id": "bedroom", "timezone": timezone}})
    for kind in ("readings", "cramps"):
        done = run_bedside("import", kind, str(folder / f"{kind}.csv"), config=config_path)
        assert done.returncode == 0, done.stderr
    return config_path, config


def analyze_json(config_path, *flags) -> dict:
    done = run_bedside("analyze", "--json", *flags, config=config_path)
    assert done.returncode == 0, done.stderr
    assert "NaN" not in done.stdout and "Infinity" not in done.stdout
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_example_matches_expected(name, make_config):
    folder = EXAMPLES / name
    if not (folder / "expected.json").exists():
        pytest.skip(f"the contract example is not beside this checkout ({folder})")
    # expected.json is for the example's local nights (its own time zone).
    config_path, _ = import_example(folder, SHARED[name], make_config)
    got = analyze_json(config_path)
    expected = json.loads((folder / "expected.json").read_text())
    assert set(expected) == CONTRACT_KEYS
    assert_close(expected, got)
    # The second run reads stored night summaries and gives the same numbers.
    assert analyze_json(config_path) == got


@pytest.fixture
def vienna(make_config):
    return import_example(VIENNA, "Europe/Vienna", make_config)


def test_vienna_winter_matches_the_independent_oracle(vienna):
    config_path, _ = vienna
    got = analyze_json(config_path)
    expected = json.loads((VIENNA / "expected.json").read_text())
    assert set(expected) == CONTRACT_KEYS
    assert_close(expected, got)
    # What the example is for: the first planned look, reached with 108 valid nights.
    assert got["sequential"]["look"] == 1 and got["nights"]["valid"] == 108
    assert got["verdict"] == "supports"
    assert analyze_json(config_path) == got


def test_readable_output_says_what_the_page_says(vienna):
    config_path, _ = vienna
    done = run_bedside("analyze", config=config_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Supports: after 90 nights, colder nights than usual for the")
    assert any(
        line.endswith("This describes the cramps so far; it is not a verdict.") for line in lines
    )
    assert "The next check is at 180 valid nights: 72 more nights (about" in done.stdout
    assert "Verdict: Supports (supports)" in done.stdout
    assert "at the 90-night check:" in done.stdout and "all valid nights so far:" in done.stdout
    # The crude figures are there, labelled, and say nothing about significance.
    crude = done.stdout.split("Crude figures (these do not account for the season")[1]
    assert "cold (min < 18 °C)" in crude and "Fisher" in crude and "Logistic OR" in crude
    for word in ("significant", "supports", "evidence", "went with"):
        assert word not in crude.split("Night minimum")[0]


def test_report_stores_the_report_with_its_data_version(vienna):
    config_path, config = vienna
    done = run_bedside("report", config=config_path)
    assert done.returncode == 0, done.stderr
    assert "after 90 nights, colder nights than usual" in done.stdout
    with Store.open(config.storage.database) as store:
        stored = latest_report(store, "bedroom")
        assert stored is not None
        assert stored.data_version == store.data_version()
        assert stored.report["verdict"] == "supports"
        assert stored.report["sequential"]["look_nights"] == 90
        assert stored.params["timezone"] == "Europe/Vienna"


def test_flags_override_config(vienna):
    config_path, _ = vienna
    report = analyze_json(config_path, "--cold-below", "17")
    assert report["cold_threshold_c"] == 17.0
    assert report["nights"]["cold"] < 50


def test_looks_come_from_the_config(vienna, make_config):
    config_path, _ = make_config(
        {
            "node": {"id": "bedroom", "timezone": "Europe/Vienna"},
            "analysis": {"looks": [30, 60, 120], "look_alpha": 0.01},
        },
        name="looks.toml",
    )
    seq = analyze_json(config_path)["sequential"]
    assert (seq["looks"], seq["alpha_per_look"]) == ([30, 60, 120], 0.01)
    assert (seq["look"], seq["look_nights"], seq["next_look_nights"]) == (2, 60, 120)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--timezone", "Mars/Olympus"], "--timezone: unknown time zone 'Mars/Olympus'"),
        (["--night-start", "25:00"], "--night-start"),
        (["--night-end", "8am"], "--night-end"),
        (["--min-coverage", "0"], "--min-coverage"),
        (["--cold-below", "nan"], "--cold-below"),
    ],
)
def test_bad_flags_are_one_line_errors(make_config, flags, message):
    config_path, _ = make_config()  # checked before the database is opened
    done = run_bedside("analyze", *flags, config=config_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_database_is_a_clear_error(make_config):
    config_path, _ = make_config()
    done = run_bedside("analyze", config=config_path)
    assert done.returncode == 1
    assert "no database" in done.stderr and "Traceback" not in done.stderr
