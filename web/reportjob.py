"""Keeping scipy out of the web process: stale reports are recomputed by a child.

`python -m monitor report` runs in its own process (at most one at a time);
the page shows the old report, or "being computed", meanwhile.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from monitor.clock import SystemClock, iso_ms
from monitor.config import Config
from monitor.nights import default_as_of
from monitor.store import Store, StoreError
from monitor.store.reports import STUDY_KEY

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_S = 600.0
# A report that ran but left the data "stale" (e.g. too few nights to store one) is not
# re-run on every page view.
RERUN_AFTER_S = 120.0


class ReportJob:
    def __init__(
        self,
        config: Config,
        *,
        enabled: bool = True,
        clock: SystemClock | None = None,  # or a FakeClock: anything with now_ms()
    ):
        self.config = config
        self.enabled = enabled
        self.clock = clock
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._node: str | None = None
        self._errfile = None
        self._failed_at: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        self.last_error: str | None = None

    def running(self) -> bool:
        with self._lock:
            return self._poll()

    def _poll(self) -> bool:
        if self._proc is None:
            return False
        code = self._proc.poll()
        if code is None:
            return True
        if code != 0 and self._node is not None:
            self._failed_at[self._node] = time.monotonic()
            self._errfile.seek(0)
            err = self._errfile.read() or b""
            lines = err.decode(errors="replace").strip().splitlines()
            self.last_error = lines[-1][-300:] if lines else f"exit {code}"
            log.warning("report for %s failed: %s", self._node, self.last_error)
        self._errfile.close()
        self._proc = None
        self._node = None
        return False

    def command(self, node: str) -> list[str]:
        """The child's command line.  It runs from this package's directory, so every
        path is made absolute here, and the database is the dashboard's own (which
        ``--database`` may have set apart from the config file's)."""
        cmd = [sys.executable, "-m", "monitor"]
        source = self.config.source
        if source and source != "defaults" and Path(source).exists():
            cmd += ["--config", str(Path(source).resolve())]
        cmd += ["--database", str(Path(self.config.storage.database).resolve())]
        if node == STUDY_KEY:  # the pooled study: its own default as_of (all its people's)
            return [*cmd, "report", "--pooled"]
        cmd += ["report", "--node", node]
        as_of = self.as_of(node)
        return cmd if as_of is None else [*cmd, "--as-of", iso_ms(as_of)]

    def as_of(self, node: str) -> int | None:
        """The time of the analysis by this web's own clock (analysis-spec.md v3's default:
        the earlier of the clock and the node's newest reading), so the child, with a clock
        of its own, computes the report the page is about; None without a clock."""
        if self.clock is None:
            return None
        now = self.clock.now_ms()
        try:
            with Store.open_readonly(self.config.storage.database) as store:
                return default_as_of(store, node, now)
        except StoreError:
            return now

    def start(self, node: str) -> bool:
        """Start a report for a node unless one is running or one failed recently."""
        if not self.enabled:
            return False
        with self._lock:
            if self._poll():
                return False
            failed = self._failed_at.get(node)
            if failed is not None and time.monotonic() - failed < RETRY_AFTER_FAILURE_S:
                return False
            started = self._started_at.get(node)
            if started is not None and time.monotonic() - started < RERUN_AFTER_S:
                return False
            env = dict(os.environ)
            if self.config.source == "defaults":
                env.pop("BEDSIDE_CONFIG", None)
            errors = tempfile.TemporaryFile()
            try:
                self._proc = subprocess.Popen(
                    self.command(node),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    env=env,
                    cwd=str(Path(__file__).resolve().parent.parent),
                )
            except OSError as exc:
                errors.close()
                self._failed_at[node] = time.monotonic()
                self.last_error = str(exc)
                return False
            self._errfile = errors
            self._node = node
            self._started_at[node] = time.monotonic()
            log.info("computing the evidence report for %s in a child process", node)
            return True

    def wait(self, timeout: float | None = None) -> int | None:
        with self._lock:
            proc = self._proc
        if proc is None:
            return None
        try:
            return proc.wait(timeout)
        finally:
            self.running()

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
                self._node = None  # stopped on purpose: not a failure
            self._poll()
