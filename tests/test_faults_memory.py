"""Fault: time itself — a compressed month.  Resident memory must stay flat.

The daemon runs a month of 30-s cycles (86,400 readings; FakeClock, simulated sensor at
full speed, publishing to a real mosquitto) in its own process, reporting its RSS and
gc-tracked object count at eight points.  The web process serves the same pages again
and again while its database grows by a month.  Growth after warm-up is compared with
a bound a real leak would exceed: for the daemon, one leaked 100-byte object per reading
is 4 MB over half a month (the first half warms up: SQLite's page cache fills to its
2 MB limit); for the web, see WEB_BOUND_KB.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.clock import iso_utc
from monitor.store import Reading, Store
from tests.fault_support import NODE, integrity, rss_kb
from tests.support import ROOT, bedside_env, free_port, start_bedside, stop_process, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MONTH_CYCLES = 30 * 2880  # 30 days of 30-s cycles
CHECKPOINTS = 8
LEAK_BOUND_KB = 2048  # growth allowed over the second half, after warm-up
OBJECT_BOUND = 2000  # gc-tracked objects allowed to appear over the second half
# The web: 16 rounds of (the database grows by ~2 days, 5 x every page).  Between the two
# medians lie ~270 requests: 10 MB is 37 kB a request; a leaked response (a week of
# readings is ~1.5 MB of JSON) or a leaked SQLite connection with its cache exceeds it.
WEB_ROUNDS = 16
WEB_BOUND_KB = 10 * 1024


@pytest.fixture
def fast_dir(tmp_path):
    """A directory in RAM when there is one: a month of fsync'd commits on a disk is slow,
    and disk speed is not what this test measures."""
    if Path("/dev/shm").is_dir():
        d = Path(tempfile.mkdtemp(prefix="bedside-month-", dir="/dev/shm"))
        yield d
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


def test_a_compressed_month_keeps_the_daemon_flat(make_config, broker, fast_dir):
    db = fast_dir / "bedside.db"
    path, _ = make_config(
        {
            "storage": {"database": str(db)},
            "sensor": {"kind": "simulated", "interval_s": 30},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
        }
    )
    out = fast_dir / "memory.jsonl"
    code = (
        "from tests.fault_support import month_run;"
        f"month_run({str(path)!r}, {MONTH_CYCLES}, {CHECKPOINTS}, {str(out)!r})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=bedside_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    points = [json.loads(line) for line in out.read_text().splitlines()]
    assert [p["cycle"] for p in points] == [
        MONTH_CYCLES // CHECKPOINTS * i for i in range(1, CHECKPOINTS + 1)
    ]
    half, end = points[CHECKPOINTS // 2 - 1], points[-1]
    report = " ".join(f"{p['cycle']}:{p['rss_kb']}kB/{p['objects']}obj" for p in points)
    assert end["rss_kb"] - half["rss_kb"] < LEAK_BOUND_KB, report
    assert end["objects"] - half["objects"] < OBJECT_BOUND, report
    with Store.open_readonly(db) as s:
        assert s.count_readings(NODE) >= MONTH_CYCLES * 0.99  # the month really ran
    assert integrity(db) == "ok"


PAGES = ["/", "/nights", "/cramps", "/api/current", "/api/nights", "/api/readings?from={}&to={}"]


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        return response.status


def test_the_web_process_stays_flat_over_a_growing_database(make_config, db_path, fast_dir):
    db = fast_dir / "web.db"
    port = free_port()
    path, _ = make_config({"storage": {"database": str(db)}, "web": {"port": port}})
    rng = random.Random(7)
    step = 30_000
    now = int(time.time() * 1000) // step * step
    rounds = WEB_ROUNDS
    per_round = MONTH_CYCLES // rounds

    def readings(first: int, n: int):
        return (Reading(first + i * step, round(rng.gauss(18.5, 1.5), 1), 50.0) for i in range(n))

    # The pages look at the last day or week: that window is full from the start, so every
    # round asks the same questions of a database that grows by older history.
    recent = now - 8 * 86_400_000
    with Store.open(db) as store:
        store.add_readings(NODE, readings(recent, (now - recent) // step))
    web = start_bedside("web", config=path, env=bedside_env(), log=fast_dir / "web.log")
    url = f"http://127.0.0.1:{port}"
    rss = []
    try:
        wait_until(lambda: _healthy(url), what="the dashboard answering")
        for r in range(rounds):
            with Store.open(db) as store:
                first = recent - (r + 1) * per_round * step
                store.add_readings(NODE, readings(first, per_round))
                store.add_cramp(NODE, first + 3_600_000, source="cli", now_ms=now)
            for _ in range(5):
                for page in PAGES:
                    page = page.format(iso_utc(now - 7 * 86_400_000), iso_utc(now))
                    assert get(url + page) == 200, page
            rss.append(rss_kb(web.pid))
    finally:
        assert stop_process(web, signal.SIGTERM) == 0
        with contextlib.suppress(Exception):
            (fast_dir / "web.log").unlink()
    # RSS of a threaded waitress wobbles by several MB from load to load (malloc arenas
    # per thread), so compare medians of four rounds after warm-up and at the end.
    early, late = statistics.median(rss[4:8]), statistics.median(rss[-4:])
    assert late - early < WEB_BOUND_KB, f"web RSS kB per round: {rss}"


def _healthy(url: str) -> bool:
    try:
        return get(url + "/healthz") == 200
    except OSError:
        return False
