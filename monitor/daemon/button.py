"""The bedside button: one press logs a cramp, a long hold undoes the last one.

Press versus hold: a hold must never first log a cramp and then undo that same
cramp, so a press is logged when the button is *released* before ``hold_s``,
stamped with the instant it went *down*.  Reaching ``hold_s`` while still down
makes it a hold: nothing is logged, and the newest button cramp younger than
``undo_window_s`` is soft-deleted (recorded, restorable from the dashboard,
re-published with deleted=true) with one long blink; with nothing to undo the
LED flickers three times and nothing changes.  Each hold undoes one cramp.

A press is stored (synchronous commit) before any feedback, then the relay is
woken to publish it.  Presses within ``merge_s`` of the last logged press are
the same cramp (contact bounce, a fumbling thumb): they blink again, so the
user knows the cramp is logged, but store nothing new.  The window runs from
the logged press and does not slide, and an undo closes it.

Timestamps come from the injected clock; gpiozero measures the hold itself in
real time.  The press logic (``ButtonLogic``) knows nothing about GPIO.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from monitor.store import Cramp, Store

log = logging.getLogger(__name__)


# Shorter contacts are bounce, also filtered by gpiozero's bounce_time on real pins.
BOUNCE_MS = 50


class ButtonLogic:
    """pressed/released/held events in, stored cramps and feedback out."""

    def __init__(
        self,
        store: Store,
        node: str,
        clock,
        feedback,
        wake_outbox: Callable[[], None],
        *,
        merge_s: float = 5.0,
        undo_window_s: float = 600.0,
    ):
        self.store = store
        self.node = node
        self.clock = clock
        self.feedback = feedback
        self.wake_outbox = wake_outbox
        self.merge_ms = round(merge_s * 1000)
        self.undo_window_ms = round(undo_window_s * 1000)
        self._lock = threading.Lock()
        self._down = False
        self._held = False
        self._press_ms = 0
        self._last_logged_ms: int | None = None
        # What happened, for logs and tests (counters only grow).
        self.logged = 0
        self.merged = 0
        self.undone = 0
        self.nothing_to_undo = 0
        self.events = threading.Condition()

    def pressed(self) -> None:
        with self._lock:
            self._down, self._held = True, False
            self._press_ms = self.clock.now_ms()

    def released(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
            if self._held:
                return
            if self.clock.now_ms() - self._press_ms < BOUNCE_MS:
                # Contact bounce (a finger is never that quick): not a press. Were it
                # logged, the hold that usually follows would undo it instead of the
                # cramp the person meant to undo.
                return
            self._log(self._press_ms)
        self._notify()

    def held(self) -> None:
        with self._lock:
            if not self._down or self._held:
                return  # released first (a press), or already handled
            self._held = True
            self._undo(self.clock.now_ms())
        self._notify()

    def wait_for(self, predicate: Callable[[ButtonLogic], bool], timeout: float) -> bool:
        """Block until predicate(self) holds (tests await events instead of sleeping)."""
        with self.events:
            return self.events.wait_for(lambda: predicate(self), timeout)

    # -- inside the lock -------------------------------------------------------------

    def _log(self, ts_ms: int) -> None:
        last = self._last_logged_ms
        if last is not None and 0 <= ts_ms - last < self.merge_ms:
            self.merged += 1
            log.info("button press merged with the cramp logged %d ms earlier", ts_ms - last)
            self.feedback.logged()
            return
        try:
            cramp, created = self.store.add_cramp(
                self.node, ts_ms, source="button", now_ms=self.clock.now_ms()
            )
        except Exception:
            # No blink: the person sees the press was not taken and can use the dashboard.
            log.exception("could not store the button cramp")
            return
        self._last_logged_ms = ts_ms
        self.logged += 1
        log.info("cramp %d logged by the button (%s)", cramp.id, "new" if created else "known")
        self.feedback.logged()
        self.wake_outbox()

    def _undo(self, now_ms: int) -> None:
        target = self._undo_target(now_ms)
        if target is None:
            self.nothing_to_undo += 1
            log.info("button held: no button cramp in the last %d s", self.undo_window_ms // 1000)
            self.feedback.nothing_to_undo()
            return
        try:
            self.store.delete_cramp(target.id, now_ms=now_ms)
        except Exception:
            log.exception("could not undo cramp %d", target.id)
            return
        if self._last_logged_ms == target.ts_ms:
            self._last_logged_ms = None  # the next press is a new cramp
        self.undone += 1
        log.info("cramp %d undone by a button hold (restorable)", target.id)
        self.feedback.undone()
        self.wake_outbox()

    def _undo_target(self, now_ms: int) -> Cramp | None:
        recent = self.store.cramps(
            self.node, from_ms=now_ms - self.undo_window_ms + 1, newest_first=True, limit=50
        )
        for cramp in recent:
            if cramp.source == "button" and cramp.ts_ms <= now_ms:
                return cramp
        return None

    def _notify(self) -> None:
        with self.events:
            self.events.notify_all()


class ButtonComponent:
    """The gpiozero Button wired to ButtonLogic (a daemon component)."""

    def __init__(self, ctx, feedback):
        cfg = ctx.config.button
        self.ctx = ctx
        self.logic = ButtonLogic(
            ctx.store,
            ctx.config.node.id,
            ctx.clock,
            feedback,
            ctx.wake_outbox,
            merge_s=cfg.merge_s,
            undo_window_s=cfg.undo_window_s,
        )
        self.button = None
        self.error: str | None = None

    def start(self) -> None:
        from gpiozero import Button

        if hasattr(self.logic.feedback, "start"):
            self.logic.feedback.start()
        cfg = self.ctx.config.button
        try:
            self.button = Button(
                cfg.pin,
                pull_up=True,
                hold_time=cfg.hold_s,
                hold_repeat=False,
                pin_factory=self.ctx.pin_factory,
            )
        except Exception as exc:  # no GPIO here: readings go on, cramps via web/CLI
            self.error = f"button on GPIO{cfg.pin} unavailable: {exc}"
            log.error("%s; log cramps with `bedside cramp` or the dashboard", self.error)
            return
        self.button.when_pressed = self.logic.pressed
        self.button.when_released = self.logic.released
        self.button.when_held = self.logic.held
        log.info("button on GPIO%d: press logs a cramp, hold %.0f s undoes", cfg.pin, cfg.hold_s)

    def on_reading(self, reading, now_ms: int) -> None:
        pass

    def close(self) -> None:
        if self.button is not None:
            self.button.close()
            self.button = None
