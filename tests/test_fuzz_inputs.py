"""Bad input, fuzzed: every bad config names its key, every bad CSV names its line.

Property-based (hypothesis): whatever the input, the outcome is either a clean
success or a clear error that changed nothing — never a traceback.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import config as config_mod
from monitor.csvio import CsvError, import_cramps, import_readings
from monitor.store import Store

SECTIONS = {
    f.name: [k.name for k in dataclasses.fields(f.default_factory())]
    for f in dataclasses.fields(config_mod.Config)
    if f.name != "source"
}

safe_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)
toml_scalars = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    safe_text,
    st.lists(safe_text, max_size=3),
)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace(
            "\x7f", "\\u007f"
        )  # TOML-compatible basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


@st.composite
def configs(draw):
    lines = []
    for section in draw(st.lists(st.sampled_from([*SECTIONS, "bogus"]), unique=True, max_size=4)):
        lines.append(f"[{section}]")
        keys = [*SECTIONS.get(section, []), "unknown_key"]
        for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
            lines.append(f"{key} = {toml_value(draw(toml_scalars))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None)
@given(configs())
def test_fuzzed_config_is_valid_or_every_error_names_file_and_key(text):
    try:
        config_mod.parse(text, "fuzz.toml")
    except config_mod.ConfigError as exc:
        assert exc.errors
        for line in exc.errors:
            assert line.startswith("fuzz.toml: ")
            assert re.search(r"\[\w+\]", line), line  # names the section (and key)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_config_bytes_never_crash(data):
    text = data.decode("utf-8", "replace")
    try:
        config_mod.parse(text, "fuzz.toml")
    except config_mod.ConfigError as exc:
        assert all(line.startswith("fuzz.toml: ") for line in exc.errors)


cell = st.one_of(
    st.sampled_from(
        [
            "",
            "abc",
            "nan",
            "inf",
            "-1e9",
            "101",
            "2026-01-01",
            "2026-13-01T00:00:00Z",
            "2026-01-01T00:00:00",
            '"',
            "1,2",
            "\x00",
        ]
    ),
    st.text(max_size=8),
)


def _iso(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def readings_files(draw):
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        if draw(st.booleans()):
            ts = _iso(draw(st.integers(min_value=1_780_000_000, max_value=1_900_000_000)))
            temp = draw(st.floats(min_value=-40, max_value=80, allow_nan=False))
            hum = draw(st.floats(min_value=0, max_value=100, allow_nan=False))
            rows.append(f"{ts},{temp!r},{hum!r}")
        else:
            rows.append(",".join(draw(st.lists(cell, min_size=1, max_size=4))))
    return "timestamp,temperature_c,humidity_pct\n" + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    s = Store.open(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    yield s
    s.close()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(readings_files())
def test_fuzzed_readings_csv_imports_fully_or_names_a_line_and_imports_nothing(fuzz_store, text):
    before = fuzz_store.count_readings()
    try:
        result = import_readings(fuzz_store, io.StringIO(text), "fuzz", "f.csv")
    except CsvError as exc:
        assert all(re.match(r"f\.csv: line \d+: ", e) for e in exc.errors), exc.errors
        assert fuzz_store.count_readings() == before
    else:
        assert fuzz_store.count_readings() == before + result.added


@st.composite
def cramps_files(draw):
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.booleans()):
            ts = _iso(draw(st.integers(min_value=1_780_000_000, max_value=1_900_000_000)))
            leg = draw(st.sampled_from(["", "left", "right", "both"]))
            sev = draw(st.sampled_from(["", "1", "3", "5"]))
            rows.append(f"{ts},{leg},{sev},")
        else:
            rows.append(",".join(draw(st.lists(cell, min_size=1, max_size=5))))
    return "timestamp,leg,severity,note\n" + "\n".join(rows) + "\n"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cramps_files())
def test_fuzzed_cramps_csv_imports_fully_or_names_a_line_and_imports_nothing(fuzz_store, text):
    before = len(fuzz_store.cramps(None, include_deleted=True))
    try:
        result = import_cramps(fuzz_store, io.StringIO(text), "fuzz", 1, "c.csv")
    except CsvError as exc:
        assert all(re.match(r"c\.csv: line \d+: ", e) for e in exc.errors), exc.errors
        assert len(fuzz_store.cramps(None, include_deleted=True)) == before
    else:
        assert len(fuzz_store.cramps(None, include_deleted=True)) == before + result.added
