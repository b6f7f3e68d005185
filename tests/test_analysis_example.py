"""End to end through the real CLI: the contract's shared examples, the repository's own
example (vienna-winter, expected.json from the independent oracle), reports and bad flags.

The contract examples live in the shared/ folder beside the checkout and are skipped
with a reason where that folder is absent; everything else runs on examples/vienna-winter,
so a fresh clone tests it too.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.analysis.reports import CONTRACT_KEYS, latest_report
from monitor.cli.analyze import parse_as_of
from monitor.store import Store
from tests.support import EXAMPLES, OWN_EXAMPLES, ROOT, bedside_env, run_bedside

SHARED = {"berlin-autumn": "Europe/Berlin", "lisbon-seasons": "Europe/Lisbon"}
VIENNA = OWN_EXAMPLES / "vienna-winter"
V3_KEYS = CONTRACT_KEYS | {"contract", "as_of"}  # analysis-spec.md v3 added these two


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
    expected = json.loads((folder / "expected.json").read_text())
    assert set(expected) == V3_KEYS and expected["contract"] == 3
    got = analyze_json(config_path, "--as-of", expected["as_of"])
    assert_close(expected, got)
    # The second run reads stored night summaries and gives the same numbers.
    assert analyze_json(config_path, "--as-of", expected["as_of"]) == got


@pytest.fixture
def vienna(make_config):
    return import_example(VIENNA, "Europe/Vienna", make_config)


def test_vienna_winter_matches_the_independent_oracle(vienna):
    config_path, _ = vienna
    expected = json.loads((VIENNA / "expected.json").read_text())
    if expected.get("contract") != 3:
        pytest.skip("examples/vienna-winter/expected.json is still v2 (the oracle regenerates it)")
    assert set(expected) == V3_KEYS
    got = analyze_json(config_path, "--as-of", expected["as_of"])
    assert_close(expected, got)
    # What the example is for: the first planned look, reached with 108 valid nights.
    assert got["sequential"]["look"] == 1 and got["nights"]["valid"] == 108
    # p 0.021 would have been firm at version 2's 0.0158 (and at 0.05); not at 0.0135.
    assert got["verdict"] == "inconclusive"
    assert 0.0135 < got["sequential"]["at_look"]["p"] < 0.05
    # Without --as-of: the earlier of the clock and the newest reading, the same answer.
    default = analyze_json(config_path)
    assert default["as_of"] < expected["as_of"] and default["verdict"] == got["verdict"]


def test_readable_output_says_what_the_page_says(vienna):
    config_path, _ = vienna
    report = analyze_json(config_path)
    done = run_bedside("analyze", config=config_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The page's headline first (the same sentence the JSON carries), then the details.
    assert lines[0] == report["summary"]
    assert report["sequential"]["look"] == 1 and report["nights"]["valid"] == 108
    assert f"({report['verdict']})" in done.stdout and "Verdict: " in done.stdout
    assert "at the 90-night check:" in done.stdout and "all valid nights so far:" in done.stdout
    # The crude figures are there, labelled, and say nothing about significance.
    crude = done.stdout.split("Crude figures (these do not account for the season")[1]
    assert "cold (min < 18 °C)" in crude and "Fisher" in crude and "Logistic OR" in crude
    for word in ("significant", "supports", "evidence", "went with"):
        assert word not in crude.split("Night minimum")[0]


def test_report_stores_the_report_with_its_data_version_and_as_of(vienna):
    config_path, config = vienna
    done = run_bedside("report", config=config_path)
    assert done.returncode == 0, done.stderr
    expected = analyze_json(config_path)
    assert expected["summary"] in done.stdout
    with Store.open(config.storage.database) as store:
        stored = latest_report(store, "bedroom")
        assert stored is not None
        assert stored.data_version == store.data_version()
        assert stored.report["verdict"] == expected["verdict"]
        assert stored.report["sequential"]["look_nights"] == 90
        assert stored.params["timezone"] == "Europe/Vienna"
        # The version of the contract and the time of the analysis are kept with it.
        assert stored.report["contract"] == 3
        # Default as_of: the newest reading (the clock is long past the example's data).
        assert stored.report["as_of"] == "2026-01-18T09:56:27.000Z" == expected["as_of"]


def test_the_web_report_job_analyses_as_of_its_own_clock(vienna):
    """The child process has a clock of its own: the web passes the time of the analysis
    (its clock, or the node's newest reading when that is earlier), and the stored report
    is the one `analyze --as-of` gives."""
    from monitor.clock import FakeClock
    from web.reportjob import ReportJob

    config_path, config = vienna
    config = replace(config, source=str(config_path))
    before_end = parse_as_of("2026-01-10T12:00:00+01:00")
    job = ReportJob(config, clock=FakeClock(before_end))
    command = job.command("bedroom")
    assert command[-2:] == ["--as-of", "2026-01-10T11:00:00.000Z"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env=bedside_env(), check=False
    )
    assert done.returncode == 0, done.stderr
    with Store.open(config.storage.database) as store:
        stored = latest_report(store, "bedroom").report
    expected = analyze_json(config_path, "--as-of", "2026-01-10T11:00:00.000Z")
    assert stored["as_of"] == expected["as_of"] and stored["nights"] == expected["nights"]
    assert stored["nights"]["valid"] < 108
    # A clock past the newest reading: the newest reading.
    late = ReportJob(config, clock=FakeClock(parse_as_of("2030-01-01T00:00:00Z")))
    assert late.command("bedroom")[-1] == "2026-01-18T09:56:27.000Z"
    assert "--as-of" not in ReportJob(config).command("bedroom")


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
        (["--as-of", "yesterday"], "--as-of: expected an ISO 8601 instant"),
        (["--as-of", "2026-12-07T06:25:00"], "--as-of: expected an ISO 8601 instant"),
        (["--as-of", "0001-01-01T00:00:00Z"], "--as-of: '0001-01-01T00:00:00Z' is outside"),
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
