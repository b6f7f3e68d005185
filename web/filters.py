"""Jinja filters: local times in the node's zone, temperatures, ages in words."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from monitor import nights
from monitor.config import Config


def age_words(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min ago"
    return f"{s // 86400} days ago"


def register(app: Flask, config: Config) -> None:
    tz = ZoneInfo(config.node.timezone)
    params = app.extensions["bedside"]["data"].params  # the dashboard's own night window
    clock = app.extensions["bedside"]["clock"]

    def night_name(night) -> str:
        """'Tonight · Sat 05 → Sun 06 Dec' (monitor.nights.night_name at this request's now)."""
        return nights.night_name(night, clock.now_ms(), params)

    def moment(ms: int | None) -> str:
        """'02:42 tonight', '02:42 last night', … (monitor.nights.moment_name)."""
        return "—" if ms is None else nights.moment_name(ms, clock.now_ms(), params)

    def local(ms: int | None, fmt: str = "%H:%M") -> str:
        if ms is None:
            return "—"
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).strftime(fmt)

    def temp(value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    def num(value, digits: int = 2) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            if abs(value) < 0.001 and value != 0:
                return f"{value:.1e}"
            return f"{value:.{digits}f}"
        return str(value)

    def signed(value: float | None, digits: int = 1) -> str:
        """+0.3, −0.2, and 0.0 for anything that rounds to zero (never "-0.0")."""
        if value is None:
            return "—"
        text = f"{abs(value):.{digits}f}"
        if float(text) == 0:
            return text
        return ("+" if value > 0 else "\u2212") + text

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    app.jinja_env.filters.update(
        local=local,
        temp=temp,
        num=num,
        pct=pct,
        age=age_words,
        signed=signed,
        night_name=night_name,
        night_dates=nights.night_dates,
        moment=moment,
    )
