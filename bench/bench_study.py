"""Benchmark: the pooled study on a recorder holding many people's rooms.

Fills (once, cached under bench/out/) a recorder database with simulated people, each a
year of 5-minute readings in their own time zone and cramp nights from a true x1.5 per
°C colder effect (our own generator below; no shared data), through the store's real
insert path and with each node's time zone stored as its retained info message would.
Then times, as a user would run them:
- `bedside analyze --pooled --json` in a child process: the first run (no night
  summaries stored yet, on a fresh copy) and the warm run; wall time and peak RSS;
- `bedside report --pooled` (stores the report) and the Study page (`/study`) served by
  the real app over HTTP (waitress on a free port): p50/p95 of 200 requests.

    python bench/bench_study.py                 # 1,000 people x 1 year (first fill: minutes)
    python bench/bench_study.py --quick         # 50 people x 120 days, well under a minute
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.store import Store  # noqa: E402

OUT = ROOT / "bench" / "out"
STEP_MS = 300_000
END = datetime(2026, 11, 1, 12, tzinfo=UTC)  # in the past: every night has ended
ZONES = (
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Europe/Lisbon",
    "America/Sao_Paulo",
)
ROOM_OR = 1.5  # the true odds ratio per °C colder


def person(index: int, days: int) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """One simulated person: zone, reading instants, temperatures, humidities, cramps.

    Each night (noon to noon, local) gets its own depth; a night's cramp follows its own
    minimum between 20:00 and 08:00 with a true odds ratio of ROOM_OR per °C colder."""
    rng = np.random.default_rng(index)
    zone = ZONES[index % len(ZONES)]
    end = int(END.timestamp() * 1000)
    ts = np.arange(end - days * 86_400_000, end, STEP_MS, dtype=np.int64)
    offset = int(ZoneInfo(zone).utcoffset(END.replace(tzinfo=None)).total_seconds() * 1000)
    local = ts + offset  # a fixed offset is enough for a benchmark's weather
    local_h = (local % 86_400_000) / 3_600_000
    by_noon = (local - 12 * 3_600_000) // 86_400_000  # the night a reading belongs to
    by_noon -= by_noon[0]
    season = rng.uniform(1, 3) * np.cos(2 * np.pi * (by_noon - rng.integers(365)) / 365.25)
    depth = 2.0 + rng.normal(0, 0.8, int(by_noon[-1]) + 1)  # unrelated to the date
    dip = np.clip(np.cos(2 * np.pi * (local_h - 4) / 24), 0, None) * depth[by_noon]
    temp = np.round(20.5 - season - dip + rng.normal(0, 0.1, ts.size), 1)
    hum = np.round(50 + 5 * np.sin(2 * np.pi * local_h / 24) + rng.normal(0, 1, ts.size), 1)
    in_night = (local_h >= 20) | (local_h < 8)
    lowest = np.full(depth.size, np.inf)
    np.minimum.at(lowest, by_noon[in_night], temp[in_night])
    base = rng.uniform(-2.3, -1.3)
    cramps = []
    for night in range(1, depth.size - 1):  # whole nights only
        z = base + math.log(ROOM_OR) * (18.2 - lowest[night])
        if rng.random() < 1 / (1 + math.exp(-z)):
            first = np.searchsorted(by_noon, night)  # noon before the night, local
            cramps.append(int(ts[first] + 14.5 * 3_600_000))  # about 02:30 local
    return zone, ts, temp, hum, cramps


def generate(path: Path, people: int, days: int) -> None:
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    with Store.open(tmp) as store:
        for i in range(people):
            node = f"p{i:04d}"
            zone, ts, temp, hum, cramps = person(i, days)
            rows = list(
                zip([node] * ts.size, ts.tolist(), temp.tolist(), hum.tolist(), strict=True)
            )
            with store.transaction():  # one commit per person (re-entrant transactions)
                store.add_reading_rows(node, rows)
                for at in cramps:
                    store.add_cramp(node, at, source="import", now_ms=at)
                store.set_node_timezone(node, zone)
            if i % 100 == 99:
                print(f"  filled {i + 1} of {people} people", file=sys.stderr, flush=True)
    tmp.rename(path)


def run_child(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: run the biggest first.
    return wall, max(peak, before) / 1024, done.stdout


def page_times(db: Path, n: int = 200) -> tuple[float, float]:
    """p50 and p95 (ms) of GET /study from the real app under waitress."""
    from tests.support import free_port

    port = free_port()
    config = OUT / "study-bench.toml"
    config.write_text(
        f'[storage]\ndatabase = "{db}"\n[web]\nport = {port}\nallow_anonymous_writes = false\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "web"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/study"
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=30).read()
                break
            except OSError:
                time.sleep(0.1)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            urllib.request.urlopen(url, timeout=30).read()
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        server.terminate()
        server.wait(10)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50 people x 120 days")
    ap.add_argument("--people", type=int)
    ap.add_argument("--days", type=int)
    ap.add_argument("--json-out", help="write the figures here as JSON")
    ap.add_argument("--no-page", action="store_true", help="skip the Study page timing")
    args = ap.parse_args()
    people = args.people or (50 if args.quick else 1000)
    days = args.days or (120 if args.quick else 365)
    OUT.mkdir(parents=True, exist_ok=True)
    cached = OUT / f"study-{people}x{days}.db"
    if not cached.exists():
        t0 = time.perf_counter()
        print(f"filling {cached} ({people} people x {days} days) ...", file=sys.stderr)
        generate(cached, people, days)
        print(f"  filled in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    db = OUT / f"study-{people}x{days}-run.db"
    shutil.copyfile(cached, db)
    base = [sys.executable, "-m", "monitor", "--database", str(db)]
    first, rss, out = run_child([*base, "analyze", "--pooled", "--json"])
    report = json.loads(out)
    warm, _, _ = run_child([*base, "analyze", "--pooled", "--json"])
    figures = {
        "people": people,
        "days": days,
        "readings": people * days * 288,
        "db_mb": round(db.stat().st_size / 2**20),
        "analyze_first_s": round(first, 2),
        "analyze_warm_s": round(warm, 2),
        "analyze_peak_rss_mb": round(rss),
        "verdict": report["verdict"],
        "valid_nights": report["nights"]["valid"],
    }
    if not args.no_page:
        run_child([*base, "report", "--pooled"])
        p50, p95 = page_times(db)
        figures.update(study_page_p50_ms=round(p50, 1), study_page_p95_ms=round(p95, 1))
    for key, value in figures.items():
        print(f"{key:22} {value}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=1))
    db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
