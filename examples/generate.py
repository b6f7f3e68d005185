"""Make the repository's own example data (deterministic; run from the repo root).

    PYTHONPATH=. python examples/generate.py             # the data and expected.json
    PYTHONPATH=. python examples/generate.py --expected  # only expected.json again

vienna-winter: 120 nights of a simulated Vienna bedroom (monitor.sensing.simroom)
through a winter clock change, readings every 5 minutes with gaps (a few nights
fall below the coverage rule), timestamps in a mix of `Z` and local offsets as
the import format allows, and cramps drawn more often on colder nights.  108
nights are valid, so the analysis reaches its first planned look (90 nights).
The expected analysis (`expected.json`) is written by the independent oracle
(tests/oracle/spec_oracle.py, written from the spec text), not by the code under
test.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.sensing.simroom import room

HERE = Path(__file__).resolve().parent
TZ = ZoneInfo("Europe/Vienna")
START = datetime(2025, 9, 20, 12, 0, tzinfo=TZ)
DAYS = 120
SEED = 11


def unit(key: str) -> float:
    digest = hashlib.blake2b(f"{SEED}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def stamp(ts_ms: int, i: int) -> str:
    """Alternate between UTC `Z` and the local offset, as a real export might."""
    t = datetime.fromtimestamp(ts_ms / 1000, UTC)
    if i % 3 == 0:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.astimezone(TZ).isoformat(timespec="seconds")


def main() -> None:
    out = HERE / "vienna-winter"
    out.mkdir(exist_ok=True)
    start_ms = int(START.timestamp() * 1000)
    step = 300_000
    rows, minimum = [], {}
    for i in range(DAYS * 288):
        ts = start_ms + i * step + int(unit(f"jitter{i}") * 120_000)
        day = (datetime.fromtimestamp(ts / 1000, TZ) - timedelta(hours=12)).date()
        if unit(f"gapnight{day}") < 0.08 and unit(f"gap{i}") < 0.5:
            continue  # a flaky night: half its readings lost
        temp, rh = room(ts, TZ, SEED)
        temp = round(temp + 0.1 * (unit(f"noise{i}") - 0.5), 2)
        rows.append((stamp(ts, i), temp, round(rh, 1)))
        minimum[day] = min(minimum.get(day, 99.0), temp)
    with open(out / "readings.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "temperature_c", "humidity_pct"])
        w.writerows(rows)
    cramps = []
    for day, low in sorted(minimum.items()):
        p = 1 / (1 + math.exp(-(-1.2 + 0.45 * (17.5 - low))))
        if unit(f"cramp{day}") < p:
            local = datetime.combine(day, datetime.min.time(), TZ) + timedelta(
                hours=21 + 10 * unit(f"at{day}")
            )
            leg = ("left", "right", "both", "")[int(unit(f"leg{day}") * 4)]
            sev = str(1 + int(unit(f"sev{day}") * 5)) if unit(f"hassev{day}") < 0.8 else ""
            cramps.append((local.isoformat(timespec="seconds"), leg, sev, ""))
    with open(out / "cramps.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "leg", "severity", "note"])
        w.writerows(cramps)
    print(f"{len(rows)} readings, {len(cramps)} cramps in {out}")


# The time of the analysis (contract v3's as_of), recorded in expected.json: a day after
# the last reading, so the analysis is the same whenever it is run.
AS_OF = "2026-01-19T12:00:00.000Z"


def expected() -> None:
    """expected.json from the independent oracle, for contract version 3 at AS_OF."""
    from tests.oracle.spec_oracle import Params, analyze_files

    out = HERE / "vienna-winter"
    report = analyze_files(
        out / "readings.csv",
        out / "cramps.csv",
        Params("Europe/Vienna"),
        AS_OF,
    )
    (out / "expected.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"expected.json: verdict {report['verdict']}, {report['nights']['valid']} valid nights")


if __name__ == "__main__":
    if "--expected" not in sys.argv[1:]:
        main()
    expected()
