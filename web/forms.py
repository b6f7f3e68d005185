"""Strict parsing of cramp fields from HTML forms and JSON bodies.

Every problem is a ValueError naming the field; nothing is written until the
whole input has been checked (the store validates again on write).
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.clock import (
    FUTURE_SLACK_MS,
    RELEASE_DATE_MS,
    InstantError,
    live_problem,
    parse_instant,
)
from monitor.vocabulary import CRAMP_FIELDS, LEGS, REMEDIES, validate_cramp_fields

JSON_FIELDS = (*CRAMP_FIELDS, "ts")


def check_instant(ts_ms: int, now_ms: int, field: str = "ts") -> int:
    """monitor.clock.live_problem, the rule of every entry point, in the form's words."""
    if live_problem(ts_ms, now_ms) is None:
        return ts_ms
    if ts_ms < RELEASE_DATE_MS:
        raise ValueError(f"{field} is before this software existed; check the date")
    assert ts_ms > now_ms + FUTURE_SLACK_MS
    raise ValueError(f"{field} is in the future")


def from_json(body: object, now_ms: int, *, partial: bool) -> dict:
    """Validate a JSON object of cramp fields; returns store keyword arguments."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    unknown = sorted(set(body) - set(JSON_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(JSON_FIELDS)})")
    out: dict = {}
    for key in CRAMP_FIELDS:
        if key in body:
            out[key] = body[key]
    if isinstance(out.get("note"), str):
        out["note"] = out["note"].strip() or None
    if isinstance(out.get("relief_min"), float) and math.isinf(out["relief_min"]):
        raise ValueError("relief_min must be minutes from 0 to 1440")
    validate_cramp_fields(out)
    if "ts" in body:
        if not isinstance(body["ts"], str):
            raise ValueError("ts must be an ISO 8601 instant with an offset (2026-09-15T03:12Z)")
        try:
            out["ts_ms"] = check_instant(parse_instant(body["ts"]), now_ms)
        except InstantError as exc:
            raise ValueError(f"ts: {exc}") from None
    elif not partial:
        out["ts_ms"] = now_ms
    return out


def from_form(form, tz: ZoneInfo, now_ms: int) -> dict:
    """The cramp details form (all text fields; empty means 'not given')."""
    out: dict = {}
    leg = form.get("leg", "").strip()
    if leg and leg not in LEGS:
        raise ValueError(f"leg must be one of {', '.join(LEGS)}")
    out["leg"] = leg or None
    sev = form.get("severity", "").strip()
    if sev:
        if sev not in ("1", "2", "3", "4", "5"):
            raise ValueError("severity must be a whole number from 1 to 5")
        out["severity"] = int(sev)
    else:
        out["severity"] = None
    remedy = form.get("remedy", "").strip()
    if remedy and remedy not in REMEDIES:
        raise ValueError(f"remedy must be one of {', '.join(REMEDIES)}")
    out["remedy"] = remedy or None
    relief = form.get("relief_min", "").strip()
    if relief:
        try:
            value = float(relief)
        except ValueError:
            raise ValueError("minutes to relief must be a number") from None
        if not math.isfinite(value) or not 0 <= value <= 1440:
            raise ValueError("minutes to relief must be from 0 to 1440")
        out["relief_min"] = value
    else:
        out["relief_min"] = None
    note = form.get("note", "")
    if len(note) > 2000:
        raise ValueError("note must be at most 2000 characters")
    out["note"] = note.strip() or None
    when = form.get("when", "").strip()
    if when:
        try:
            local = datetime.strptime(when, "%Y-%m-%dT%H:%M")
        except ValueError:
            raise ValueError("time must look like 2026-09-15T03:12") from None
        ts = round(local.replace(tzinfo=tz).timestamp() * 1000)
        out["ts_ms"] = check_instant(ts, now_ms, "time")
    validate_cramp_fields(out)
    return out
