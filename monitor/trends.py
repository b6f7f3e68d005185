"""Trends: nights grouped by week or month (the night's evening decides its period).

Pure: night summaries and alert start instants in, one row per period out (the Trends
page draws and lists them).  Weeks start on Monday; a night belongs to the week and month
of its evening, as everywhere else (monitor.nights).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from monitor.nights import NightSummary

PERIODS = ("week", "month")
SHOWN = {"week": 16, "month": 24}  # the newest this many periods are shown


@dataclass(frozen=True)
class Period:
    start: date  # Monday of the week, or the 1st of the month
    nights: int  # nights with readings
    mean_min_c: float | None  # the average of the nights' minimums
    lowest_c: float | None  # the coldest minimum
    cold_nights: int  # nights whose minimum was below the threshold
    cramp_nights: int
    cramps: int
    alerts: int  # cold-room alerts that started in the period's nights

    def label(self, by: str) -> str:
        """'07 Dec' for the week starting Mon 07 Dec, 'Dec 2026' for a month."""
        return self.start.strftime("%d %b") if by == "week" else self.start.strftime("%b %Y")


def period_start(night: date, by: str) -> date:
    if by == "week":
        return night - timedelta(days=night.weekday())
    if by == "month":
        return night.replace(day=1)
    raise ValueError(f"by must be one of {', '.join(PERIODS)}, got {by!r}")


def group(
    nights: Sequence[NightSummary], alert_nights: Iterable[date], by: str, *, shown: int = 0
) -> list[Period]:
    """One Period per week or month that has nights, oldest first (the newest ``shown``)."""
    starts: dict[date, list[NightSummary]] = {}
    for n in nights:
        starts.setdefault(period_start(n.night, by), []).append(n)
    alerts: dict[date, int] = {}
    for night in alert_nights:
        key = period_start(night, by)
        alerts[key] = alerts.get(key, 0) + 1
    rows = []
    for start in sorted(starts):
        ns = starts[start]
        mins = [n.min_temp_c for n in ns if n.min_temp_c is not None]
        rows.append(
            Period(
                start=start,
                nights=len(ns),
                mean_min_c=sum(mins) / len(mins) if mins else None,
                lowest_c=min(mins) if mins else None,
                cold_nights=sum(1 for n in ns if n.cold),
                cramp_nights=sum(1 for n in ns if n.cramp_night),
                cramps=sum(n.cramps for n in ns),
                alerts=alerts.get(start, 0),
            )
        )
    return rows[-shown:] if shown else rows
