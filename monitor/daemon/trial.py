"""The warm-night trial's announcer: tonight's arm, stored first, then retained on MQTT.

Every read cycle it works out which night's arm stands now (monitor.trial.design:
the last night whose announce time has passed, while the trial runs).  When that
changes it stores the announcement (``Store.record_trial_announcement``; the first
one of a night is kept) and then publishes the retained
``<prefix>/<node>/trial/tonight`` through the relay's retained states, which the
relay re-sends on every reconnect.  A restart re-publishes what is stored; a broker
outage only delays the message; a trial stopped from the CLI or the web (another
process) turns it into ``{"arm": "none"}`` at the next cycle.  Nothing here ever
reads an arm ahead of its announce time, and nothing new is announced while the
daemon's clock guard doubts the clock (a jump ahead not yet confirmed, a clock behind
the newest reading): a clock two days ahead would otherwise reveal a future night's arm.
"""

from __future__ import annotations

import logging

from monitor.mqtt.payloads import trial_result_payload, trial_tonight_payload
from monitor.store import Reading
from monitor.trial import design, service

log = logging.getLogger(__name__)


class TrialComponent:
    def __init__(self, ctx):
        self.ctx = ctx
        self.node = ctx.config.node.id
        self._published: bytes | None = None
        self._failing = False
        self._doubting = False
        self._result_key: tuple | None = None  # (trial id, data version) last counted

    def start(self) -> None:
        self._step(self.ctx.clock.now_ms())

    def on_reading(self, reading: Reading | None, now_ms: int) -> None:
        self._step(now_ms)

    def close(self) -> None:
        return None

    def _step(self, now_ms: int) -> None:
        if not self.ctx.clock_trusted():
            if not self._doubting:
                log.warning(
                    "trial: the clock is in doubt (it jumped ahead, or is behind the newest"
                    " reading); tonight's arm waits until it is trusted"
                )
            self._doubting = True
            return
        if self._doubting:
            log.info("trial: the clock is trusted again; announcing tonight's arm")
            self._doubting = False
        try:
            loaded = service.load(self.ctx.store, self.node)  # once a cycle, for both
            payload = self._payload(loaded, now_ms)
            self._publish_result(loaded, now_ms)
        except Exception as exc:  # a busy or full disk: the next cycle tries again
            if not self._failing:
                log.warning("trial: could not store tonight's announcement (%s); retrying", exc)
            self._failing = True
            return
        if self._failing:
            log.info("trial: announcements stored again")
            self._failing = False
        if payload != self._published:
            self.ctx.set_retained(self.ctx.topics.trial_tonight, payload)
            self._published = payload

    def _publish_result(self, loaded: service.Loaded | None, now_ms: int) -> None:
        """Once a trial has finished (never before: its schedule is secret until then), its
        counts go out retained for a recorder's pooled study; again after an edit."""
        if loaded is None or loaded.status(now_ms) != "finished":
            return
        key = (loaded.trial.id, self.ctx.store.data_version())
        if key == self._result_key:
            return
        r = service.report(self.ctx.store, loaded, now_ms)
        payload = trial_result_payload(
            loaded.protocol.first_night.isoformat(), r["pairs"], r["usual_only"], r["warm_only"]
        )
        self.ctx.set_retained(self.ctx.topics.trial_result, payload)
        self._result_key = key

    def _payload(self, loaded: service.Loaded | None, now_ms: int) -> bytes:
        current = loaded and design.tonight(loaded.protocol, loaded.arms, now_ms, loaded.stopped_ms)
        if not current:
            return trial_tonight_payload(None, None, None)
        night, arm = current
        _start, end = loaded.protocol.window(night)
        if now_ms < end:  # a night that has ended is not announced after the fact
            stored, created = self.ctx.store.record_trial_announcement(
                loaded.trial.id, night.isoformat(), arm, now_ms=now_ms
            )
            arm = stored.arm
            if created:
                log.info(
                    "trial: the night of %s is a %s night%s",
                    night.isoformat(),
                    arm,
                    f" (at or above {loaded.protocol.warm_min_c:g} °C)" if arm == "warm" else "",
                )
        return trial_tonight_payload(night.isoformat(), arm, loaded.protocol.warm_min_c)
