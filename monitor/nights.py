"""Nights: local-time windows cut from UTC readings, and the rules of their summaries.

The night of local date D runs from D at ``night_start`` to D+1 at ``night_end``
(half open), so it is 11 or 13 hours long when the clocks change inside it;
`zoneinfo` does the arithmetic.  The store aggregates a window's rows and keeps
finished nights' totals (monitor/store/summaries.py: when a stored night is stale);
this module decides the windows, the coverage and what counts as a valid night.

Light on purpose: the web process imports this (no scipy, statsmodels, numpy).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config import Config
from monitor.store import NightTotals, Store
from monitor.vocabulary import is_clock_time, parse_clock

BIN_MS = 300_000


@dataclass(frozen=True)
class NightParams:
    timezone: str
    night_start: str = "20:00"
    night_end: str = "08:00"
    min_coverage: float = 0.8
    cold_below_c: float = 18.0

    @classmethod
    def from_config(cls, config: Config, **overrides) -> NightParams:
        a = config.analysis
        values = {
            "timezone": config.node.timezone,
            "night_start": a.night_start,
            "night_end": a.night_end,
            "min_coverage": a.min_coverage,
            "cold_below_c": a.cold_below_c,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def validate(self) -> NightParams:
        """Raise ValueError naming the first bad parameter (the CLI turns it into one line)."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.timezone!r} (use an IANA name such as 'Europe/London')"
            ) from None
        for name in ("night_start", "night_end"):
            value = getattr(self, name)
            if not is_clock_time(value):
                raise ValueError(f"{name} must be a time of day as HH:MM, got {value!r}")
        if not (isinstance(self.min_coverage, int | float) and 0 < self.min_coverage <= 1):
            raise ValueError(f"min_coverage must be above 0 and at most 1, got {self.min_coverage}")
        if not (isinstance(self.cold_below_c, int | float) and math.isfinite(self.cold_below_c)):
            raise ValueError(f"cold_below_c must be a number, got {self.cold_below_c}")
        return self

    @property
    def window_key(self) -> str:
        """What decides the windows (and so keys stored summaries)."""
        return f"{self.timezone}|{self.night_start}|{self.night_end}"

    def as_dict(self) -> dict:
        return {
            "timezone": self.timezone,
            "night_start": self.night_start,
            "night_end": self.night_end,
            "min_coverage": self.min_coverage,
            "cold_below_c": self.cold_below_c,
        }


@dataclass(frozen=True)
class NightSummary:
    night: date  # the local date the night starts on
    start_ms: int
    end_ms: int
    n_readings: int
    coverage: float
    valid: bool
    min_temp_c: float | None
    mean_temp_c: float | None
    mean_humidity_pct: float | None
    cramps: int
    finished: bool
    cold_below_c: float | None = None  # the threshold `cold` is judged against
    bins: int = 0  # 5-minute bins holding at least one reading
    total_bins: int = 0  # ceil(night length / 5 min)

    @property
    def cold(self) -> bool | None:
        """min_temp strictly below the threshold; None without readings or threshold."""
        if self.min_temp_c is None or self.cold_below_c is None:
            return None
        return self.min_temp_c < self.cold_below_c

    @property
    def cramp_night(self) -> bool:
        return self.cramps > 0

    @property
    def hours(self) -> float:
        return (self.end_ms - self.start_ms) / 3_600_000


def _epoch_ms(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)


def night_window(night: date, params: NightParams) -> tuple[int, int]:
    """[start, end) of a night in UTC ms; 11 or 13 hours long across clock changes."""
    tz = ZoneInfo(params.timezone)
    start = datetime.combine(night, parse_clock(params.night_start), tzinfo=tz)
    end = datetime.combine(night + timedelta(days=1), parse_clock(params.night_end), tzinfo=tz)
    return _epoch_ms(start), _epoch_ms(end)


def in_night_hours(ts_ms: int, params: NightParams) -> bool:
    """Whether an instant's local clock time is within night_start..night_end
    (which may cross midnight): the buzzer's and the dashboard's "is it night?"."""
    local = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(params.timezone)).time()
    start, end = parse_clock(params.night_start), parse_clock(params.night_end)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def local_date(ts_ms: int, params: NightParams) -> date:
    return datetime.fromtimestamp(ts_ms // 1000, tz=ZoneInfo(params.timezone)).date()


def night_of(ts_ms: int, params: NightParams) -> date | None:
    """The night an instant falls in, or None in the daytime."""
    local = local_date(ts_ms, params)
    for d in (local, local - timedelta(days=1)):
        start, end = night_window(d, params)
        if start <= ts_ms < end:
            return d
    return None


# -- naming nights --------------------------------------------------------------------
#
# A night is keyed by the date of its evening, but a person at 3 am lives on the next date:
# "Night of Sun 06 Dec" beside "last cramp: Sun 06 Dec 02:42" reads as a contradiction.  So a
# night is always named by both its dates, and the one in progress (or, by day, the one
# that just ended) by the words people use for it.  Every page and message uses these.


def night_dates(night: date, *, long: bool = False) -> str:
    """'Sat 05 → Sun 06 Dec' (both months when they differ; ``long``: full names and year)."""
    morning = night + timedelta(days=1)
    if long:
        first = "%A %d %B" if night.month != morning.month else "%A %d"
        year = f" {night.year}" if night.year != morning.year else ""
        return f"{night.strftime(first)}{year} → {morning.strftime('%A %d %B %Y')}"
    first = "%a %d %b" if night.month != morning.month else "%a %d"
    return f"{night.strftime(first)} → {morning.strftime('%a %d %b')}"


def relative_night(night: date, now_ms: int, params: NightParams) -> str | None:
    """'tonight' for the night in progress, 'last night' by day for the one that just ended,
    else None (a night named by its dates only: never a word that could mislead)."""
    current = night_of(now_ms, params)
    if current is not None:
        return "tonight" if night == current else None
    return "last night" if night == local_date(now_ms, params) - timedelta(days=1) else None


def night_name(night: date, now_ms: int, params: NightParams) -> str:
    """'Tonight · Sat 05 → Sun 06 Dec', 'Last night · …', or just the dates."""
    words = relative_night(night, now_ms, params)
    dates = night_dates(night)
    return f"{words.capitalize()} · {dates}" if words else dates


def moment_name(ts_ms: int, now_ms: int, params: NightParams) -> str:
    """When something happened, in the same words: '02:42 tonight', '02:42 last night',
    '02:42, night of Fri 04 → Sat 05 Dec', or 'Sat 05 Dec 14:10' in the daytime."""
    local = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(params.timezone))
    clock = local.strftime("%H:%M")
    night = night_of(ts_ms, params)
    if night is None:
        today = local_date(now_ms, params)
        return f"{clock} today" if local.date() == today else local.strftime("%a %d %b %H:%M")
    words = relative_night(night, now_ms, params)
    return f"{clock} {words}" if words else f"{clock}, night of {night_dates(night)}"


# -- computing one night ------------------------------------------------------------


def _summary(night: date, totals: NightTotals, params: NightParams, now_ms: int) -> NightSummary:
    """The coverage rules applied to a window's stored or freshly aggregated totals."""
    t = totals
    total = _total_bins(t.start_ms, t.end_ms)
    coverage = t.bins / total if total > 0 else 0.0
    return NightSummary(
        night=night,
        start_ms=t.start_ms,
        end_ms=t.end_ms,
        n_readings=t.n_readings,
        coverage=coverage,
        # A night that has not ended is never valid (tonight is not a cramp-free night yet).
        valid=t.n_readings > 0 and coverage >= params.min_coverage and t.end_ms <= now_ms,
        min_temp_c=t.min_temp_c,
        mean_temp_c=t.mean_temp_c,
        mean_humidity_pct=t.mean_humidity_pct,
        cramps=t.cramps,
        finished=t.end_ms <= now_ms,
        cold_below_c=params.cold_below_c,
        bins=t.bins,
        total_bins=total,
    )


def _total_bins(start: int, end: int) -> int:
    return -(-(end - start) // BIN_MS)


def summarize(
    store: Store, node: str, night: date, params: NightParams, now_ms: int
) -> NightSummary:
    """One night computed from scratch (never cached)."""
    start, end = night_window(night, params)
    return _summary(night, store.night_totals(node, start, end, BIN_MS), params, now_ms)


# -- the stored summaries ---------------------------------------------------------------


class NightBook:
    """Nights of one node under one set of parameters: stored where fresh, else computed.

    Computed finished nights are written back (in one transaction, by :meth:`save`)
    unless the store is read-only; the store's NightCache decides what is fresh and
    what may be stored.
    """

    def __init__(
        self,
        store: Store,
        node: str,
        params: NightParams,
        now_ms: int,
        as_of_ms: int | None = None,
    ):
        self.store, self.node, self.params, self.now_ms = store, node, params, now_ms
        self.cache = store.night_cache(node, params.window_key)
        self.first, self.newest = self.cache.first_ms, self.cache.newest_ms
        self.computed = 0  # nights computed from raw rows in this book (for tests/bench)
        self.as_of = as_of_ms
        if as_of_ms is not None:
            # The analysis (analysis-spec.md v3): nothing stamped after as_of exists.
            self.horizon = as_of_ms
            if self.first is not None and self.first > as_of_ms:
                self.first = None
            elif self.newest is not None:
                self.newest = min(self.newest, as_of_ms)
        else:
            # The time of the pages: the clock, or the newest reading when the data run
            # ahead of this machine's clock (an import from elsewhere).
            self.horizon = max(now_ms, self.newest) if self.newest is not None else now_ms

    def night(self, night: date) -> NightSummary:
        start, end = night_window(night, self.params)
        if self.as_of is not None and end > self.as_of:
            # Not ended by as_of: never valid; its totals only from rows up to as_of.
            cut = self.store.night_totals(self.node, start, max(start, self.as_of + 1), BIN_MS)
            return _summary(night, replace(cut, end_ms=end), self.params, self.horizon)
        totals = self.cache.fresh(night.isoformat(), start, end)
        if totals is None:
            totals = self.store.night_totals(self.node, start, end, BIN_MS)
            self.computed += 1
            if end <= self.now_ms:
                self.cache.remember(night.isoformat(), totals, _total_bins(start, end), self.now_ms)
        return _summary(night, totals, self.params, self.horizon)

    def save(self) -> int:
        """Write the newly computed finished nights; returns how many."""
        return self.cache.save()

    def dates(self, newest_first: bool = False) -> Iterator[date]:
        """Every night from the one holding the first reading to the newest reading or now."""
        if self.first is None:
            return
        oldest = local_date(self.first, self.params) - timedelta(days=1)
        # Data may run ahead of this machine's clock (an import from elsewhere).
        upto = self.as_of if self.as_of is not None else max(self.now_ms, self.newest)
        newest = local_date(upto, self.params)
        if newest_first:
            d = newest
            while d >= oldest:
                yield d
                d -= timedelta(days=1)
        else:
            d = oldest
            while d <= newest:
                yield d
                d += timedelta(days=1)


def default_as_of(store: Store, node: str, now_ms: int) -> int:
    """The analysis's default time (analysis-spec.md v3): the earlier of the clock and the
    node's newest reading (the clock without readings), so data that run past the clock,
    and a clock that runs ahead of a dead sensor, both stop at what is known."""
    newest = store.newest_reading(node)
    return now_ms if newest is None else min(now_ms, newest.ts_ms)


def night_summaries(
    store: Store, node: str, params: NightParams, now_ms: int, *, as_of_ms: int | None = None
) -> list[NightSummary]:
    """All nights of a node with readings, oldest first; stores newly finished ones.

    The night in progress is included but never valid before its end, as are nights of
    data stamped after `now` (which count as ended once a later reading exists).  With
    `as_of_ms` (the analysis), rows after it do not exist and a night is valid only when
    it ended by then.
    """
    book = NightBook(store, node, params, now_ms, as_of_ms)
    out = []
    for d in book.dates():
        s = book.night(d)
        if s.n_readings:
            out.append(s)
    book.save()
    return out


def list_nights(
    store: Store, node: str, params: NightParams, now_ms: int, *, limit: int = 30, offset: int = 0
) -> list[NightSummary]:
    """Nights with any reading, newest first (the current night included, unfinished).

    Works on a read-only store (uses fresh stored summaries, computes the rest).
    """
    book = NightBook(store, node, params, now_ms)
    out, skipped = [], 0
    for d in book.dates(newest_first=True):
        if len(out) >= limit:
            break
        start, _ = night_window(d, params)
        if start > now_ms:
            continue
        s = book.night(d)
        if s.n_readings:
            if skipped >= offset:
                out.append(s)
            else:
                skipped += 1
    book.save()
    return out
