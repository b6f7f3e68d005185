"""A single background thread running submitted jobs in order.

Used where the read loop must hand work off and never wait for it (alert side
effects, notifications): ``submit`` never blocks, ``close`` waits a bounded
time and then leaves a stuck job behind (the thread is a daemon thread).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class SerialWorker:
    def __init__(self, name: str):
        self.name = name
        self.stopping = threading.Event()  # jobs may wait on it to abandon backoffs
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        if self.stopping.is_set():
            log.warning("%s: dropped a job submitted after shutdown", self.name)
            return
        with self._idle:
            self._pending += 1
        self._queue.put(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every submitted job has finished (for tests and orderly shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float) -> bool:
        """Finish queued jobs for up to ``timeout`` seconds; True if the thread ended."""
        if not self._started:
            return True
        self.stopping.set()  # retries and backoffs give up; queued jobs still run once
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("%s: still busy after %.0f s at shutdown; leaving it", self.name, timeout)
            return False
        return True

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("%s: job failed", self.name)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
