"""How many readings per second one `bedside recorder` stores from a local mosquitto.

Starts its own mosquitto on a free port, one in-process Recorder (the real class:
manual acks, batched commits into a real SQLite file with synchronous=FULL), and
several publisher processes, each simulating many sensors that publish readings
at QoS 1 as fast as the broker acknowledges them.

Two figures:
- live: publishers and recorder running together; rate = readings stored between
  the first and the last commit, divided by that time.
- backlog: the same number of readings published while the recorder is down (the
  broker keeps them in its persistent session), then the recorder started; the
  catch-up rate after an outage.

    python bench/bench_recorder.py --quick     # ~10k readings, well under a minute
    python bench/bench_recorder.py             # 100k readings per phase
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402

from monitor.clock import SystemClock  # noqa: E402
from monitor.config import load  # noqa: E402
from monitor.mqtt.payloads import Topics, reading_payload  # noqa: E402
from monitor.mqtt.recorder import Recorder  # noqa: E402
from monitor.store import Reading  # noqa: E402
from tests.support import Broker, write_config  # noqa: E402

PREFIX = "bedside/bench"


def publish(port: int, worker: int, sensors: int, per_sensor: int, start_ms: int, phase: str):
    """One publisher process: `sensors` nodes, `per_sensor` readings each, QoS 1."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"bench-{phase}-{worker}",
        protocol=mqtt.MQTTv5,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    topics = [Topics(PREFIX, f"w{worker}-s{s}").reading for s in range(sensors)]
    last = None
    for i in range(per_sensor):
        for s, topic in enumerate(topics):
            ts = start_ms + i * 2000 + s % 2000
            payload = reading_payload(Reading(ts, 18.0 + (s % 50) / 10, 45.0))
            last = client.publish(topic, payload, qos=1)
    if last is not None:
        last.wait_for_publish(120)
    while client._out_messages:  # every PUBACK in
        time.sleep(0.01)
    client.loop_stop()
    client.disconnect()


def run_publishers(port, workers, sensors, per_sensor, start_ms, phase) -> float:
    started = time.monotonic()
    procs = [
        mp.Process(target=publish, args=(port, w, sensors, per_sensor, start_ms, phase))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"publisher failed with exit code {p.exitcode}")
    return time.monotonic() - started


def stored(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    finally:
        conn.close()


def wait_stored(db: Path, target: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while stored(db) < target:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {stored(db)} of {target} readings stored after {timeout}s")
        time.sleep(0.1)


def rate(recorder: Recorder, readings: int) -> tuple[float, float]:
    s = recorder.stats
    span = (s.last_commit or 0) - (s.first_commit or 0)
    # the first commit's readings were received before the clock started
    counted = readings - s.first_commit_readings
    return counted / span if span > 0 else float("inf"), span


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run (~10k readings)")
    ap.add_argument("--workers", type=int, default=4, help="publisher processes")
    ap.add_argument("--sensors", type=int, help="simulated sensors per publisher")
    ap.add_argument("--per-sensor", type=int, default=50, help="readings per sensor")
    ap.add_argument("--batch-max", type=int, default=500, help="[recorder] batch_max")
    ap.add_argument("--json-out", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args()
    sensors = args.sensors or (50 if args.quick else 500)
    total = args.workers * sensors * args.per_sensor

    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        tmp = Path(tmp)
        broker = Broker(tmp, extra_conf="max_queued_messages 0\n")
        broker.start()
        db = tmp / "recorder.db"
        config = load(
            write_config(
                tmp / "config.toml",
                {
                    "node": {"id": "bench-recorder", "timezone": "UTC"},
                    "storage": {"database": str(db)},
                    "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": PREFIX},
                    "recorder": {
                        "client_id": "bench-recorder",
                        "batch_max": args.batch_max,
                        # every simulated sensor is a room of its own
                        "max_nodes": min(10_000, args.workers * sensors + 1),
                    },
                },
            )
        )
        now = SystemClock().now_ms()
        print(
            f"{args.workers} publishers x {sensors} sensors x {args.per_sensor} readings"
            f" = {total} readings per phase, batch_max {args.batch_max}"
        )
        try:
            # live
            rec = Recorder(config).start()
            rec.ready.wait(30)
            pub_s = run_publishers(
                broker.port, args.workers, sensors, args.per_sensor, now - 86_000_000, "live"
            )
            wait_stored(db, total)
            live, span = rate(rec, total)
            print(
                f"live:    {live:8.0f} readings/s stored ({total} readings, {span:.2f}s first->last"
                f" commit; publishers took {pub_s:.2f}s; {rec.stats.batches} batches)"
            )
            rec.stop()
            # backlog: published while the recorder is down, then drained
            run_publishers(
                broker.port, args.workers, sensors, args.per_sensor, now - 43_000_000, "backlog"
            )
            rec = Recorder(config).start()
            wait_stored(db, 2 * total)
            backlog, span = rate(rec, total)
            print(
                f"backlog: {backlog:8.0f} readings/s stored ({total} readings,"
                f" {span:.2f}s first->last commit; {rec.stats.batches} batches)"
            )
            rec.stop()
        finally:
            broker.kill()
    loadavg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(machine: {os.cpu_count()} CPUs, load average {loadavg})")
    verdict = "meets" if min(live, backlog) >= 5000 else "MISSES"
    print(f"{verdict} the 5,000 readings/s target (slower phase: {min(live, backlog):.0f}/s)")
    if args.json_out:
        figures = {"readings_per_phase": total, "live_per_s": live, "backlog_per_s": backlog}
        Path(args.json_out).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
