"""The button with gpiozero's MockFactory: presses, bounce, holds, LED and buzzer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from gpiozero import LED, Buzzer
from gpiozero.pins.mock import MockFactory

from monitor.clock import FakeClock
from monitor.daemon.button import ButtonComponent
from monitor.daemon.components import DaemonContext, build_components
from monitor.daemon.feedback import Feedback, FeedbackComponent, Patterns
from monitor.mqtt.payloads import Topics
from monitor.nights import NightParams, in_night_hours
from tests.support import EVENT_TIMEOUT, wait_until

BERLIN = ZoneInfo("Europe/Berlin")
FAST = Patterns().scaled(0.02)  # the real patterns, 50 times faster
LED_PIN, BUZZER_PIN, BUTTON_PIN = 27, 22, 17
# gpiozero times a hold in real time: short enough for a quick test, long enough that a
# press (drive_low then drive_high at once) is never mistaken for a hold on a busy machine.
HOLD_S = 0.3


def local_ms(text: str) -> int:
    return round(datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp() * 1000)


class Rig:
    """A button, LED and buzzer on mock pins, wired to a real store."""

    def __init__(self, make_config, store, *, when="2026-11-20T15:00", at_night=False, **button):
        self.factory = MockFactory()
        self.clock = FakeClock(local_ms(when))
        _, self.config = make_config(
            {
                "button": {"pin": BUTTON_PIN, **button},
                "led": {"pin": LED_PIN},
                "buzzer": {"pin": BUZZER_PIN, "at_night": at_night},
            }
        )
        self.store = store
        self.wakes = 0
        self.retained: list[tuple[str, bytes]] = []

        def wake():
            self.wakes += 1

        self.ctx = DaemonContext(
            config=self.config,
            store=store,
            clock=self.clock,
            topics=Topics("bedside", self.config.node.id),
            set_retained=lambda topic, payload: self.retained.append((topic, payload)),
            wake_outbox=wake,
            pin_factory=self.factory,
        )
        self.feedback = FeedbackComponent(self.ctx, patterns=FAST)
        self.component = ButtonComponent(self.ctx, self.feedback)
        self.component.start()
        self.logic = self.component.logic
        self.pin = self.factory.pin(BUTTON_PIN)
        self.led = self.factory.pin(LED_PIN)
        self.buzzer = self.factory.pin(BUZZER_PIN)
        self.led.clear_states()
        self.buzzer.clear_states()

    def press(self, duration_s: float = 0.15):
        """A finger's press: down, a moment (on the fake clock), up."""
        self.pin.drive_low()
        self.clock.advance(duration_s)
        self.pin.drive_high()

    def bounce(self):
        """A contact edge far shorter than a finger can make."""
        self.pin.drive_low()
        self.pin.drive_high()

    def hold(self, until):
        """Keep the button down until the logic reports the hold was handled."""
        self.pin.drive_low()
        try:
            assert self.logic.wait_for(until, EVENT_TIMEOUT), "the hold was never handled"
        finally:
            self.pin.drive_high()

    def led_states(self):
        assert self.feedback.inner.wait_idle(EVENT_TIMEOUT)
        return [s.state for s in self.led.states]

    def cramps(self, **kw):
        return self.store.cramps(self.config.node.id, include_deleted=True, **kw)

    def close(self):
        self.component.close()
        self.feedback.close()


@pytest.fixture
def rig(make_config, store):
    rigs = []

    def make(**kw):
        r = Rig(make_config, store, **kw)
        rigs.append(r)
        return r

    yield make
    for r in rigs:
        r.close()


def test_press_stores_one_cramp_then_blinks_twice(rig):
    r = rig()
    down_at = r.clock.now_ms()
    r.press()
    (cramp,) = r.cramps()
    assert (cramp.source, cramp.ts_ms, cramp.leg, cramp.severity) == (
        "button",
        down_at,
        None,
        None,
    )
    assert not cramp.published and r.wakes == 1  # in the outbox, relay woken
    assert r.led_states() == [False, True, False, True, False]


def test_cramp_is_stored_before_any_feedback(make_config, store, rig):
    r = rig()
    seen_at_feedback = []

    class Probe:
        def logged(self):
            seen_at_feedback.append(len(r.cramps()))

    r.logic.feedback = Probe()
    r.press()
    assert seen_at_feedback == [1]


def test_press_is_stamped_when_the_button_went_down(rig):
    r = rig()
    down_at = r.clock.now_ms()
    r.pin.drive_low()
    r.clock.advance(1.5)  # a slow thumb
    r.pin.drive_high()
    assert [c.ts_ms for c in r.cramps()] == [down_at]


def test_bounce_and_double_presses_are_one_cramp(rig):
    r = rig(merge_s=5.0)
    r.press()
    for _ in range(5):  # contact bounce: ignored, not even merged
        r.bounce()
    r.clock.advance(2)
    r.press()  # a fumbling second press, 2 s later: the same cramp
    r.clock.advance(2.6)
    r.press()  # 4.9 s after the first: still the same cramp
    assert len(r.cramps()) == 1
    assert (r.logic.logged, r.logic.merged) == (1, 2)
    assert r.wakes == 1
    r.clock.advance(0.2)  # 5.25 s after the logged press: a new cramp
    r.press()
    assert len(r.cramps()) == 2


def test_bounce_at_the_start_of_a_hold_undoes_the_right_cramp(rig):
    r = rig(hold_s=HOLD_S)
    r.press()
    (meant,) = r.cramps()
    r.clock.advance(60)
    r.bounce()  # the contact chatters as the thumb comes down for the undo
    r.hold(lambda logic: logic.undone == 1)
    (after,) = r.cramps()  # the bounce logged nothing; the intended cramp is undone
    assert after.id == meant.id and after.deleted


def test_hold_undoes_the_last_button_cramp(rig):
    r = rig(hold_s=HOLD_S)
    r.press()
    (cramp,) = r.cramps()
    r.led_states()
    r.led.clear_states()
    r.clock.advance(60)
    r.hold(lambda logic: logic.undone == 1)
    (after,) = r.cramps()  # the hold logged nothing new
    assert after.id == cramp.id and after.deleted and not after.published
    assert r.store.cramps(r.config.node.id) == []  # gone from the normal view
    assert r.wakes == 2  # the deletion goes out through the relay too
    assert r.led_states() == [False, True, False]  # one long blink, not two short
    restored = r.store.restore_cramp(cramp.id, now_ms=r.clock.now_ms())
    assert not restored.deleted and restored.ts_ms == cramp.ts_ms
    # After an undo the next press is a new cramp even inside the merge window.
    r.clock.advance(1)
    r.store.delete_cramp(cramp.id, now_ms=r.clock.now_ms())
    r.press()
    assert len(r.cramps()) == 2


def test_hold_with_nothing_to_undo_changes_nothing(rig):
    r = rig(hold_s=HOLD_S, undo_window_s=600)
    r.press()
    r.clock.advance(601)  # too old to undo
    r.store.add_cramp(
        r.config.node.id, r.clock.now_ms() - 1000, source="web", now_ms=r.clock.now_ms()
    )
    before = r.cramps()
    r.led_states()
    r.led.clear_states()
    r.hold(lambda logic: logic.nothing_to_undo == 1)
    assert r.cramps() == before
    assert r.logic.undone == 0 and r.logic.logged == 1
    assert r.led_states() == [False, True] * 3 + [False]  # three flickers: "nothing to undo"


def test_each_hold_undoes_one_cramp(rig):
    r = rig(hold_s=HOLD_S, merge_s=1)
    for _ in range(2):
        r.press()
        r.clock.advance(10)
    r.hold(lambda logic: logic.undone == 1)
    newest, oldest = r.cramps(newest_first=True)
    assert newest.deleted and not oldest.deleted
    r.hold(lambda logic: logic.undone == 2)
    assert all(c.deleted for c in r.cramps())
    r.hold(lambda logic: logic.nothing_to_undo == 1)


def test_buzzer_chirps_by_day(rig):
    r = rig(when="2026-11-20T15:00")
    r.press()
    assert r.feedback.inner.chirps == 1


def test_buzzer_silent_at_night(rig):
    r = rig(when="2026-11-21T02:30")
    r.press()
    r.led_states()
    assert r.feedback.inner.chirps == 0
    assert [s.state for s in r.buzzer.states] == [False]
    assert len(r.cramps()) == 1  # still logged and blinked


def test_buzzer_at_night_when_configured(rig):
    r = rig(when="2026-11-21T02:30", at_night=True)
    r.press()
    assert r.feedback.inner.chirps == 1


def test_cold_pulse_resumes_after_a_pattern():
    factory = MockFactory()
    led = LED(LED_PIN, pin_factory=factory)
    fb = Feedback(led, patterns=Patterns().scaled(0.01), cold_pulse=True)
    pin = factory.pin(LED_PIN)
    try:
        fb.set_cold(True)
        assert wait_until(lambda: sum(s.state for s in pin.states) >= 3)  # pulsing
        fb.logged()
        assert fb.wait_idle(EVENT_TIMEOUT)
        n = len(pin.states)
        assert wait_until(lambda: len(pin.states) > n + 2)  # pulsing again
        fb.set_cold(False)
        assert wait_until(lambda: not led.is_lit)
    finally:
        fb.close()


def test_no_pulse_when_disabled():
    factory = MockFactory()
    led = LED(LED_PIN, pin_factory=factory)
    fb = Feedback(led, patterns=Patterns().scaled(0.01), cold_pulse=False)
    try:
        fb.set_cold(True)
        fb.logged()
        assert fb.wait_idle(EVENT_TIMEOUT)
        assert [s.state for s in factory.pin(LED_PIN).states] == [False, True, False, True, False]
    finally:
        fb.close()


@pytest.mark.parametrize(
    "when, night",
    [
        ("2026-11-20T19:59", False),
        ("2026-11-20T20:00", True),
        ("2026-11-21T00:30", True),
        ("2026-11-21T07:59", True),
        ("2026-11-21T08:00", False),
        ("2026-03-29T02:30", True),  # spring-forward gap still maps to the night
    ],
)
def test_is_night(when, night):
    assert in_night_hours(local_ms(when), NightParams("Europe/Berlin", "20:00", "08:00")) is night


def test_is_night_window_within_a_day():
    assert in_night_hours(
        local_ms("2026-11-20T13:00"), NightParams("Europe/Berlin", "12:00", "14:00")
    )
    assert not in_night_hours(
        local_ms("2026-11-20T15:00"), NightParams("Europe/Berlin", "12:00", "14:00")
    )


def test_build_components(make_config, store, clock):
    _, config = make_config({"button": {"enabled": True}, "led": {"pin": LED_PIN}})
    ctx = DaemonContext(
        config, store, clock, Topics("b", "n"), lambda *a: None, lambda: None, MockFactory()
    )
    names = [type(c).__name__ for c in build_components(ctx)]
    assert names == ["ButtonComponent", "AlertComponent", "FeedbackComponent"]
    _, config = make_config({"button": {"enabled": False}})
    ctx.config = config
    names = [type(c).__name__ for c in build_components(ctx)]
    assert names == ["AlertComponent", "FeedbackComponent"]


def test_unavailable_pins_do_not_stop_the_daemon(make_config, store, clock):
    factory = MockFactory()
    holder = Buzzer(LED_PIN, pin_factory=factory)  # something else holds the LED's pin
    _, config = make_config({"led": {"pin": LED_PIN}})
    ctx = DaemonContext(
        config, store, clock, Topics("b", "n"), lambda *a: None, lambda: None, factory
    )
    fb = FeedbackComponent(ctx)
    fb.start()
    assert fb.error and "LED/buzzer unavailable" in fb.error
    fb.logged()  # harmless
    fb.close()
    holder.close()
