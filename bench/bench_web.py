"""Dashboard latency and memory with one and five years of 30-second readings.

Builds (and caches under bench/out/) a database per history length, serves the
real app with waitress in a child process, requests /, /nights, /evidence and
/api/nights over HTTP, and prints p50/p95 per page plus the web process's
resident memory after each page.  The evidence report job is off so a
scipy child does not compete for the CPU; a version-3 report is stored as
`bedside report` stores it (its within-half-month plot points computed once, on
save), so /evidence draws from the report as it does on a Pi; the first /evidence
request (which fills the chart cache) is reported separately as "cold", and the
5-year / 1-year ratio of /evidence is printed on its own line (aim: at most 1.3x).

    python bench/bench_web.py            # 1 and 5 years, 40 requests per page
    python bench/bench_web.py --quick    # 0.1 and 0.5 years, 10 requests per page
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.sensing import simroom  # noqa: E402
from monitor.store import Reading, Store  # noqa: E402

OUT = ROOT / "bench" / "out"
NODE = "bench"
TZ = "Europe/Berlin"
STEP_MS = 30_000
PAGES = ["/", "/nights", "/evidence", "/api/nights"]


def build_db(years: float) -> Path:
    """A database with `years` of readings ending now (cached per length and day)."""
    OUT.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    path = OUT / f"web-{years:g}y-{now // 86_400_000}.db"
    if path.exists():
        return path
    for old in OUT.glob(f"web-{years:g}y-*.db*"):
        old.unlink()
    tmp = path.with_suffix(".tmp")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    store = Store.open(tmp)  # 200k readings per commit: few fsyncs, durable is fine
    start = now - int(years * 365.25 * 86_400_000)
    start -= start % STEP_MS
    batch = []
    t0 = time.monotonic()
    for ts in range(start, now, STEP_MS):
        # The simulated room, sampled cheaply: one model value per 10 minutes plus noise.
        if ts % 600_000 == 0 or not batch:
            temp, rh = simroom.room(ts, TZ, 1)
        batch.append(Reading(ts, temp, rh))
        if len(batch) == 200_000:
            store.add_readings(NODE, batch)
            batch = []
    store.add_readings(NODE, batch)
    rng = random.Random(1)
    cramps = [
        {"ts_ms": ts, "leg": rng.choice(["left", "right"])}
        for ts in range(start + 3 * 3_600_000, now, 86_400_000)
        if rng.random() < 0.2
    ]
    store.add_cramps(NODE, cramps, source="import", now_ms=now)
    t1 = time.monotonic()
    store_evidence_report(store, now)
    print(f"  stored an evidence report with its plot points in {time.monotonic() - t1:.1f} s")
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.rename(path)
    print(
        f"  built {path.name}: {store_count(path)} readings in {time.monotonic() - t0:.0f} s",
        flush=True,
    )
    return path


def store_evidence_report(store: Store, now_ms: int) -> None:
    """A report of analysis-spec v3's shape for the bench node, saved as `bedside report`
    saves it (save_report adds the plot points from the nights, once).  Its figures are
    placeholders: the page's cost does not depend on them, only on the nights."""
    from monitor.analysis.reports import save_report
    from monitor.nights import NightParams, night_summaries

    params = NightParams(TZ)
    nights = night_summaries(store, NODE, params, now_ms)
    valid = [n for n in nights if n.valid]
    fit = {"or_per_degree_colder": 1.1, "ci_low": 0.9, "ci_high": 1.35, "p": 0.3}
    fit |= {"test": "wald", "separation": None, "nights": len(valid), "strata": 24}
    looks = [90, 180, 365, 730, 1095]
    look = sum(1 for n in looks if n <= len(valid)) or None
    report = {
        "contract": 3,
        "as_of": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now_ms / 1000)),
        "nights": {"valid": len(valid), "cramp": sum(n.cramps > 0 for n in valid), "cold": 0},
        "cold_threshold_c": 18.0,
        "sequential": {
            "looks": looks,
            "alpha_per_look": 0.0135,
            "look": look,
            "look_nights": looks[look - 1] if look else None,
            "next_look_nights": next((n for n in looks if n > len(valid)), None),
            "at_look": fit if look else None,
        },
        "seasonal": fit,
        "case_crossover": None,
        "verdict": "inconclusive" if look else "insufficient-data",
        "nights_total": len(nights),
        "params": params.as_dict(),
    }
    save_report(store, NODE, report, params.as_dict(), store.data_version(), now_ms)


def store_count(path: Path) -> int:
    with Store.open_readonly(path) as s:
        return s.count_readings()


def serve(db: str, port: int) -> None:
    """Child process: the real app under waitress, report job off."""
    import logging

    from monitor.config import parse
    from web.app import create_app

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    from web.server import serve as waitress_serve

    config = parse(
        f'[node]\nid = "{NODE}"\ntimezone = "{TZ}"\n[storage]\ndatabase = "{db}"\n'
        "[mqtt]\nenabled = false\n"
    )
    app = create_app(config, test_config={"REPORT_JOB_ENABLED": False})
    waitress_serve(app, "127.0.0.1", port, 4, ready=lambda url: print(url, flush=True))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def measure(db: Path, requests: int) -> dict:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        proc.stdout.readline()  # the URL: listening
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        results = {}
        for page in PAGES:
            t0 = time.perf_counter()
            conn.request("GET", page)
            resp = conn.getresponse()
            resp.read()
            cold = (time.perf_counter() - t0) * 1000
            if resp.status != 200:
                raise SystemExit(f"{page}: HTTP {resp.status}")
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                conn.request("GET", page)
                r = conn.getresponse()
                r.read()
                times.append((time.perf_counter() - t0) * 1000)
            results[page] = {
                "cold": cold,
                "p50": statistics.median(times),
                "p95": pct(times, 0.95),
                "rss": rss_mb(proc.pid),
            }
        conn.close()
        return results
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="0.1 and 0.5 years, 10 requests")
    p.add_argument("--json-out", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    years, requests = ((0.1, 0.5), 10) if args.quick else ((1, 5), 40)
    table = {}
    for y in years:
        print(f"{y:g} year(s) of 30-s readings:", flush=True)
        table[y] = measure(build_db(y), requests)
        for page, r in table[y].items():
            print(
                f"  {page:<12} p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  "
                f"(first {r['cold']:7.1f} ms)  RSS {r['rss']:5.1f} MB",
                flush=True,
            )
    small, big = years
    print(f"growth {big:g}y / {small:g}y (p95):", flush=True)
    for page in PAGES:
        ratio = table[big][page]["p95"] / table[small][page]["p95"]
        print(f"  {page:<12} {ratio:4.2f}x", flush=True)
    ev = [table[y]["/evidence"] for y in years]
    print(
        f"/evidence {big:g}y / {small:g}y: p50 {ev[1]['p50'] / ev[0]['p50']:.2f}x,"
        f" p95 {ev[1]['p95'] / ev[0]['p95']:.2f}x, first request"
        f" {ev[1]['cold'] / ev[0]['cold']:.2f}x (aim: at most 1.3x)",
        flush=True,
    )
    worst = max(r["rss"] for t in table.values() for r in t.values())
    print(f"max RSS of the web process: {worst:.1f} MB", flush=True)
    if args.json_out:
        figures = {"years": list(years), "pages": {str(y): table[y] for y in years}}
        figures["max_rss_mb"] = worst
        Path(args.json_out).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    raise SystemExit(main())
