"""The fast CSV path for readings (added for bench/bench_import.py) must agree with the
careful path: same readings, same error messages."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.csvio import CsvError, parse_readings
from tests.support import OWN_EXAMPLES


def both(body: str):
    """Parse as the plain 3-column file (fast) and with a node column (careful path)."""
    fast_text = "timestamp,temperature_c,humidity_pct\n" + body
    lines = body.splitlines()
    careful_text = "timestamp,temperature_c,humidity_pct,node\n" + "".join(
        f"{line},\n" if line.strip() else "\n" for line in lines
    )
    out = []
    for text in (fast_text, careful_text):
        try:
            out.append(parse_readings(io.StringIO(text, newline=""), "n1", "f.csv"))
        except CsvError as exc:
            out.append(
                [
                    e.replace("found 4", "found 3").replace("expected 4", "expected 3")
                    for e in exc.errors
                ]
            )
    return out


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            instants,
            st.sampled_from(["Z", "+02:00", "-05:30"]),
            st.one_of(st.just("nan"), st.floats(-45, 85).map(lambda v: f"{v:.2f}")),
            st.one_of(st.just(""), st.just(" "), st.floats(-5, 105).map(lambda v: f"{v:.1f}")),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fast_path_equals_careful_path(rows):
    body = ""
    for dt, zone, temp, hum in rows:
        shift = {"Z": 0, "+02:00": 2, "-05:30": -5.5}[zone]
        local = (dt + timedelta(hours=shift)).replace(tzinfo=None)
        body += f"{local.isoformat()}{zone},{temp},{hum}\n"
    fast, careful = both(body)
    assert fast == careful


@pytest.mark.parametrize(
    "bad",
    [
        "2026-09-15T10:61:00Z,20.0,50\n",
        "2026-09-15T25:00:00Z,20.0,50\n",
        "2026-09-15T10:0٣:00Z,20.0,50\n",
        "2026-09-15T10:00:00,20.0,50\n",
        "2026-09-15T10:00:00Z,,50\n",
        "2026-09-15T10:00:00Z,nan,50\n",
    ],
)
def test_bad_rows_get_the_same_message_on_both_paths(bad):
    fast, careful = both("2026-09-15T09:00:00Z,20.0,50\n" + bad)
    assert isinstance(fast, list) and fast == careful
    assert "line 3" in fast[0]


def test_example_readings_parse_the_same_on_both_paths():
    path = OWN_EXAMPLES / "vienna-winter" / "readings.csv"
    body = path.read_text().split("\n", 1)[1]
    fast, careful = both(body)
    assert fast == careful and len(fast["n1"]) > 1000
