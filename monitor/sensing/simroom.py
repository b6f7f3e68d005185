"""A deterministic model of a bedroom's air: the simulated sensor and the demo history.

Pure functions of (instant, time zone, seed): the room cools through the
evening toward a minimum around 04:00-05:00 local time and warms after the
heating comes on in the morning; each night has its own weather (some nights
stay warm, some drop well below 18 °C).  Sensor noise and failed reads are
added by the simulated sensor, not here.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

try:  # hashlib's own blake2b, without hashlib's OpenSSL (libcrypto) for the daemon's sake
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b


def _unit(seed: int, key: str) -> float:
    """A stable pseudo-random number in [0, 1) for (seed, key)."""
    digest = blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def night_offset_c(day: date, seed: int) -> float:
    """How much colder (negative) or warmer this night is than usual: about ±3 °C."""
    a = _unit(seed, f"night:{day.isoformat()}")
    b = _unit(seed, f"night2:{day.isoformat()}")
    # Slow weather (a few days) plus a night-to-night part.
    slow = math.sin((day.toordinal() + 100 * _unit(seed, "phase")) / 4.0)
    return 1.6 * slow + 3.2 * (a - 0.5) + 1.0 * (b - 0.5)


def room(ts_ms: int, tz: str | ZoneInfo, seed: int = 1) -> tuple[float, float]:
    """(temperature °C, relative humidity %) of the simulated room at an instant."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(zone)
    hour = local.hour + local.minute / 60 + local.second / 3600
    # The night a moment belongs to: evenings and early mornings share one offset.
    night_day = local.date() if hour >= 12 else date.fromordinal(local.date().toordinal() - 1)
    offset = night_offset_c(night_day, seed)
    day_temp = 20.6
    if 7 <= hour < 21:  # heating on / daytime: warm, gentle afternoon bump
        temp = day_temp + 0.6 * math.sin((hour - 7) / 14 * math.pi)
        if hour < 9:  # morning warm-up from the night's minimum
            low = day_temp - max(0.4, 2.4 - offset)
            temp = low + (temp - low) * (hour - 7) / 2
    else:  # night: exponential-ish cooling to a minimum at ~04:30, then flat
        h = hour - 21 if hour >= 21 else hour + 3  # hours since 21:00
        depth = max(0.4, 2.4 - offset)  # how far below the day temperature the night goes
        temp = day_temp - depth * min(1.0, (1 - math.exp(-h / 3.0)) / (1 - math.exp(-7.5 / 3.0)))
    humidity = 48 + 6 * (day_temp - temp) / 3 + 4 * (_unit(seed, f"rh:{night_day}") - 0.5)
    return round(temp, 3), round(min(95.0, max(20.0, humidity)), 2)
