"""The trial's design: the protocol, the schedule, the commitment, time and concealment.

- **Pairs.**  N planned nights (even, at least 12) from the first night, in pairs
  (2k, 2k+1); in each pair one night is *warm* and one *usual*, the order drawn
  by a cryptographic RNG (``secrets``), independently for each pair.
- **Commitment.**  SHA-256 (hex) of ``salt + "\\n" + lines``, lines being
  ``"YYYY-MM-DD arm"`` for every planned night in order, joined with ``"\\n"``;
  the salt (128 random bits, hex) is shown only once the trial is over, so the
  commitment, shown from the start, says nothing about the schedule until then and
  proves afterwards that the schedule was not changed.
- **Announce time.**  Night D's arm is revealed at ``announce_at`` local time on
  date D (before the night starts at ``night_start``).
- **Concealment.**  An arm is shown only from its night's announce time, and the
  whole schedule once the trial is over (finished or stopped).  Everything shown
  to anyone goes through :func:`visible_schedule` or :func:`tonight`.
- **Status.**  ``stopped`` once stopped; ``finished`` once the last night has
  ended; ``running`` from the first night's announce time; ``planned`` before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.nights import NightParams, night_window
from monitor.vocabulary import parse_clock

WARM, USUAL = "warm", "usual"
ARMS = (WARM, USUAL)
# 6 pairs.  With 5, the exact test cannot reach 0.05 (all 5 one way: 0.0625); the verdict's
# mid-p can only if every one of the 5 pairs differs, all the same way (0.031): no plan.
MIN_NIGHTS = 12
MAX_NIGHTS = 366  # a year of nights: longer is not a trial of this kind
MAX_LEAD_DAYS = 366  # the first night at most this far ahead
ADHERENCE_MARGIN_C = 0.5  # a warm night adheres with a minimum >= warm_min_c - this
SALT_BYTES = 16


class TrialRequestError(ValueError):
    """A start request that cannot become a trial (the reason, for the person)."""


@dataclass(frozen=True)
class Protocol:
    """What is fixed when a trial is created (stored with it; config changes do not move it)."""

    first_night: date
    nights: int
    warm_min_c: float
    announce_at: str = "18:00"
    timezone: str = "UTC"
    night_start: str = "20:00"
    night_end: str = "08:00"
    min_coverage: float = 0.8

    @property
    def pairs(self) -> int:
        return self.nights // 2

    def dates(self) -> list[date]:
        return [self.first_night + timedelta(days=i) for i in range(self.nights)]

    def night_params(self) -> NightParams:
        """The analysis-spec night windows this trial judges its nights by."""
        return NightParams(
            timezone=self.timezone,
            night_start=self.night_start,
            night_end=self.night_end,
            min_coverage=self.min_coverage,
        )

    def window(self, night: date) -> tuple[int, int]:
        return night_window(night, self.night_params())

    def announce_ms(self, night: date) -> int:
        """The instant night's arm is revealed: its date at announce_at, local time."""
        local = datetime.combine(
            night, parse_clock(self.announce_at), tzinfo=ZoneInfo(self.timezone)
        )
        return round(local.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        """The end of the last planned night."""
        return self.window(self.dates()[-1])[1]


def check_nights(nights: int) -> None:
    if isinstance(nights, bool) or not isinstance(nights, int):
        raise TrialRequestError("the number of nights must be a whole number")
    if nights < MIN_NIGHTS:
        raise TrialRequestError(
            f"at least {MIN_NIGHTS} nights, got {nights}: fewer than {MIN_NIGHTS} nights can"
            " never reach p < 0.05 by the exact test (5 pairs all one way give 0.0625), and"
            " by the mid-p test only if every pair differs, all the same way"
        )
    if nights % 2:
        raise TrialRequestError(
            f"the number of nights must be even (pairs of nights), got {nights}"
        )
    if nights > MAX_NIGHTS:
        raise TrialRequestError(f"at most {MAX_NIGHTS} nights, got {nights}")


def check_warm_min(value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 10 <= value <= 30:
        raise TrialRequestError(f"the warm minimum must be from 10 to 30 °C, got {value!r}")


def choose_first_night(
    now_ms: int, timezone: str, announce_at: str, requested: date | None = None
) -> date:
    """The first night: ``requested``, else tonight, else (tonight's announce time has
    passed) tomorrow night.  Never a night whose announce time has passed."""
    tz = ZoneInfo(timezone)
    today = datetime.fromtimestamp(now_ms / 1000, tz).date()

    def announce(d: date) -> int:
        return round(datetime.combine(d, parse_clock(announce_at), tzinfo=tz).timestamp() * 1000)

    if requested is None:
        return today if now_ms < announce(today) else today + timedelta(days=1)
    if now_ms >= announce(requested):
        raise TrialRequestError(
            f"the night of {requested.isoformat()} cannot be the first: its arm would have"
            f" been announced at {announce_at} that day, which has passed"
            f" (the earliest is {choose_first_night(now_ms, timezone, announce_at)})"
        )
    if requested > today + timedelta(days=MAX_LEAD_DAYS):
        raise TrialRequestError(f"the first night must be within {MAX_LEAD_DAYS} days")
    return requested


# -- the schedule and the commitment ---------------------------------------------------------


def draw_arms(nights: int, rng=None) -> list[str]:
    """The arms of every planned night: each pair is (warm, usual) or (usual, warm),
    the order drawn independently, with ``secrets`` unless a test hands in an ``rng``
    (anything with ``randrange``)."""
    check_nights(nights)
    rng = rng or secrets.SystemRandom()
    arms: list[str] = []
    for _ in range(nights // 2):
        arms += [WARM, USUAL] if rng.randrange(2) == 0 else [USUAL, WARM]
    return arms


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def schedule_lines(schedule: Sequence[tuple[date | str, str]]) -> str:
    return "\n".join(f"{_iso(night)} {arm}" for night, arm in schedule)


def commitment(salt: str, schedule: Sequence[tuple[date | str, str]]) -> str:
    """SHA-256 hex of ``salt + "\\n" + lines``."""
    return hashlib.sha256((salt + "\n" + schedule_lines(schedule)).encode("utf-8")).hexdigest()


def verify(commitment_hex: str, salt: str, schedule: Sequence[tuple[date | str, str]]) -> bool:
    """Whether a revealed salt and schedule are the ones committed to."""
    return hmac.compare_digest(commitment(salt, schedule), commitment_hex.lower())


def _iso(night: date | str) -> str:
    return night if isinstance(night, str) else night.isoformat()


# -- time: status, concealment, tonight ----------------------------------------------------------


def status(protocol: Protocol, now_ms: int, stopped_ms: int | None) -> str:
    if stopped_ms is not None:
        return "stopped"
    if now_ms >= protocol.end_ms:
        return "finished"
    if now_ms >= protocol.announce_ms(protocol.first_night):
        return "running"
    return "planned"


def is_over(state: str) -> bool:
    return state in ("finished", "stopped")


def revealed(protocol: Protocol, night: date, now_ms: int, stopped_ms: int | None) -> bool:
    """Whether a night's arm may be shown: from its announce time, or once the trial is over."""
    return is_over(status(protocol, now_ms, stopped_ms)) or now_ms >= protocol.announce_ms(night)


def in_trial(protocol: Protocol, night: date, stopped_ms: int | None) -> bool:
    """Whether a planned night belongs to what was run: all of them, or after an early
    stop those announced before it."""
    return stopped_ms is None or protocol.announce_ms(night) <= stopped_ms


def visible_schedule(
    protocol: Protocol, arms: Sequence[str], now_ms: int, stopped_ms: int | None
) -> list[dict]:
    """``[{"night": ISO date, "arm": arm or None}]``: the only view of the schedule to show."""
    return [
        {"night": d.isoformat(), "arm": arm if revealed(protocol, d, now_ms, stopped_ms) else None}
        for d, arm in zip(protocol.dates(), arms, strict=True)
    ]


def tonight(
    protocol: Protocol, arms: Sequence[str], now_ms: int, stopped_ms: int | None
) -> tuple[date, str] | None:
    """The night whose arm stands now — the last announced one — while the trial runs;
    None before the first announcement and once it is over."""
    if status(protocol, now_ms, stopped_ms) != "running":
        return None
    current = None
    for d, arm in zip(protocol.dates(), arms, strict=True):
        if protocol.announce_ms(d) > now_ms:
            break
        current = (d, arm)
    return current


def next_announce_ms(protocol: Protocol, now_ms: int, stopped_ms: int | None) -> int | None:
    """When the next arm is revealed (None when none is left)."""
    if stopped_ms is not None:
        return None
    for d in protocol.dates():
        at = protocol.announce_ms(d)
        if at > now_ms:
            return at
    return None
