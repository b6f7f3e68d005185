"""Nights: local-time windows cut from UTC readings, and their stored summaries.

The night of local date D runs from D at ``night_start`` to D+1 at ``night_end``
(half open), so it is 11 or 13 hours long when the clocks change inside it;
`zoneinfo` does the arithmetic.  A finished night's summary is computed once and
kept in ``night_summaries``; it is recomputed only when a ``dirty_days`` row of a
UTC day it touches is newer than the summary (imports, cramp edits, backfill).
Live appends never touch finished nights, so they never invalidate anything.

Light on purpose: the web process imports this (no scipy, statsmodels, numpy).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config import Config
from monitor.store import DAY_MS, Store
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


# -- computing one night ------------------------------------------------------------


def _compute(
    store: Store, node: str, night: date, start: int, end: int, params: NightParams, now_ms: int
) -> NightSummary:
    """One night from its raw rows; SQLite does the aggregation (no row reaches Python)."""
    with store.lock:
        n, bins, lo, mean_t, mean_h = store.conn.execute(
            "SELECT count(*), count(DISTINCT (ts_ms - ?) / ?), min(temperature_c),"
            " avg(temperature_c), avg(humidity_pct) FROM readings"
            " WHERE node = ? AND ts_ms >= ? AND ts_ms < ?",
            (start, BIN_MS, node, start, end),
        ).fetchone()
        cramps = store.conn.execute(
            "SELECT count(*) FROM cramps WHERE node = ? AND ts_ms >= ? AND ts_ms < ?"
            " AND deleted_ms IS NULL",
            (node, start, end),
        ).fetchone()[0]
    return _summary(night, start, end, n, bins, lo, mean_t, mean_h, cramps, params, now_ms)


def _summary(night, start, end, n, bins, lo, mean_t, mean_h, cramps, params, now_ms):
    total = -(-(end - start) // BIN_MS)
    coverage = bins / total if total > 0 else 0.0
    return NightSummary(
        night=night,
        start_ms=start,
        end_ms=end,
        n_readings=n,
        coverage=coverage,
        # A night that has not ended is never valid (tonight is not a cramp-free night yet).
        valid=n > 0 and coverage >= params.min_coverage and end <= now_ms,
        min_temp_c=lo,
        mean_temp_c=mean_t,
        mean_humidity_pct=mean_h,
        cramps=cramps,
        finished=end <= now_ms,
        cold_below_c=params.cold_below_c,
        bins=bins,
        total_bins=total,
    )


def summarize(
    store: Store, node: str, night: date, params: NightParams, now_ms: int
) -> NightSummary:
    """One night computed from scratch (never cached)."""
    start, end = night_window(night, params)
    return _compute(store, node, night, start, end, params, now_ms)


# -- the stored summaries ---------------------------------------------------------------


class NightBook:
    """Nights of one node under one set of parameters: stored where fresh, else computed.

    Computed finished nights are written back (in one transaction, by :meth:`save`)
    unless the store is read-only.  A night is only stored once the node's readings
    have moved past its end, so a later reading inside it is an out-of-order write
    that marks its day dirty.
    """

    def __init__(self, store: Store, node: str, params: NightParams, now_ms: int):
        self.store, self.node, self.params, self.now_ms = store, node, params, now_ms
        self.persist = not store.readonly
        self.version = store.data_version()
        self.stored: dict[str, tuple] = {}
        self.dirty: dict[int, int] = {}
        self.pending: list[tuple] = []
        self.computed = 0  # nights computed from raw rows in this book (for tests/bench)
        with store.lock:
            newest = store.conn.execute(
                "SELECT max(ts_ms) FROM readings WHERE node = ?", (node,)
            ).fetchone()[0]
            self.first = store.conn.execute(
                "SELECT min(ts_ms) FROM readings WHERE node = ?", (node,)
            ).fetchone()[0]
            self.newest = newest
            try:
                rows = store.conn.execute(
                    "SELECT night, start_ms, end_ms, n_readings, bins, min_temp_c, mean_temp_c,"
                    " mean_humidity_pct, cramps, version FROM night_summaries"
                    " WHERE node = ? AND params_key = ?",
                    (node, params.window_key),
                ).fetchall()
            except sqlite3.OperationalError:  # an older read-only database without 0003
                rows, self.persist = [], False
            self.stored = {r[0]: r[1:] for r in rows}
            self.dirty = dict(
                store.conn.execute(
                    "SELECT day, version FROM dirty_days WHERE node = ?", (node,)
                ).fetchall()
            )
        # The time of the analysis: the clock, or the newest reading when the data run
        # ahead of this machine's clock (an import from elsewhere).
        self.horizon = max(now_ms, newest) if newest is not None else now_ms

    def _fresh(self, start: int, end: int, version: int) -> bool:
        for day in range(start // DAY_MS, (end - 1) // DAY_MS + 1):
            if self.dirty.get(day, -1) > version:
                return False
        return True

    def night(self, night: date) -> NightSummary:
        start, end = night_window(night, self.params)
        row = self.stored.get(night.isoformat())
        same_window = row is not None and row[0] == start and row[1] == end
        if same_window and self._fresh(start, end, row[8]):
            _, _, n, bins, lo, mean_t, mean_h, cramps, _ = row
            return _summary(
                night, start, end, n, bins, lo, mean_t, mean_h, cramps, self.params, self.horizon
            )
        s = _compute(self.store, self.node, night, start, end, self.params, self.horizon)
        self.computed += 1
        if self.persist and end <= self.now_ms and self.newest is not None and self.newest >= end:
            self.pending.append(
                (
                    self.node,
                    self.params.window_key,
                    night.isoformat(),
                    start,
                    end,
                    s.n_readings,
                    s.bins,
                    s.total_bins,
                    s.min_temp_c,
                    s.mean_temp_c,
                    s.mean_humidity_pct,
                    s.cramps,
                    self.version,
                    self.now_ms,
                )
            )
        return s

    def save(self) -> int:
        """Write the newly computed finished nights; returns how many."""
        if not self.pending:
            return 0
        rows, self.pending = self.pending, []
        try:
            with self.store.transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO night_summaries (node, params_key, night, start_ms,"
                    " end_ms, n_readings, bins, total_bins, min_temp_c, mean_temp_c,"
                    " mean_humidity_pct, cramps, version, computed_ms)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
        except sqlite3.OperationalError:  # read-only file or a busy writer: next time
            return 0
        return len(rows)

    def dates(self, newest_first: bool = False) -> Iterator[date]:
        """Every night from the one holding the first reading to the newest reading or now."""
        if self.first is None:
            return
        oldest = local_date(self.first, self.params) - timedelta(days=1)
        # Data may run ahead of this machine's clock (an import from elsewhere).
        newest = local_date(max(self.now_ms, self.newest), self.params)
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


def night_summaries(
    store: Store, node: str, params: NightParams, now_ms: int
) -> list[NightSummary]:
    """All nights of a node with readings, oldest first; stores newly finished ones.

    The night in progress is included but never valid before its end, as are nights of
    data stamped after `now` (which count as ended once a later reading exists).
    """
    book = NightBook(store, node, params, now_ms)
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
