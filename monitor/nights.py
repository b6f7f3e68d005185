"""Nights: local-time windows cut from UTC readings, and their summaries.

INTERFACE STUB by the integrator, to be replaced by the analysis work (issue 4)
keeping these signatures: the dashboard calls them.  This naive version
computes every night from raw readings; the real one stores finished nights.
Must stay free of scipy/statsmodels (the web process imports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.config import Config
from monitor.store import Store

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

    @property
    def cold(self) -> bool | None:
        """Set by list_nights' params; None when there are no readings."""
        return None


def _clock(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def night_window(night: date, params: NightParams) -> tuple[int, int]:
    """[start, end) of a night in UTC ms; 11 or 13 hours long across clock changes."""
    tz = ZoneInfo(params.timezone)
    start = datetime.combine(night, _clock(params.night_start), tzinfo=tz)
    end = datetime.combine(night + timedelta(days=1), _clock(params.night_end), tzinfo=tz)
    return round(start.timestamp() * 1000), round(end.timestamp() * 1000)


def night_of(ts_ms: int, params: NightParams) -> date | None:
    """The night an instant falls in, or None in the daytime."""
    tz = ZoneInfo(params.timezone)
    local = datetime.fromtimestamp(ts_ms / 1000, tz=tz).date()
    for d in (local, local - timedelta(days=1)):
        start, end = night_window(d, params)
        if start <= ts_ms < end:
            return d
    return None


def summarize(
    store: Store, node: str, night: date, params: NightParams, now_ms: int
) -> NightSummary:
    start, end = night_window(night, params)
    readings = store.readings(node, start, end)
    cramps = store.cramps(node, start, end)
    bins = {(r.ts_ms - start) // BIN_MS for r in readings}
    total = math.ceil((end - start) / BIN_MS)
    temps = [r.temperature_c for r in readings]
    hums = [r.humidity_pct for r in readings if r.humidity_pct is not None]
    coverage = len(bins) / total
    return NightSummary(
        night=night,
        start_ms=start,
        end_ms=end,
        n_readings=len(readings),
        coverage=coverage,
        valid=coverage >= params.min_coverage,
        min_temp_c=min(temps) if temps else None,
        mean_temp_c=sum(temps) / len(temps) if temps else None,
        mean_humidity_pct=sum(hums) / len(hums) if hums else None,
        cramps=len(cramps),
        finished=end <= now_ms,
    )


def list_nights(
    store: Store, node: str, params: NightParams, now_ms: int, *, limit: int = 30, offset: int = 0
) -> list[NightSummary]:
    """Nights with any reading, newest first (the current night included, unfinished)."""
    first = store.readings(node, limit=1)
    if not first:
        return []
    tz = ZoneInfo(params.timezone)
    newest = datetime.fromtimestamp(now_ms / 1000, tz=tz).date()
    oldest = datetime.fromtimestamp(first[0].ts_ms / 1000, tz=tz).date() - timedelta(days=1)
    out, d, skipped = [], newest, 0
    while d >= oldest and len(out) < limit:
        start, _ = night_window(d, params)
        if start <= now_ms:
            s = summarize(store, node, d, params, now_ms)
            if s.n_readings:
                if skipped >= offset:
                    out.append(s)
                else:
                    skipped += 1
        d -= timedelta(days=1)
    return out
