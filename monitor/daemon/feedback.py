"""What a half-asleep person sees and hears: the LED and the buzzer.

LED patterns (played on the LED's own thread, one after another):
  logged        two quick blinks — the cramp is stored
  undone        one long blink — the last button cramp was deleted (restorable)
  nothing       three short flickers — a hold found nothing to undo
  cold pulse    a slow on/off pulse while the room is cold (``[led] cold_pulse``),
                resumed after any other pattern.  Plain on/off rather than PWM, so
                it works on every pin and on gpiozero's MockFactory.
The buzzer chirps on a logged press, except at night ([analysis] night_start ..
night_end in [node] timezone) unless ``[buzzer] at_night``.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass

from monitor.nights import NightParams, in_night_hours

log = logging.getLogger(__name__)

Pattern = tuple[tuple[bool, float], ...]


@dataclass(frozen=True)
class Patterns:
    logged: Pattern = ((True, 0.15), (False, 0.15), (True, 0.15), (False, 0.3))
    undone: Pattern = ((True, 1.5), (False, 0.5))
    nothing: Pattern = ((True, 0.05), (False, 0.1)) * 3
    cold_on_s: float = 1.0
    cold_off_s: float = 3.0
    chirp_s: float = 0.06

    def scaled(self, factor: float) -> Patterns:
        """The same patterns faster (tests)."""

        def s(p: Pattern) -> Pattern:
            return tuple((state, d * factor) for state, d in p)

        return Patterns(
            s(self.logged),
            s(self.undone),
            s(self.nothing),
            self.cold_on_s * factor,
            self.cold_off_s * factor,
            self.chirp_s * factor,
        )


class Feedback:
    """Drives an optional LED and an optional buzzer; every method returns at once."""

    def __init__(
        self,
        led=None,
        buzzer=None,
        *,
        cold_pulse: bool = True,
        chirp_allowed=lambda: True,
        patterns: Patterns | None = None,
    ):
        self.led = led
        self.buzzer = buzzer
        self.cold_pulse = cold_pulse
        self.chirp_allowed = chirp_allowed
        self.patterns = patterns or Patterns()
        self.chirps = 0  # how many chirps were sounded (for tests and logs)
        self._cond = threading.Condition()
        self._queue: collections.deque[Pattern] = collections.deque()
        self._cold = False
        self._stop = False
        self._stopped = threading.Event()
        self._playing = False
        self._thread: threading.Thread | None = None
        if led is not None:
            self._thread = threading.Thread(target=self._run, name="led", daemon=True)
            self._thread.start()

    @classmethod
    def from_config(cls, config, pin_factory, clock, patterns: Patterns | None = None) -> Feedback:
        from gpiozero import LED, Buzzer

        led = LED(config.led.pin, pin_factory=pin_factory) if config.led.pin is not None else None
        buzzer = None
        if config.buzzer.pin is not None:
            try:
                buzzer = Buzzer(config.buzzer.pin, pin_factory=pin_factory)
            except Exception:
                if led is not None:
                    led.close()
                raise
        night_params = NightParams.from_config(config)

        def chirp_allowed() -> bool:
            if config.buzzer.at_night:
                return True
            return not in_night_hours(clock.now_ms(), night_params)

        return cls(
            led,
            buzzer,
            cold_pulse=config.led.cold_pulse,
            chirp_allowed=chirp_allowed,
            patterns=patterns,
        )

    # -- what happened -------------------------------------------------------------

    def logged(self) -> None:
        self._play(self.patterns.logged)
        if self.buzzer is not None and self.chirp_allowed():
            self.chirps += 1
            self.buzzer.beep(on_time=self.patterns.chirp_s, off_time=0.01, n=1, background=True)

    def undone(self) -> None:
        self._play(self.patterns.undone)

    def nothing_to_undo(self) -> None:
        self._play(self.patterns.nothing)

    def set_cold(self, cold: bool) -> None:
        with self._cond:
            self._cold = cold
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once no pattern is queued or playing (tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._playing, timeout)

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5.0)
        for device in (self.led, self.buzzer):
            if device is not None:
                try:
                    device.close()
                except Exception:
                    log.exception("closing %r failed", device)

    # -- the LED thread -------------------------------------------------------------

    def _play(self, pattern: Pattern) -> None:
        if self.led is None:
            return
        with self._cond:
            self._queue.append(pattern)
            self._cond.notify_all()

    def _run(self) -> None:
        pulse_on = False
        while True:
            with self._cond:
                if self._stop:
                    break
                if not self._queue:
                    if self._cold and self.cold_pulse:
                        pulse_on = not pulse_on
                        self.led.value = pulse_on
                        p = self.patterns
                        self._cond.wait(p.cold_on_s if pulse_on else p.cold_off_s)
                    else:
                        if pulse_on:
                            self.led.off()
                            pulse_on = False
                        self._cond.wait()
                    continue
                pattern = self._queue.popleft()
                self._playing = True
            try:
                if pulse_on:  # a clear start, so the pattern is visible
                    self.led.off()
                    pulse_on = False
                    self._stopped.wait(0.3 * self.patterns.cold_off_s / 3)
                for state, duration in pattern:
                    self.led.value = state
                    if self._stopped.wait(duration):
                        break
                self.led.off()
            finally:
                with self._cond:
                    self._playing = False
                    self._cond.notify_all()
        try:
            self.led.off()
        except Exception:
            pass


class FeedbackComponent:
    """The LED and buzzer as a daemon component, shared by the button and the alerts.

    ``start`` opens the pins (idempotent; the button and alerts call it too) and a
    pin that cannot be opened is logged, not fatal: the daemon still reads.
    """

    def __init__(self, ctx, patterns: Patterns | None = None):
        self.ctx = ctx
        self.patterns = patterns
        self.inner = Feedback(patterns=patterns)  # silent until started
        self.error: str | None = None
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            c = self.ctx.config
            if c.led.pin is None and c.buzzer.pin is None:
                return
            try:
                self.inner = Feedback.from_config(
                    c, self.ctx.pin_factory, self.ctx.clock, self.patterns
                )
            except Exception as exc:
                self.error = f"LED/buzzer unavailable: {exc}"
                log.error("%s; presses are still logged", self.error)

    def logged(self) -> None:
        self.inner.logged()

    def undone(self) -> None:
        self.inner.undone()

    def nothing_to_undo(self) -> None:
        self.inner.nothing_to_undo()

    def set_cold(self, cold: bool) -> None:
        self.inner.set_cold(cold)

    def on_reading(self, reading, now_ms: int) -> None:
        pass

    def close(self) -> None:
        self.inner.close()
