"""The daemon's footprint: memory, CPU per reading, bytes written to disk per day.

Runs the real Daemon (simulated sensor, the real store on disk, and by default
the real relay publishing to a mosquitto started here) under a fake clock that
advances 30 s per interval, so 1,000 readings take seconds instead of 8 hours.
The fake clock also sleeps a few real milliseconds per interval so the relay
publishes and collects PUBACKs reading by reading, as it would live.

Prints:
  RSS after N readings (aim <= 30 MB) and the high-water mark;
  CPU time per reading (user + system, all threads of the process);
  bytes written per simulated day at a 30-s interval (aim <= 5 MB/day):
    - SQLite's writes (wchar: bytes the process handed to write(), i.e. WAL
      frames, checkpoints and the database file), and
    - write_bytes from /proc/self/io: what the page cache sent towards the
      disk, counted in whole 4 KiB OS pages (each fsync'd commit dirties at
      least one), so it is the pessimistic figure.

    python bench/bench_daemon.py            # 1,000 readings, MQTT on
    python bench/bench_daemon.py --quick    # 300 readings
    python bench/bench_daemon.py --no-mqtt
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.clock import FakeClock  # noqa: E402
from monitor.config import load  # noqa: E402
from monitor.daemon import Daemon  # noqa: E402
from tests.support import Broker, write_config  # noqa: E402

INTERVAL_S = 30
DAY_S = 86_400


class PacedFakeClock(FakeClock):
    """Fake time for the read loop, plus a short real pause so other threads keep up."""

    def __init__(self, pause_s: float):
        super().__init__()
        self.pause_s = pause_s

    def sleep(self, seconds, until=None):
        if seconds >= 5 and self.pause_s:  # the interval sleep, not the retry gaps
            time.sleep(self.pause_s)
        return super().sleep(seconds, until)


def proc_io() -> dict[str, int]:
    out = {}
    with open("/proc/self/io") as f:
        for line in f:
            key, value = line.split(":")
            out[key] = int(value)
    return out


def proc_status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 readings instead of 1,000")
    ap.add_argument("--readings", type=int, help="number of readings to measure")
    ap.add_argument("--no-mqtt", action="store_true", help="no broker, no relay")
    ap.add_argument("--pause-ms", type=float, default=4.0, help="real pause per interval")
    args = ap.parse_args()
    n = args.readings or (300 if args.quick else 1000)
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench-daemon-", dir=ROOT / "bench") as tmp:
        tmp = Path(tmp)
        broker = None
        mqtt = {"enabled": False}
        if not args.no_mqtt:
            (tmp / "broker").mkdir()
            broker = Broker(tmp / "broker", persistence=False).start()
            mqtt = {"enabled": True, "host": broker.host, "port": broker.port}
        config = load(
            write_config(
                tmp / "config.toml",
                {
                    "node": {"id": "bench", "timezone": "Europe/Berlin"},
                    "sensor": {"kind": "simulated", "interval_s": INTERVAL_S},
                    "storage": {"database": str(tmp / "bedside.db")},
                    "mqtt": mqtt,
                    "button": {"enabled": False},
                    "logging": {"level": "WARNING"},
                },
            )
        )
        clock = PacedFakeClock(args.pause_ms / 1000)
        daemon = Daemon(config, clock=clock)
        try:
            daemon.start()
            daemon.ready.wait(30)
            while daemon.stored < 10 and daemon.error is None:  # past start-up and migrations
                time.sleep(0.01)
            io0, cpu0, fake0, n0 = proc_io(), os.times(), clock.now_ms(), daemon.stored
            wall0 = time.perf_counter()
            while daemon.stored < n0 + n and daemon.error is None:
                time.sleep(0.01)
            io1, cpu1, fake1, n1 = proc_io(), os.times(), clock.now_ms(), daemon.stored
            wall = time.perf_counter() - wall0
            rss, hwm = proc_status("VmRSS"), proc_status("VmHWM")
        finally:
            daemon.stop()
            if broker is not None:
                broker.kill()
        if daemon.error is not None:
            sys.exit(f"the daemon failed: {daemon.error!r}")
        readings = n1 - n0
        days = (fake1 - fake0) / 1000 / DAY_S
        cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        db = daemon.store
        print(
            f"readings measured      : {readings} ({days * 24:.1f} simulated hours,"
            f" {wall:.1f} s real; MQTT {'off' if args.no_mqtt else 'on, real mosquitto'})"
        )
        print(
            f"RSS after the readings : {rss / 2**20:.1f} MiB (high-water {hwm / 2**20:.1f} MiB;"
            " aim <= 30 MB)"
        )
        print(
            f"CPU per reading        : {cpu / readings * 1000:.2f} ms (user+system, all threads;"
            " includes the real pauses' wake-ups)"
        )
        wchar = (io1["wchar"] - io0["wchar"]) / days
        wbytes = (io1["write_bytes"] - io0["write_bytes"]) / days
        print(f"SQLite bytes written   : {wchar / 1e6:.2f} MB per day (wchar; aim <= 5 MB/day)")
        print(f"page-cache write_bytes : {wbytes / 1e6:.2f} MB per day (4 KiB pages per fsync)")
        print(
            f"per reading            : {wchar / (readings / days) / 1024:.2f} KiB written,"
            f" {wbytes / (readings / days) / 1024:.2f} KiB of OS pages"
        )
        del db


if __name__ == "__main__":
    main()
