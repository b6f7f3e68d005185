"""MQTT end-to-end latency: from a reading's store commit to a subscriber receiving it.

Runs the real Daemon in this process (simulated sensor, the real store on disk, the
real relay) against a mosquitto started here, with a fake clock that advances one
30-s interval per cycle and pauses a few real milliseconds between cycles, so the
readings flow at a steady pace.  A QoS 1 subscriber in the same process stamps every
reading it receives; the daemon's store step is wrapped to stamp the moment its
commit returned.  Latency = received - committed, on the same monotonic clock: the
relay's wake-up, paho, the broker and the subscriber's network thread.

    python bench/bench_latency.py            # 1,000 readings
    python bench/bench_latency.py --quick    # 150 readings, a few seconds
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="150 readings instead of 1,000")
    ap.add_argument("--readings", type=int, help="number of readings to measure")
    ap.add_argument("--pause-ms", type=float, default=20.0, help="real pause per interval")
    ap.add_argument("--json-out", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args()
    n = args.readings or (150 if args.quick else 1000)

    import paho.mqtt.client as mqtt

    from monitor.clock import FakeClock, parse_instant
    from monitor.config import load
    from monitor.daemon.loop import Daemon
    from tests.support import Broker, write_config

    pause_s = args.pause_ms / 1000
    committed: dict[int, float] = {}
    received: dict[int, float] = {}
    got_all = threading.Event()

    class PacedFakeClock(FakeClock):
        def sleep(self, seconds, until=None):
            if seconds >= 5 and pause_s:  # the interval sleep, not the retry gaps
                time.sleep(pause_s)
            return super().sleep(seconds, until)

    class TimedDaemon(Daemon):
        def _store_readings(self, store, relay, readings):
            super()._store_readings(store, relay, readings)  # returns once committed
            now = time.perf_counter()
            for reading in readings:
                committed.setdefault(reading.ts_ms, now)

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        tmp = Path(tmp)
        broker = Broker(tmp, persistence=False).start()
        sub = None
        daemon = None
        try:
            config = load(
                write_config(
                    tmp / "config.toml",
                    {
                        "node": {"id": "bench", "timezone": "UTC"},
                        "sensor": {"kind": "simulated", "interval_s": 30, "failure_rate": 0.0},
                        "storage": {"database": str(tmp / "bedside.db")},
                        "mqtt": {"host": broker.host, "port": broker.port, "discovery": False},
                        "button": {"enabled": False},
                    },
                )
            )
            subscribed = threading.Event()
            sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

            def on_connect(client, userdata, flags, reason_code, properties):
                client.subscribe("bedside/bench/reading", qos=1)

            def on_message(client, userdata, msg):
                t = time.perf_counter()
                ts = parse_instant(json.loads(msg.payload)["ts"])
                received.setdefault(ts, t)
                if len(received) >= n:
                    got_all.set()

            sub.on_connect = on_connect
            sub.on_subscribe = lambda *a: subscribed.set()
            sub.on_message = on_message
            sub.connect(broker.host, broker.port)
            sub.loop_start()
            if not subscribed.wait(30):
                sys.exit("the subscriber got no SUBACK")
            daemon = TimedDaemon(config, clock=PacedFakeClock())
            t0 = time.perf_counter()
            daemon.start()
            if not got_all.wait(60 + n * (pause_s + 0.2)):
                sys.exit(f"only {len(received)} of {n} readings reached the subscriber")
            wall = time.perf_counter() - t0
        finally:
            if daemon is not None:
                daemon.stop()
            if sub is not None:
                sub.loop_stop()
                sub.disconnect()
            broker.kill()
    lat = [(received[ts] - committed[ts]) * 1000 for ts in received if ts in committed]
    if not lat:
        sys.exit("no reading was both timed at its commit and received: the bench is out of date")
    figures = {
        "readings": len(lat),
        "p50_ms": statistics.median(lat),
        "p95_ms": pct(lat, 0.95),
        "max_ms": max(lat),
        "wall_s": wall,
    }
    print(
        f"{len(lat)} readings, store commit -> subscriber: p50 {figures['p50_ms']:.1f} ms,"
        f" p95 {figures['p95_ms']:.1f} ms, max {figures['max_ms']:.1f} ms"
        f" ({wall:.1f} s wall, {args.pause_ms:g} ms between readings)"
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
