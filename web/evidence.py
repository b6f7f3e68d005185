"""The evidence page's data: the stored report, its freshness, and chart inputs.

No statistics are computed here (scipy/statsmodels stay out of the web
process): the report comes from the store; the charts only count nights.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import timedelta

from monitor import nights as nights_mod
from monitor.analysis import reports as reports_mod
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
    stored = reports_mod.latest_report(store, node)  # None before migration 0003 too
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
    """The report's cramp rate by 1 °C band of the night minimum (rows from_c, to_c, rate,
    nights), or None for a report without one."""
    rows = report.get("dose_response")
    if not rows:
        return None
    return [(f"{r['from_c']:g}–{r['to_c']:g}", r["rate"], r["nights"]) for r in rows]


def nights_needed(report: dict) -> int | None:
    """How many more valid nights would settle it (the analysis's own estimate)."""
    return report.get("nights_needed")


# Shown by the page's own sections, not again among the extra figures.
SHOWN_ELSEWHERE = reports_mod.CONTRACT_KEYS | {
    "dose_response",
    "nights_needed",
    "summary",
    "params",
    "node",
}


def extra_figures(report: dict) -> list[tuple[str, str]]:
    """The report's keys beyond the spec (humidity, power, ...) as readable rows."""
    rows = []
    for key, value in report.items():
        if key in SHOWN_ELSEWHERE:
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
