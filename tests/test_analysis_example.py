"""End to end through the real CLI: the shared berlin-autumn example, reports and bad flags."""

from __future__ import annotations

import json
import math

import pytest

from monitor.analysis.reports import latest_report
from monitor.store import Store
from tests.support import EXAMPLES, run_bedside

EXAMPLE = EXAMPLES / "berlin-autumn"  # ../shared next to the checkout


def assert_close(expected, got, path="report"):
    """Every key of the contract, numbers within a relative 1e-4."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), path
        for key, value in expected.items():
            assert key in got, f"{path}.{key} missing"
            assert_close(value, got[key], f"{path}.{key}")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert got == expected, path
    elif isinstance(expected, int):
        assert got == expected and isinstance(got, int), path
    else:
        assert isinstance(got, float | int) and not isinstance(got, bool), path
        assert math.isclose(got, expected, rel_tol=1e-4), f"{path}: {got} != {expected}"


@pytest.fixture
def imported(make_config):
    if not (EXAMPLE / "expected.json").exists():
        pytest.skip(f"the contract example is not beside this checkout ({EXAMPLE})")
    # expected.json is for Berlin's local nights (the example's offsets are +01:00/+02:00).
    config_path, config = make_config({"node": {"id": "bedroom", "timezone": "Europe/Berlin"}})
    for kind in ("readings", "cramps"):
        done = run_bedside("import", kind, str(EXAMPLE / f"{kind}.csv"), config=config_path)
        assert done.returncode == 0, done.stderr
    return config_path, config


def test_berlin_autumn_matches_expected(imported):
    config_path, _ = imported
    done = run_bedside("analyze", "--json", config=config_path)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert "NaN" not in done.stdout and "Infinity" not in done.stdout
    expected = json.loads((EXAMPLE / "expected.json").read_text())
    assert_close(expected, got)
    # The second run reads stored night summaries and gives the same numbers.
    again = run_bedside("analyze", "--json", config=config_path)
    assert json.loads(again.stdout) == got


def test_readable_output_starts_with_the_verdict_sentence(imported):
    config_path, _ = imported
    done = run_bedside("analyze", config=config_path)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("Colder nights went with more cramps")
    assert "95% CI" in first
    assert "cold (min < 18 °C)" in done.stdout and "Fisher" in done.stdout


def test_report_stores_the_report_with_its_data_version(imported):
    config_path, config = imported
    done = run_bedside("report", config=config_path)
    assert done.returncode == 0, done.stderr
    with Store.open(config.storage.database) as store:
        stored = latest_report(store, "bedroom")
        assert stored is not None
        assert stored.data_version == store.data_version()
        assert stored.report["verdict"] == "supports"
        assert stored.params["timezone"] == "Europe/Berlin"


def test_flags_override_config(imported):
    config_path, _ = imported
    done = run_bedside("analyze", "--json", "--cold-below", "17", config=config_path)
    report = json.loads(done.stdout)
    assert report["cold_threshold_c"] == 17.0
    assert report["nights"]["cold"] < 39


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
def test_bad_flags_are_one_line_errors(imported, flags, message):
    config_path, _ = imported
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
