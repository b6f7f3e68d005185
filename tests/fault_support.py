"""Helpers for the fault suite: scripted sensors, a tiny filesystem, RSS, database checks."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from tests.support import Subscriber

NODE = "testroom"


class ScriptedSensor:
    """A sensor whose n-th read (1-based) returns ``script(n)``: a (temp, hum) tuple, or an
    exception instance that is raised (as the DHT driver raises RuntimeError).

    ``before_read(n)`` runs first, on the daemon's thread: the test injects its faults there
    (fill the disk, jump the clock, stop the daemon) at exactly known points of the loop.
    """

    def __init__(self, script: Callable[[int], object], before_read=None):
        self.script = script
        self.before_read = before_read
        self.reads = 0

    def read(self):
        self.reads += 1
        if self.before_read is not None:
            self.before_read(self.reads)
        step = self.script(self.reads)
        if isinstance(step, BaseException):
            raise step
        return step

    def close(self) -> None:
        pass


class LogCapture(logging.Handler):
    """Every record of the ``monitor`` loggers (the daemon logs there) while installed."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._lock2 = threading.Lock()

    def emit(self, record):
        with self._lock2:
            self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        with self._lock2:
            return [r.getMessage() for r in self.records if r.levelno >= level]

    def count(self, text: str, level: int = logging.DEBUG) -> int:
        return sum(text in m for m in self.messages(level))


@contextlib.contextmanager
def captured_logs():
    logger = logging.getLogger("monitor")
    handler = LogCapture()
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def integrity(db_path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def duplicates(db_path) -> dict[str, int]:
    """Rows sharing a (node, ts) in readings and cramps (the schema should make it 0)."""
    conn = sqlite3.connect(db_path)
    try:
        return {
            table: conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY node, ts_ms"
                " HAVING count(*) > 1)"
            ).fetchone()[0]
            for table in ("readings", "cramps")
        }
    finally:
        conn.close()


def rss_kb(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default), from /proc."""
    with open(f"/proc/{pid or os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class TinyFilesystem:
    """A size-limited tmpfs the test mounts (as root, or with passwordless sudo as CI
    runners have); ``fill()`` takes every free byte."""

    def __init__(self, size_kb: int):
        self.size_kb = size_kb
        self.path = Path(tempfile.mkdtemp(prefix="bedside-tinyfs-"))
        self.filler = self.path / "filler"
        self.mounted = False

    @staticmethod
    def _privileged() -> list[str] | None:
        """How to run mount: directly as root, through passwordless sudo (CI runners), or
        None when neither works."""
        import shutil

        if os.geteuid() == 0:
            return []
        if shutil.which("sudo"):
            ok = subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
            if ok:
                return ["sudo", "-n"]
        return None

    @classmethod
    def why_not(cls) -> str | None:
        """None when mounting is possible here, else the reason (for pytest.skip)."""
        if cls._privileged() is None:
            return "mounting a tiny tmpfs needs root or passwordless sudo, and neither is here"
        return None

    def __enter__(self) -> TinyFilesystem:
        prefix = self._privileged() or []
        options = f"size={self.size_kb}k,uid={os.getuid()},gid={os.getgid()},mode=700"
        result = subprocess.run(
            [*prefix, "mount", "-t", "tmpfs", "-o", options, "tmpfs", str(self.path)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            self.path.rmdir()
            raise OSError(f"cannot mount a tmpfs: {result.stderr.strip()}")
        self.mounted = True
        return self

    def fill(self) -> int:
        """Write zeros until ENOSPC; returns the bytes taken."""
        written = 0
        chunk = b"\0" * 4096
        with open(self.filler, "ab", buffering=0) as f:
            while True:
                try:
                    n = f.write(chunk)
                except OSError:
                    break
                if not n:
                    break
                written += n
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def remount(self, mode: str) -> None:
        """mode "ro": nothing on it can be written (root included); "rw" again."""
        prefix = self._privileged() or []
        subprocess.run([*prefix, "mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def __exit__(self, *exc) -> None:
        if self.mounted:
            prefix = self._privileged() or []
            subprocess.run([*prefix, "umount", "-l", str(self.path)], check=False)
            self.mounted = False
        with contextlib.suppress(OSError):
            self.path.rmdir()


# -- the real `bedside monitor` process and what reached the broker ----------------------


def stored_ts(db_path, node: str = NODE) -> list[int]:
    """Instants of the node's stored readings (empty before the daemon created the file)."""
    from monitor.store import Store

    if not Path(db_path).exists():
        return []
    try:
        with Store.open_readonly(db_path) as s:
            return [r.ts_ms for r in s.readings(node)]
    except Exception:  # not migrated yet
        return []


def stored_cramp_ids(db_path, node: str = NODE) -> set[int]:
    from monitor.store import Store

    with Store.open_readonly(db_path) as s:
        return {c.id for c in s.cramps(node)}


def received_reading_ts(sub, node: str = NODE) -> set[int]:
    from monitor.mqtt.payloads import parse_reading

    topic = f"bedside/{node}/reading"
    return {parse_reading(p).ts_ms for t, p, _ in list(sub.seen) if t == topic}


def received_cramp_ids(sub, node: str = NODE) -> set[int]:
    import json

    topic = f"bedside/{node}/cramp"
    return {json.loads(p)["id"] for t, p, _ in list(sub.seen) if t == topic}


def log_count(path, text: str) -> int:
    """Lines of a process log that mention ``text``."""
    if not Path(path).exists():
        return 0
    return sum(text in line for line in Path(path).read_text(errors="replace").splitlines())


class AuthSubscriber(Subscriber):
    """tests.support.Subscriber, logging in with a user name and password."""

    def __init__(self, broker, topics, username: str, password: str, client_id: str = ""):
        import paho.mqtt.client as mqtt

        real = mqtt.Client

        def client_with_credentials(*args, **kwargs):
            client = real(*args, **kwargs)
            client.username_pw_set(username, password)
            return client

        mqtt.Client = client_with_credentials  # only for the constructor below
        try:
            super().__init__(broker, topics, client_id=client_id)
        finally:
            mqtt.Client = real


# -- a compressed month of the daemon, in its own process ---------------------------------


def month_run(config_path: str, cycles: int, checkpoints: int, out_path: str) -> None:
    """Run the real daemon loop (FakeClock, simulated sensor at full speed) for ``cycles``
    read cycles; at ``checkpoints`` evenly spaced cycles append a JSON line with the RSS and
    the number of gc-tracked objects to ``out_path``.  Run via ``python -c`` (see the test)."""
    import gc
    import json

    import monitor.daemon.loop
    from monitor.clock import FakeClock
    from monitor.config import load
    from monitor.daemon.loop import Daemon

    config = load(Path(config_path))
    stop = threading.Event()
    every = cycles // checkpoints
    real_build = monitor.daemon.loop.build_components

    class Meter:
        def __init__(self):
            self.n = 0

        def start(self):
            pass

        def on_reading(self, reading, now_ms):
            self.n += 1
            if self.n % every == 0:
                gc.collect()
                with open(out_path, "a") as f:
                    line = {"cycle": self.n, "rss_kb": rss_kb(), "objects": len(gc.get_objects())}
                    f.write(json.dumps(line) + "\n")
            if self.n >= cycles:
                stop.set()

        def close(self):
            pass

    monitor.daemon.loop.build_components = lambda ctx: [*real_build(ctx), Meter()]
    Daemon(config, clock=FakeClock()).run(stop)
