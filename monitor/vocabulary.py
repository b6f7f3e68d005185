"""The domain's words, defined once: what a cramp may say, what a node id and a
time of day look like.  Every entry point (CLI, web, API, MQTT, CSV, store)
checks against these, so they cannot drift apart.
"""

from __future__ import annotations

import functools
import re
from datetime import time

from monitor.clock import MAX_INSTANT_MS, MIN_INSTANT_MS

LEGS = ("left", "right", "both")
REMEDIES = ("stretch", "reposition", "heat", "massage", "other")
SOURCES = ("button", "web", "cli", "import", "mqtt")
CRAMP_FIELDS = ("leg", "severity", "note", "remedy", "relief_min")
NOTE_MAX_CHARS = 2000

# In a note: any text but control characters (newline, CR-LF and tab are fine) and lone
# surrogates, which cannot even be stored as UTF-8.
_NOTE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)")
NOTE_RULE = (
    f"note must be text of at most {NOTE_MAX_CHARS} characters, without control characters"
    " (newlines and tabs are fine)"
)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 night', '2 nights' ('1 valid night', not '1 valid nights')."""
    return f"{n} {word if n == 1 else many or word + 's'}"


NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NODE_ID_RULE = "must be 1-64 letters, digits, '-' or '_'"
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def is_node_id(text: object) -> bool:
    return isinstance(text, str) and bool(NODE_ID.match(text))


def is_clock_time(text: object) -> bool:
    return isinstance(text, str) and bool(CLOCK_TIME.match(text))


@functools.lru_cache(maxsize=64)
def parse_clock(text: str) -> time:
    """'HH:MM' (24-hour) as a time of day; ValueError otherwise.  Cached: every night
    window parses the same two settings (a year of a thousand rooms: 730,000 calls)."""
    if not is_clock_time(text):
        raise ValueError(f"not a time of day as HH:MM: {text!r}")
    h, m = text.split(":")
    return time(int(h), int(m))


def validate_cramp_fields(values: dict) -> None:
    """Raise ValueError naming the first bad optional cramp field."""
    leg = values.get("leg")
    if leg is not None and leg not in LEGS:
        raise ValueError(f"leg must be one of {', '.join(LEGS)}, got {leg!r}")
    severity = values.get("severity")
    if severity is not None and (
        isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5
    ):
        raise ValueError(f"severity must be a whole number from 1 to 5, got {severity!r}")
    remedy = values.get("remedy")
    if remedy is not None and remedy not in REMEDIES:
        raise ValueError(f"remedy must be one of {', '.join(REMEDIES)}, got {remedy!r}")
    relief = values.get("relief_min")
    if relief is not None and (
        isinstance(relief, bool)
        or not isinstance(relief, int | float)
        or not 0 <= relief <= 24 * 60
        or relief != relief
    ):
        raise ValueError(f"relief_min must be minutes from 0 to 1440, got {relief!r}")
    note = values.get("note")
    if note is not None:
        if not isinstance(note, str) or len(note) > NOTE_MAX_CHARS:
            raise ValueError(NOTE_RULE)
        bad = _NOTE_BAD.search(note)
        if bad:
            raise ValueError(f"{NOTE_RULE}; found U+{ord(bad.group()[0]):04X}")
    ts = values.get("ts_ms")
    if ts is not None and (
        isinstance(ts, bool) or not isinstance(ts, int) or not MIN_INSTANT_MS <= ts < MAX_INSTANT_MS
    ):
        raise ValueError("ts_ms must be an integer instant between 1970 and 2199")
