"""What the daemon runs besides the read loop: the button, the LED, the alerts.

The daemon (monitor/daemon.py) builds a DaemonContext, calls
``build_components(ctx)`` and then, for each component: ``start()`` once,
``on_reading(reading, now_ms)`` after every read cycle (``reading`` is the
stored Reading, or None when the cycle produced no good reading), and
``close()`` on shutdown.  Components must never block the read loop: slow
work (notifications, LED patterns) runs on their own threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.clock import SystemClock
from monitor.config import Config
from monitor.payloads import Topics
from monitor.store import Reading, Store


@dataclass
class DaemonContext:
    config: Config
    store: Store  # the daemon's writer connection; thread-safe through store.lock
    clock: SystemClock  # or FakeClock in tests
    topics: Topics
    # Publish a retained state (alerts): sent now if connected, re-sent on every reconnect.
    set_retained: Callable[[str, bytes], None]
    # Ask the relay to send unpublished rows (e.g. a new cramp) now instead of at its next poll.
    wake_outbox: Callable[[], None]
    pin_factory: Any = None  # a gpiozero pin factory (MockFactory in tests/demo), or None


class Component(Protocol):
    def start(self) -> None: ...

    def on_reading(self, reading: Reading | None, now_ms: int) -> None: ...

    def close(self) -> None: ...


def build_components(ctx: DaemonContext) -> list[Component]:
    """The button/LED/buzzer and the alerts, as configured (filled in by the button/alert work)."""
    return []
