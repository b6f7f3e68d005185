"""Stored evidence reports of the analysis's real shape, for the evidence page's tests.

Each scenario fills a store with readings and cramps (synthetic nights written reading
by reading, or the repository's examples/vienna-winter CSVs through monitor.csvio), runs
the real analysis (monitor.analysis.stats.analyze) at the scenario's clock time and
stores the report as `bedside report` does.  Each store is built once per test session
and copied for every test that asks for it (`evidence_db`).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor import csvio
from monitor.nights import NightParams, night_window
from monitor.store import Reading, Store
from tests.support import OWN_EXAMPLES
from tests.web_fixtures import NODE

BERLIN = "Europe/Berlin"
FIRST = date(2025, 1, 6)  # the synthetic people's first night
NIGHTS = 100  # past the first planned check (90 valid nights), short of the second
STEP_MS = 300_000  # a reading every 5 minutes: every bin filled


@dataclass(frozen=True)
class Scenario:
    """A stored report and the clock and time zone to look at it with."""

    name: str
    timezone: str
    now_ms: int
    path: Path


@dataclass(frozen=True)
class NightPlan:
    low: float  # 20:00-22:00: the night's minimum
    late: float  # the rest of the night, so also the hour before a 04:00 cramp
    cramp: bool
    hours: float = 24.0  # readings from the night's start for this long (at most to its end)


def unit(key: str) -> float:
    """A deterministic number in [0, 1) for a key."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def plans(kind: str, n: int = NIGHTS) -> list[NightPlan]:
    """n nights whose minimums cycle through 15.0-19.5 °C within every month.

    supports: cramps mostly on the three coldest values; contradicts: on the three
    warmest; inconclusive: a quarter of the nights whatever the temperature; disagree:
    cramp nights are the cold ones, but the rest of a cramp night (the hour before the
    cramp) is warmer than on other nights.
    """
    out = []
    for i in range(n):
        v = (i * 7) % 10
        low = 15.0 + 0.5 * v
        u = unit(f"{kind}:{i}")
        if kind == "supports":
            cramp = u < (0.6 if v <= 2 else 0.08)
        elif kind == "contradicts":
            cramp = u < (0.6 if v >= 7 else 0.08)
        elif kind == "inconclusive":
            cramp = u < 0.25
        elif kind == "disagree":
            cramp = u < (0.6 if v <= 2 else 0.08)
        else:
            raise ValueError(kind)
        if kind == "disagree":
            late = 20.0 + unit(f"late:{i}") + (0.8 if cramp else 0.0)
        else:
            late = low + 4.0 + 0.3 * unit(f"late:{i}")
        out.append(NightPlan(low, round(late, 2), cramp))
    return out


def write_nights(store: Store, node: str, timezone: str, first: date, nights: list[NightPlan]):
    """Readings every 5 minutes through each night; a cramp at 04:00 on cramp nights."""
    params = NightParams(timezone)
    tz = ZoneInfo(timezone)
    readings, cramps = [], []
    for i, plan in enumerate(nights):
        d = first + timedelta(days=i)
        start, end = night_window(d, params)
        dip_end = start + 2 * 3_600_000
        stop = min(end, start + round(plan.hours * 3_600_000))
        for ts in range(start, stop, STEP_MS):
            readings.append(Reading(ts, plan.low if ts < dip_end else plan.late, 50.0))
        if plan.cramp:
            at = datetime.combine(d + timedelta(days=1), datetime.min.time(), tz)
            cramps.append({"ts_ms": int((at + timedelta(hours=4)).timestamp() * 1000)})
    with store.transaction():
        store.add_readings(node, readings)
        store.add_cramps(node, cramps, source="import", now_ms=0)


def store_analysis(store: Store, node: str, timezone: str, now_ms: int) -> dict:
    """The real analysis, stored as `bedside report` stores it."""
    from monitor.analysis import stats
    from monitor.analysis.reports import save_report

    params = NightParams(timezone)
    report = stats.analyze(store, node, params, now_ms)
    if "contract" not in report:  # an engine from before analysis-spec v3: its shape, marked
        report = as_v3(report, now_ms)
    return save_report(store, node, report, params.as_dict(), store.data_version(), now_ms).report


def as_v3(report: dict, now_ms: int) -> dict:
    """A version-2 engine's report in version 3's shape: "contract", "as_of", and each
    FIT's "test" and "separation" (version 2 never reported a separated fit)."""
    out = {"contract": 3, "as_of": _iso(now_ms), **report}
    seq = out.get("sequential") or {}
    for fit in (out.get("case_crossover"), out.get("seasonal"), seq.get("at_look")):
        if isinstance(fit, dict):
            fit.setdefault("test", "wald")
            fit.setdefault("separation", None)
    return out


def _iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def morning(d: date, timezone: str, hour: int = 9) -> int:
    at = datetime.combine(d, datetime.min.time(), ZoneInfo(timezone)) + timedelta(hours=hour)
    return int(at.timestamp() * 1000)


def build(name: str, folder: Path) -> Scenario:
    path = folder / f"{name}.db"
    if name == "vienna":
        timezone = "Europe/Vienna"
        with Store.open(path) as store:
            src = OWN_EXAMPLES / "vienna-winter"
            with open(src / "readings.csv", newline="") as f:
                csvio.import_readings(store, f, NODE)
            with open(src / "cramps.csv", newline="") as f:
                csvio.import_cramps(store, f, NODE, now_ms=0)
            newest = store.newest_reading(NODE).ts_ms
            now = newest + 60_000
            store_analysis(store, NODE, timezone, now)
        return Scenario(name, timezone, now, path)
    timezone = BERLIN
    nights = plans(name)
    if name == "supports":
        # A flaky night half-way: 6 of its 12 hours with readings (below the 80 % rule), the
        # coldest minimum of all and a cramp, so it would show if it were counted.
        nights.insert(len(nights) // 2, NightPlan(14.0, 20.0, True, hours=6))
    # The clock stands at 07:00 in a night that has readings from its start: 11 of its 12
    # hours are covered (above the 80 % rule), but it has not ended, so it is not valid.
    now = morning(FIRST + timedelta(days=len(nights) + 1), timezone, hour=7)
    nights.append(NightPlan(16.0, 20.0, True, hours=11))
    with Store.open(path) as store:
        write_nights(store, NODE, timezone, FIRST, nights)
        store_analysis(store, NODE, timezone, now)
    return Scenario(name, timezone, now, path)


@pytest.fixture(scope="session")
def evidence_scenarios(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evidence")
    built: dict[str, Scenario] = {}

    def get(name: str) -> Scenario:
        if name not in built:
            built[name] = build(name, folder)
        return built[name]

    return get


@pytest.fixture
def evidence_db(evidence_scenarios, db_path):
    """evidence_db(name) -> Scenario, with its database copied to this test's db_path."""

    def use(name: str) -> Scenario:
        scenario = evidence_scenarios(name)
        shutil.copyfile(scenario.path, db_path)
        return scenario

    return use


def utc_ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


# -- version-3 report dicts, built by hand (the words' tests need no analysis run) -------------

LOOKS = [90, 180, 365, 730, 1095]
ALPHA = 0.0135
AS_OF = "2026-12-07T06:25:00.000Z"  # Mon 07 Dec 06:25 UTC: 07:25 in Berlin


def wald(odds: float, lo: float, hi: float, p: float = 0.01, **extra) -> dict:
    """A FIT of the contract with a finite odds ratio per °C colder and its 95% interval."""
    return {
        "or_per_degree_colder": odds,
        "ci_low": lo,
        "ci_high": hi,
        "p": p,
        "test": "wald",
        "separation": None,
        **extra,
    }


def separated(direction: str, p: float, **extra) -> dict:
    """A separated FIT: cramps on the coldest ("colder") or warmest ("warmer") values."""
    return {
        "or_per_degree_colder": None,
        "ci_low": None,
        "ci_high": None,
        "p": p,
        "test": "score",
        "separation": direction,
        **extra,
    }


def power_extra(valid: int, nights_for_1_5: int = 226, nights_for_1_3: int = 538) -> dict:
    def look_for(need: int) -> int | None:
        return next((n for n in LOOKS if n >= need), None)

    nxt = next((n for n in LOOKS if n > valid), None)
    return {
        "model": "seasonal",
        "power": 0.8,
        "alpha_per_look": ALPHA,
        "nights": valid,
        "se_log_or": 0.21,
        "smallest_detectable_or_per_degree": 2.1,
        "nights_for_or_1_5": nights_for_1_5,
        "look_for_or_1_5": look_for(nights_for_1_5),
        "nights_for_or_1_3": nights_for_1_3,
        "look_for_or_1_3": look_for(nights_for_1_3),
        "nights_to_next_look": None if nxt is None else nxt - valid,
    }


def v3_report(
    verdict: str,
    look: int | None = None,
    at: dict | None = None,
    *,
    valid: int | None = None,
    cc: dict | None = None,
    detail: dict | None = None,
    as_of: str | None = AS_OF,
    recorded: int | None = None,
    timezone: str = BERLIN,
    power: dict | None = None,
    contract: int | None = 3,
) -> dict:
    """A report of analysis-spec v3's shape (plus the extras the page reads).

    `recorded`: nights with any reading (valid nights come at valid / recorded a night);
    `contract=None` drops "contract" and "as_of" (a report stored under version 2)."""
    look_nights = LOOKS[look - 1] if look else None
    valid = valid if valid is not None else (look_nights or 0)
    nxt = next((n for n in LOOKS if n > valid), None)
    if look is not None:
        nxt = LOOKS[look] if look < len(LOOKS) else None
    if at is not None:
        at.setdefault("nights", look_nights)
        at.setdefault("strata", 2 * (look_nights // 30 + 1))
    seasonal = at and {**at, "nights": valid, "strata": 2 * (valid // 30 + 1)}
    out = {
        "nights": {"valid": valid, "cramp": 20, "cold": 30},
        "cold_threshold_c": 18.0,
        "table": {"cold_cramp": 8, "cold_no_cramp": 22, "warm_cramp": 12, "warm_no_cramp": 58},
        "fisher_p": 0.4,
        "relative_risk": {"estimate": 1.3, "ci_low": 0.6, "ci_high": 2.8},
        "mann_whitney": {"u": 800.0, "p": 0.5},
        "logistic": wald(1.1, 0.8, 1.5, p=0.5),
        "case_crossover": cc,
        "seasonal": seasonal,
        "sequential": {
            "looks": LOOKS,
            "alpha_per_look": ALPHA if contract == 3 else 0.0158,
            "look": look,
            "look_nights": look_nights,
            "next_look_nights": nxt,
            "at_look": at,
        },
        "verdict": verdict,
        "look_detail": detail,
        "power": power if power is not None else power_extra(valid),
        "nights_total": recorded if recorded is not None else valid,
        "params": {"timezone": timezone, "night_start": "20:00", "night_end": "08:00"},
    }
    if contract is not None:
        out = {"contract": contract, "as_of": as_of, **out}
    if contract is None:
        for fit in (at, cc, seasonal, out["logistic"]):
            if fit:
                fit.pop("test", None)
                fit.pop("separation", None)
    return out


def store_report(db_path: Path, report: dict, created_ms: int, node: str = NODE) -> None:
    """Store a hand-made report as `bedside report` would (the plot points added on save)."""
    from monitor.analysis.reports import save_report

    with Store.open(db_path) as store:
        save_report(
            store, node, report, report.get("params") or {}, store.data_version(), created_ms
        )
