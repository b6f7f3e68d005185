"""The evidence page's data: the stored report, its freshness, and chart inputs.

No statistics are computed here (scipy/statsmodels stay out of the web
process): the report comes from the store; the charts only count nights.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from dataclasses import dataclass
from datetime import timedelta

from monitor import nights as nights_mod
from monitor import reports as reports_mod
from monitor.store import Store

MAX_CHART_NIGHTS = 3660
log = logging.getLogger(__name__)


@dataclass
class EvidenceView:
    node: str
    report: object | None  # reports.StoredReport
    stale: bool
    computing: bool
    sentence: str | None
    computed_words: str | None
    error: str | None


def finished_night_end(data, now_ms: int) -> int:
    """End of the most recent night that is over."""
    night = data.tonight_or_last(now_ms)
    end = nights_mod.night_window(night, data.params)[1]
    if end > now_ms:
        end = nights_mod.night_window(night - timedelta(days=1), data.params)[1]
    return end


def is_stale(store: Store, data, node: str, stored, now_ms: int) -> bool:
    """Missing, older than the data (imports, cramp edits), or older than the last night."""
    if stored is None:
        return store.newest_reading(node) is not None
    if stored.data_version < store.data_version():
        return True
    end = finished_night_end(data, now_ms)
    if stored.created_ms < end:
        newest = store.newest_reading(node)
        return newest is not None and newest.ts_ms >= end - 3_600_000
    return False


def computed_words(data, created_ms: int, now_ms: int) -> str:
    created = data.local(created_ms)
    days = (data.local(now_ms).date() - created.date()).days
    clock = created.strftime("%H:%M")
    if days <= 0:
        return f"computed {clock} today"
    if days == 1:
        return f"computed {clock}, 1 night ago"
    return f"computed {clock}, {days} nights ago"


def load(data, job, node: str) -> EvidenceView:
    store = data.reader()
    now = data.now_ms()
    try:
        stored = reports_mod.latest_report(store, node)
    except sqlite3.Error as exc:  # e.g. the reports table's migration is not applied yet
        log.warning("cannot read the stored report for %s: %s", node, exc)
        stored = None
    stale = is_stale(store, data, node, stored, now)
    if stale:
        job.start(node)
    sentence = reports_mod.verdict_sentence(stored.report) if stored else None
    return EvidenceView(
        node=node,
        report=stored,
        stale=stale,
        computing=job.running(),
        sentence=sentence,
        computed_words=computed_words(data, stored.created_ms, now) if stored else None,
        error=job.last_error if stale and not job.running() else None,
    )


class ChartCache:
    """Rendered evidence charts, cached per node and key: they change about once a night."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple, dict]] = {}

    def get(self, node: str, key: tuple, build) -> dict:
        with self._lock:
            hit = self._cache.get(node)
            if hit and hit[0] == key:
                return hit[1]
        value = build()
        with self._lock:
            self._cache[node] = (key, value)
        return value


def chart_inputs(data, node: str) -> dict:
    store = data.reader()
    nights = nights_mod.list_nights(store, node, data.params, data.now_ms(), limit=MAX_CHART_NIGHTS)
    valid = [n for n in nights if n.valid and n.finished and n.min_temp_c is not None]
    cramp = [n.min_temp_c for n in valid if n.cramps > 0]
    free = [n.min_temp_c for n in valid if n.cramps == 0]
    bands: dict[int, list[int]] = {}
    for n in valid:
        band = math.floor(n.min_temp_c)
        bands.setdefault(band, [0, 0])
        bands[band][0] += 1
        bands[band][1] += 1 if n.cramps > 0 else 0
    band_rows = [(f"{b}–{b + 1}", c / t if t else None, t) for b, (t, c) in sorted(bands.items())]
    return {"cramp": cramp, "free": free, "bands": band_rows, "valid": len(valid)}


def dose_response(report: dict) -> list[tuple[str, float | None, int]] | None:
    """The report's own cramp rate by 1 °C band, when the analysis stored one."""
    rows = report.get("dose_response")
    if not isinstance(rows, list) or not rows:
        return None
    out = []
    for row in rows:
        if not isinstance(row, dict):
            return None
        low = row.get("band_low_c", row.get("low_c", row.get("low", row.get("band"))))
        n = row.get("nights", row.get("n"))
        rate = row.get("rate", row.get("cramp_rate"))
        if rate is None and isinstance(n, int) and n:
            c = row.get("cramp_nights", row.get("cramps"))
            rate = c / n if isinstance(c, int | float) else None
        if not isinstance(low, int | float) or not isinstance(n, int):
            return None
        label = f"{low:g}–{low + 1:g}"
        out.append((label, rate if isinstance(rate, int | float) else None, n))
    return out


def nights_needed(report: dict) -> int | None:
    """How many more nights would settle it, wherever the analysis put the number."""
    for key in ("nights_needed", "more_nights_needed"):
        value = report.get(key)
        if isinstance(value, int | float):
            return int(value)
    power = report.get("power")
    if isinstance(power, dict):
        for key in ("nights_needed", "more_nights_needed", "additional_nights"):
            value = power.get(key)
            if isinstance(value, int | float):
                return int(value)
    return None


SPEC_KEYS = {
    "nights",
    "cold_threshold_c",
    "table",
    "fisher_p",
    "relative_risk",
    "mann_whitney",
    "logistic",
    "case_crossover",
    "verdict",
    "dose_response",
    "nights_needed",
}


def extra_figures(report: dict) -> list[tuple[str, str]]:
    """The report's keys beyond the spec (humidity, power, ...) as readable rows."""
    rows = []
    for key, value in report.items():
        if key in SPEC_KEYS:
            continue
        label = key.replace("_", " ")
        if _scalar(value):
            rows.append((label, _show(value)))
        elif isinstance(value, dict) and value and all(_scalar(v) for v in value.values()):
            rows.append(
                (label, ", ".join(f"{k.replace('_', ' ')} {_show(v)}" for k, v in value.items()))
            )
    return rows


def _scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
