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
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INTERVAL_S = 30
DAY_S = 86_400


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


def child(config_path: str, n: int, pause_s: float) -> None:
    """The measured process: imports only what `bedside monitor` imports, runs the daemon."""
    import monitor.cli.main  # noqa: F401  (the real entry point's imports)
    from monitor.daemon import lean

    lean.defer()  # as `bedside monitor` does (monitor/cli/services.py)
    from monitor.clock import FakeClock
    from monitor.config import load
    from monitor.daemon.loop import Daemon

    class PacedFakeClock(FakeClock):
        """Fake time for the read loop, plus a short real pause so other threads keep up."""

        def sleep(self, seconds, until=None):
            if seconds >= 5 and pause_s:  # the interval sleep, not the retry gaps
                time.sleep(pause_s)
            return super().sleep(seconds, until)

    logging.basicConfig(level=logging.WARNING)
    config = load(config_path)
    clock = PacedFakeClock()
    daemon = Daemon(config, clock=clock)
    daemon.start()
    daemon.ready.wait(30)
    while daemon.stored < 10 and daemon.error is None:  # past start-up and migrations
        time.sleep(0.01)
    io0, cpu0, fake0, n0 = proc_io(), os.times(), clock.now_ms(), daemon.stored
    sent0 = daemon.relay.bytes_published if daemon.relay else 0
    wall0 = time.perf_counter()
    while daemon.stored < n0 + n and daemon.error is None:
        time.sleep(0.01)
    io1, cpu1, fake1, n1 = proc_io(), os.times(), clock.now_ms(), daemon.stored
    sent1 = daemon.relay.bytes_published if daemon.relay else 0
    wall = time.perf_counter() - wall0
    rss, hwm = proc_status("VmRSS"), proc_status("VmHWM")
    daemon.stop()
    if daemon.error is not None:
        sys.exit(f"the daemon failed: {daemon.error!r}")
    print(
        json.dumps(
            {
                "readings": n1 - n0,
                "days": (fake1 - fake0) / 1000 / DAY_S,
                "wall": wall,
                "cpu": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
                "rss": rss,
                "hwm": hwm,
                "wchar": io1["wchar"] - io0["wchar"],
                "write_bytes": io1["write_bytes"] - io0["write_bytes"],
                "mqtt_bytes": sent1 - sent0,
                "gpio": "gpiozero" in sys.modules,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 readings instead of 1,000")
    ap.add_argument("--readings", type=int, help="number of readings to measure")
    ap.add_argument("--no-mqtt", action="store_true", help="no broker, no relay")
    ap.add_argument("--no-button", action="store_true", help="no GPIO devices (no gpiozero)")
    ap.add_argument("--pause-ms", type=float, default=4.0, help="real pause per interval")
    ap.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="environment for the daemon"
    )
    ap.add_argument("--json-out", metavar="PATH", help="also write the figures as JSON")
    ap.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n = args.readings or (300 if args.quick else 1000)
    if args.child:
        child(args.child, n, args.pause_ms / 1000)
        return

    from tests.support import Broker, bedside_env, write_config

    extra_env = dict(e.split("=", 1) for e in args.env)

    with tempfile.TemporaryDirectory(prefix="bench-daemon-", dir=ROOT / "bench") as tmp:
        tmp = Path(tmp)
        broker = None
        mqtt = {"enabled": False}
        if not args.no_mqtt:
            (tmp / "broker").mkdir()
            broker = Broker(tmp / "broker", persistence=False).start()
            mqtt = {"enabled": True, "host": broker.host, "port": broker.port}
        config = write_config(
            tmp / "config.toml",
            {
                "node": {"id": "bench", "timezone": "Europe/Berlin"},
                "sensor": {"kind": "simulated", "interval_s": INTERVAL_S},
                "storage": {"database": str(tmp / "bedside.db")},
                "mqtt": mqtt,
                "button": {"enabled": not args.no_button},
                "logging": {"level": "WARNING"},
            },
        )
        try:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(config),
                    "--readings",
                    str(n),
                    "--pause-ms",
                    str(args.pause_ms),
                ],
                capture_output=True,
                text=True,
                env=bedside_env(**extra_env),
                check=False,
            )
        finally:
            if broker is not None:
                broker.kill()
        if out.returncode != 0:
            sys.exit(f"bench child failed:\n{out.stdout}\n{out.stderr}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
    days, readings = r["days"], r["readings"]
    disk = r["wchar"] - r["mqtt_bytes"]
    print(
        f"readings measured      : {readings} ({days * 24:.1f} simulated hours, {r['wall']:.1f} s"
        f" real; MQTT {'off' if args.no_mqtt else 'on, real mosquitto'};"
        f" gpiozero {'loaded' if r['gpio'] else 'not loaded'})"
    )
    print(
        f"RSS after the readings : {r['rss'] / 2**20:.1f} MiB = {r['rss'] / 1e6:.1f} MB"
        f" (high-water {r['hwm'] / 2**20:.1f} MiB; aim <= 30 MB)"
    )
    print(
        f"CPU per reading        : {r['cpu'] / readings * 1000:.2f} ms (user+system, all"
        " threads: sampler, store commit, relay, paho)"
    )
    print(
        f"bytes written by SQLite: {disk / days / 1e6:.2f} MB per day at 30 s"
        f" ({disk / readings / 1024:.2f} KiB per reading; wchar minus"
        f" {r['mqtt_bytes'] / readings:.0f} B/reading of MQTT; aim <= 5 MB/day)"
    )
    print(
        f"page-cache write_bytes : {r['write_bytes'] / days / 1e6:.2f} MB per day"
        f" ({r['write_bytes'] / readings / 1024:.2f} KiB per reading: whole 4 KiB OS pages,"
        " at least one per fsync'd commit)"
    )
    if args.json_out:
        figures = {
            "readings": readings,
            "mqtt": not args.no_mqtt,
            "rss_mb": r["rss"] / 1e6,
            "hwm_mb": r["hwm"] / 1e6,
            "cpu_ms_per_reading": r["cpu"] / readings * 1000,
            "sqlite_mb_per_day": disk / days / 1e6,
            "page_cache_mb_per_day": r["write_bytes"] / days / 1e6,
        }
        Path(args.json_out).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
