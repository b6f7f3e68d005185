"""Small but tricky input pairs (readings.csv, cramps.csv) for checking the evidence contract.

Each Dataset holds UTC-millisecond readings and cramps plus the analysis flags; write() puts
them in the import format with deliberately mixed UTC offsets, fractional seconds and
duplicate rows, so the importer's parsing is part of what is checked.
"""

from __future__ import annotations

import csv
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.oracle.spec_oracle import Params, ms_text

MIN_MS = 60_000
BIN_MS = 300_000
DAY_MS = 86_400_000


def local_ms(tz: str, y: int, mo: int, d: int, h: int, mi: int, s: int = 0, fold: int = 0) -> int:
    """A local wall-clock time in tz as UTC milliseconds (fold picks a doubled hour)."""
    dt = datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(tz), fold=fold)
    return round(dt.timestamp() * 1000)


@dataclass
class Dataset:
    name: str
    tz: str
    readings: list[tuple[int, float, float | None]]
    cramps: list[int]
    night_start: str = "20:00"
    night_end: str = "08:00"
    min_coverage: float = 0.8
    cold_below: float = 18.0
    duplicates: int = 0  # this many rows written twice (identical)
    extra_flags: list[str] = field(default_factory=list)
    as_of: str | None = None  # the time of the analysis (ISO 8601); default: newest reading

    def params(self) -> Params:
        return Params(self.tz, self.night_start, self.night_end, self.min_coverage, self.cold_below)

    def flags(self) -> list[str]:
        """The analyze flags; defaults are spelled out only when they differ."""
        out = ["--timezone", self.tz]
        if self.night_start != "20:00":
            out += ["--night-start", self.night_start]
        if self.night_end != "08:00":
            out += ["--night-end", self.night_end]
        if self.min_coverage != 0.8:
            out += ["--min-coverage", repr(self.min_coverage)]
        if self.cold_below != 18.0:
            out += ["--cold-below", repr(self.cold_below)]
        return out

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(self.name)
        zone = ZoneInfo(self.tz)
        fixed = [timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-3))]
        rows = []
        for i, (ms, temp, hum) in enumerate(self.readings):
            stamp = _stamp(ms, i, zone, fixed)
            rows.append([stamp, f"{temp:.2f}", "" if hum is None else f"{hum:.1f}"])
        copies = []
        for i in rng.sample(range(len(rows)), min(self.duplicates, len(rows))):
            again = list(rows[i])
            again[0] = _stamp(self.readings[i][0], i + 1, zone, fixed)  # same instant, new offset
            copies.append(again)
        for again in copies:  # identical values: a true duplicate, whichever copy is kept
            rows.insert(rng.randrange(len(rows) + 1), again)
        r_path, c_path = folder / "readings.csv", folder / "cramps.csv"
        with open(r_path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "temperature_c", "humidity_pct"])
            w.writerows(rows)
        with open(c_path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "leg", "severity", "note"])
            for i, ms in enumerate(self.cramps):
                leg = ["left", "right", "", "both"][i % 4]
                sev = "" if i % 3 == 0 else str(1 + i % 5)
                w.writerow([_stamp(ms, i, zone, fixed), leg, sev, "calf, woke up" if i % 5 else ""])
            if self.cramps:  # the first cramp again, in another offset: the same cramp
                w.writerow([_stamp(self.cramps[0], 1, zone, fixed), "left", "2", "again"])
        return r_path, c_path


def _stamp(ms: int, i: int, zone: ZoneInfo, fixed) -> str:
    """Rotate Z, the site's own offset, +05:30 and -03:00; every 7th has milliseconds."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    kind = i % 4
    if kind == 1:
        dt = dt.astimezone(zone)
    elif kind >= 2:
        dt = dt.astimezone(fixed[kind - 2])
    text = dt.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.replace("+00:00", "Z") if kind == 0 else text


def night_of(tz: str, ms: int) -> date:
    """The 20:00-08:00 night a local instant belongs to (noon splits the days)."""
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo(tz))
    return local.date() if local.hour >= 12 else local.date() - timedelta(days=1)


def synth(
    name: str,
    tz: str,
    first: date,
    days: int,
    *,
    seed: int = 1,
    mins: dict[date, float] | None = None,
    mean_min: float = 17.5,
    spread: float = 2.0,
    step_s: int = 300,
    phase_s: int = 60,
    start_clock: tuple[int, int] = (12, 0),
    jitter_s: int = 0,
    gaps: list[tuple[int, int]] = (),
    cramp_slope: float = 0.9,
    cramp_base: float = -1.0,
    cramp_nights: set[date] | None = None,
    extra_cramps: list[int] = (),
    **kw,
) -> Dataset:
    """Readings from local noon of `first` for `days` days; nightly minimum per night.

    A night's temperature dips to its minimum around 04:00 local; cramp nights are drawn
    with a logistic chance that rises as the night gets colder (or given explicitly).
    """
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    start = local_ms(tz, first.year, first.month, first.day, *start_clock) + phase_s * 1000
    end = start + days * DAY_MS - (start_clock[0] - 12) * 3_600_000 * 2
    mins = dict(mins or {})
    for k in range(-1, days + 1):
        d = first + timedelta(days=k)
        mins.setdefault(d, round(rng.gauss(mean_min, spread), 2))
    readings = []
    t = start
    while t < end:
        ms = t + (rng.randint(-jitter_s, jitter_s) * 1000 if jitter_s else 0)
        t += step_s * 1000
        if any(a <= ms < b for a, b in gaps):
            continue
        local = datetime.fromtimestamp(ms / 1000, zone)
        d = local.date() if local.hour >= 12 else local.date() - timedelta(days=1)
        hours_from_4 = abs(
            (ms - local_ms(tz, *(d + timedelta(days=1)).timetuple()[:3], 4, 0)) / 3_600_000
        )
        temp = mins[d] + 0.35 * hours_from_4 + rng.random() * 0.2
        hum = None if rng.random() < 0.02 else round(45 + rng.random() * 10, 1)
        readings.append((ms, round(temp, 2), hum))
    cramps = list(extra_cramps)
    for k in range(days):
        d = first + timedelta(days=k)
        if cramp_nights is not None:
            hit = d in cramp_nights
        else:
            z = cramp_base + cramp_slope * (18.0 - mins[d])
            hit = rng.random() < 1 / (1 + math.exp(-z))
        if hit:
            at = local_ms(tz, d.year, d.month, d.day, 20, 0) + rng.randint(0, 11 * 3600) * 1000
            cramps.append(at + rng.randint(0, 999))
    readings.sort()
    return Dataset(name, tz, readings, sorted(set(cramps)), **kw)


def seasonal_person(
    name: str,
    tz: str,
    first: date,
    days: int,
    *,
    seed: int,
    season_c: float = 2.5,
    weather_c: float = 1.2,
    season_logit: float = 1.2,
    room_logit: float = 0.0,
    base_logit: float = -1.8,
    **kw,
) -> Dataset:
    """A room that is colder in winter, and cramps that may follow the season, the room or both.

    season = cos(2 pi (day of year - 15) / 365.25) is +1 in mid-January. The night minimum is
    17.5 - season_c * season + weather; the log odds of a cramp night are
    base_logit + season_logit * season + room_logit * (17.5 - minimum): with room_logit = 0
    the room has no effect at all and only the calendar drives the cramps.
    """
    rng = random.Random(seed)
    mins: dict[date, float] = {}
    nights: set[date] = set()
    for k in range(-1, days + 1):
        d = first + timedelta(days=k)
        season = math.cos(2 * math.pi * (d.timetuple().tm_yday - 15) / 365.25)
        mins[d] = round(17.5 - season_c * season + rng.gauss(0, weather_c), 2)
        z = base_logit + season_logit * season + room_logit * (17.5 - mins[d])
        if 0 <= k < days and rng.random() < 1 / (1 + math.exp(-z)):
            nights.add(d)
    return synth(name, tz, first, days, seed=seed, mins=mins, cramp_nights=nights, **kw)


def analysis_time(ds: Dataset, wall_ms: int | None = None) -> str:
    """The time of the analysis (contract v3's as_of), given to both sides as `--as-of`:
    the dataset's own, else its newest reading (what the product's default gives once the
    clock has passed the data), else the wall clock."""
    if ds.as_of is not None:
        return ds.as_of
    if ds.readings:
        return ms_text(max(r[0] for r in ds.readings))
    return ms_text(wall_ms if wall_ms is not None else time.time_ns() // 1_000_000)


def keep_bins(ds: Dataset, night_start_ms: int, night_end_ms: int, keep: int) -> Dataset:
    """Drop readings so the night [start, end) has exactly `keep` occupied 5-minute bins.

    The dropped bins are the last ones of the night: one multi-hour gap before night_end.
    """
    cut = night_start_ms + keep * BIN_MS
    ds.readings = [r for r in ds.readings if not (cut <= r[0] < night_end_ms)]
    return ds


def pin_min(ds: Dataset, start_ms: int, end_ms: int, value: float) -> Dataset:
    """Make `value` the night's exact minimum (one reading equals it, none is below)."""
    inside = [i for i, r in enumerate(ds.readings) if start_ms <= r[0] < end_ms]
    for i in inside:
        ms, temp, hum = ds.readings[i]
        ds.readings[i] = (ms, max(temp, value + 0.01), hum)
    ms, _, hum = ds.readings[inside[len(inside) // 2]]
    ds.readings[inside[len(inside) // 2]] = (ms, value, hum)
    return ds


def _d(y, m, d) -> date:
    return date(y, m, d)


def all_datasets() -> list[Dataset]:
    out = []

    # Southern hemisphere, clocks go back 03:00 -> 02:00 on Sun 5 April 2026; month edge.
    tz = "Australia/Sydney"
    extra = [
        local_ms(tz, 2026, 4, 5, 2, 30, fold=0),  # the first 02:30 of the doubled hour
        local_ms(tz, 2026, 4, 5, 2, 30, fold=1) + 17_000,  # ... and the second one
        local_ms(tz, 2026, 4, 9, 2, 30),  # referent on 5 April is doubled -> fold=0
        local_ms(tz, 2026, 4, 1, 3, 0),  # first day of a month (night of 31 March)
        local_ms(tz, 2026, 3, 31, 23, 30),  # last day of a month
    ]
    out.append(synth("sydney-april", tz, _d(2026, 3, 14), 34, seed=2, extra_cramps=extra))
    # ... and the 13-hour night of 4 April holds 125 of its 156 bins: 0.801, valid.
    keep_bins(out[-1], local_ms(tz, 2026, 4, 4, 20, 0), local_ms(tz, 2026, 4, 5, 8, 0), 125)

    # Clocks go forward 02:00 -> 03:00 on Sun 4 October 2026: 02:30 does not exist.
    extra = [local_ms(tz, 2026, 10, 10, 2, 30), local_ms(tz, 2026, 10, 1, 0, 5)]
    out.append(synth("sydney-october", tz, _d(2026, 9, 20), 30, seed=3, extra_cramps=extra))
    # ... and the 11-hour night of 3 October holds 105 of its 132 bins: 0.795, not valid.
    keep_bins(out[-1], local_ms(tz, 2026, 10, 3, 20, 0), local_ms(tz, 2026, 10, 4, 8, 0), 105)

    # New York: DST from Sun 8 March (02:00 missing) and to Sun 1 Nov (01:00-02:00 doubled).
    tz = "America/New_York"
    extra = [local_ms(tz, 2026, 3, 12, 2, 30), local_ms(tz, 2026, 3, 31, 7, 59, 59)]
    out.append(synth("new-york-march", tz, _d(2026, 2, 25), 33, seed=4, extra_cramps=extra))
    keep_bins(out[-1], local_ms(tz, 2026, 3, 7, 20, 0), local_ms(tz, 2026, 3, 8, 8, 0), 106)
    extra = [
        local_ms(tz, 2026, 11, 1, 1, 30, fold=1),
        local_ms(tz, 2026, 11, 5, 1, 30),
        local_ms(tz, 2026, 10, 31, 23, 0),
    ]
    out.append(
        synth(
            "new-york-november", tz, _d(2026, 10, 18), 30, seed=5, jitter_s=100, extra_cramps=extra
        )
    )

    # UTC: exact night boundaries, daytime cramps, two cramps in one night, duplicates.
    tz = "UTC"
    extra = [
        local_ms(tz, 2026, 6, 3, 20, 0),  # exactly night_start: in the night of 3 June
        local_ms(tz, 2026, 6, 5, 8, 0),  # exactly night_end: daytime, left out
        local_ms(tz, 2026, 6, 6, 7, 59, 59),  # last second of the night of 5 June
        local_ms(tz, 2026, 6, 8, 14, 0),  # afternoon nap cramp: daytime
        local_ms(tz, 2026, 6, 9, 19, 59, 59),  # a second before the night
        local_ms(tz, 2026, 6, 10, 22, 0),  # two cramps in one night ...
        local_ms(tz, 2026, 6, 11, 5, 0),  # ... of 10 June
    ]
    out.append(
        synth(
            "utc-boundaries",
            tz,
            _d(2026, 5, 25),
            30,
            seed=6,
            mean_min=18.0,
            phase_s=0,  # readings exactly at cramp instants and window edges
            extra_cramps=extra,
            duplicates=400,
        )
    )
    for d in (27, 29):  # minimum exactly at the threshold: not cold ("strictly below")
        pin_min(out[-1], local_ms(tz, 2026, 5, d, 20, 0), local_ms(tz, 2026, 5, d + 1, 8, 0), 18.0)

    # +05:30: night bins from 14:30 UTC; irregular 2-minute readings.
    tz = "Asia/Kolkata"
    out.append(
        synth(
            "kolkata",
            tz,
            _d(2026, 1, 10),
            28,
            seed=7,
            step_s=120,
            jitter_s=50,
            mean_min=17,
            start_clock=(20, 50),  # the first and last nights are partly covered
            extra_cramps=[
                local_ms(tz, 2026, 1, 3, 23, 0),  # nights without any reading
                local_ms(tz, 2026, 2, 20, 2, 0),
                local_ms(tz, 2026, 1, 10, 21, 0),  # in the partly covered first night
            ],
        )
    )

    # Europe/Berlin spring: the 11-hour night of 28 March; coverage just above/below 80 %.
    tz = "Europe/Berlin"
    ds = synth("berlin-spring-coverage", tz, _d(2026, 3, 12), 26, seed=8, phase_s=1)
    for (y, m, d), keep in {
        (2026, 3, 28): 106,  # 106/132 = 0.803 (11-hour night): valid
        (2026, 3, 27): 116,  # 116/144: valid
        (2026, 3, 25): 115,  # 115/144 = 0.7986: not valid
        (2026, 3, 20): 105,  # 105/144: not valid
    }.items():
        nxt = date(y, m, d) + timedelta(days=1)
        keep_bins(ds, local_ms(tz, y, m, d, 20, 0), local_ms(tz, *nxt.timetuple()[:3], 8, 0), keep)
    ds.cramps.append(local_ms(tz, 2026, 3, 29, 2, 30) + 3 * 3_600_000)
    out.append(ds)

    # Europe/Berlin autumn: the 13-hour night of 24 October, 125/156 valid, 124/156 not.
    ds = synth("berlin-autumn-coverage", tz, _d(2026, 10, 10), 26, seed=9, phase_s=299)
    for (y, m, d), keep in {(2026, 10, 24): 124, (2026, 10, 25): 125, (2026, 10, 23): 125}.items():
        nxt = date(y, m, d) + timedelta(days=1)
        keep_bins(ds, local_ms(tz, y, m, d, 20, 0), local_ms(tz, *nxt.timetuple()[:3], 8, 0), keep)
    ds.cramps += [local_ms(tz, 2026, 10, 25, 2, 30, fold=1), local_ms(tz, 2026, 10, 31, 2, 30)]
    ds.cramps.sort()
    out.append(ds)

    # Too few nights: 10 days of data.
    out.append(synth("too-few-nights", "Europe/London", _d(2026, 2, 1), 10, seed=10))

    # Perfect separation: every cramp night colder than every other night.
    first = _d(2026, 11, 2)
    mins = {
        first + timedelta(days=k): (15.0 + k * 0.1 if k % 3 == 0 else 19.0 + k * 0.1)
        for k in range(20)
    }
    out.append(
        synth(
            "perfect-separation",
            "Europe/London",
            first,
            20,
            seed=11,
            mins=mins,
            cramp_nights={d for d, m in mins.items() if m < 17},
        )
    )

    # No cold night at all, and every night cold.
    out.append(
        synth(
            "no-cold-nights",
            "America/New_York",
            _d(2026, 7, 1),
            20,
            seed=12,
            mean_min=21,
            spread=1.0,
            cramp_base=2.5,
        )
    )
    out.append(
        synth(
            "all-cold-nights",
            "Australia/Sydney",
            _d(2026, 7, 1),
            20,
            seed=13,
            mean_min=14,
            spread=1.0,
        )
    )

    # Relative risk with a = 0 (no cold cramp night) and with c = 0 (no warm cramp night).
    first = _d(2026, 5, 1)
    mins = {first + timedelta(days=k): 16.0 + (k % 5) for k in range(24)}
    cold = {d for d, m in mins.items() if m < 18}
    warm = set(mins) - cold
    out.append(
        synth(
            "rr-zero-cold-cramps",
            "UTC",
            first,
            24,
            seed=14,
            mins=dict(mins),
            cramp_nights=set(sorted(warm)[::2]),
        )
    )
    out.append(
        synth(
            "rr-zero-warm-cramps",
            "UTC",
            first,
            24,
            seed=15,
            mins=dict(mins),
            cramp_nights=set(sorted(cold)[::2]),
        )
    )

    # Fewer than 5 usable cramps for the case-crossover (logistic still defined).
    first = _d(2026, 8, 3)
    out.append(
        synth(
            "four-cramps",
            "Europe/Paris",
            first,
            22,
            seed=16,
            cramp_nights={first + timedelta(days=k) for k in (1, 6, 11, 17)},
        )
    )

    # Custom flags: 22:30-06:15, coverage 0.75, cold below 16.5 °C.
    out.append(
        synth(
            "custom-flags",
            "Europe/London",
            _d(2026, 3, 14),
            30,
            seed=17,
            mean_min=16.5,
            night_start="22:30",
            night_end="06:15",
            min_coverage=0.75,
            cold_below=16.5,
            jitter_s=120,
        )
    )
    tz = "Europe/London"
    pin_min(out[-1], local_ms(tz, 2026, 3, 20, 22, 30), local_ms(tz, 2026, 3, 21, 6, 15), 16.5)

    # 22:00-06:20 is exactly 100 bins; 55/100 >= 0.55 although 0.55 * 100 > 55 in floats.
    tz = "Europe/Madrid"
    ds = synth(
        "float-coverage-edge",
        tz,
        _d(2026, 1, 5),
        24,
        seed=18,
        night_start="22:00",
        night_end="06:20",
        min_coverage=0.55,
    )
    for d in (8, 12, 15):
        keep_bins(ds, local_ms(tz, 2026, 1, d, 22, 0), local_ms(tz, 2026, 1, d + 1, 6, 20), 55)
    keep_bins(ds, local_ms(tz, 2026, 1, 20, 22, 0), local_ms(tz, 2026, 1, 21, 6, 20), 54)
    out.append(ds)

    # A night_end that a clock change makes missing (29 March 02:30) or doubled (1 Nov 01:30):
    # zoneinfo's fold=0 reading, so the night of 28 March ends at 01:30 UTC (6.5 hours), and
    # the night of 31 October ends at the first 01:30 (EDT); 01:20 EST is already daytime.
    tz = "Europe/Berlin"
    out.append(
        synth(
            "berlin-night-end-in-gap",
            tz,
            _d(2026, 3, 14),
            25,
            seed=20,
            night_end="02:30",
            extra_cramps=[
                local_ms(tz, 2026, 3, 29, 1, 59, 59),
                local_ms(tz, 2026, 3, 29, 3, 29, 59),  # == 02:29:59 +01:00: before the end
                local_ms(tz, 2026, 3, 29, 3, 30),  # == 02:30 +01:00: daytime
            ],
        )
    )
    tz = "America/New_York"
    out.append(
        synth(
            "new-york-night-end-doubled",
            tz,
            _d(2026, 10, 18),
            25,
            seed=21,
            night_start="21:00",
            night_end="01:30",
            min_coverage=0.9,
            extra_cramps=[
                local_ms(tz, 2026, 11, 1, 1, 20, fold=0),  # in the night of 31 October
                local_ms(tz, 2026, 11, 1, 1, 20, fold=1),  # after its end: daytime
                local_ms(tz, 2026, 11, 2, 1, 29, 59),
            ],
        )
    )

    # Five cramps in the one bitterly cold night: every case is colder than all its
    # referents (separation inside the conditional logit).
    tz = "Europe/Lisbon"
    first = _d(2026, 12, 3)
    mins = {first + timedelta(days=k): 17.0 + (k * 7 % 5) * 0.6 for k in range(20)}
    mins[_d(2026, 12, 13)] = 9.0
    out.append(
        synth(
            "cc-separation",
            tz,
            first,
            20,
            seed=24,
            mins=mins,
            cramp_nights=set(),
            extra_cramps=[local_ms(tz, 2026, 12, 13 + (h < 12), h, 10) for h in (22, 0, 2, 4, 6)],
        )
    )

    # The literal "D to D+1" when night_start is before night_end: 30.5-hour nights that
    # overlap (a cramp can fall in two of them). And a night_start in the spring-forward gap.
    out.append(
        synth(
            "literal-d-plus-1",
            "Europe/Berlin",
            _d(2026, 3, 14),
            25,
            seed=30,
            night_start="00:30",
            night_end="07:00",
        )
    )
    out.append(
        synth(
            "night-start-in-gap",
            "Europe/Berlin",
            _d(2026, 3, 14),
            25,
            seed=30,
            night_start="02:30",
            night_end="01:00",
        )
    )

    # Lord Howe Island shifts its clocks by 30 minutes: 11.5- and 12.5-hour nights.
    tz = "Australia/Lord_Howe"
    out.append(
        synth(
            "lord-howe-half-hour-dst",
            tz,
            _d(2026, 3, 22),
            24,
            seed=25,
            phase_s=17,
            extra_cramps=[
                local_ms(tz, 2026, 4, 5, 1, 45, fold=1),  # the doubled half hour
                local_ms(tz, 2026, 4, 11, 1, 45),  # referent on 5 April -> fold=0
            ],
        )
    )

    # No readings at all: the cramp is in no valid night.
    out.append(
        Dataset(
            "no-readings",
            "Europe/Oslo",
            [],
            [local_ms("Europe/Oslo", 2026, 1, 5, 23, 0)],
            as_of="2026-01-07T12:00:00+01:00",
        )
    )

    # Too little data: one night and one cramp; three weeks without a single cramp.
    out.append(
        synth("one-night", "Asia/Tokyo", _d(2026, 4, 2), 1, seed=22, cramp_nights={_d(2026, 4, 2)})
    )
    out.append(
        synth("no-cramps", "Pacific/Auckland", _d(2026, 9, 15), 21, seed=23, cramp_nights=set())
    )

    # Multi-hour gaps everywhere (sensor unplugged), which also starve referent exposures.
    tz = "America/Sao_Paulo"
    gaps = [
        (local_ms(tz, 2026, 9, d, h, 0), local_ms(tz, 2026, 9, d, h, 0) + (2 + d % 3) * 3_600_000)
        for d, h in [(3, 21), (5, 1), (8, 3), (10, 23), (14, 0), (17, 2), (21, 5), (24, 22)]
    ]
    out.append(synth("gappy-sao-paulo", tz, _d(2026, 9, 1), 29, seed=19, gaps=gaps, jitter_s=80))
    out += version_2_datasets()
    out += version_3_datasets()
    return out


def version_3_datasets() -> list[Dataset]:
    """Separation decides the verdict at a look; a fit without information (spec version 3)."""
    out = []
    tz = "Europe/Madrid"
    first = _d(2025, 11, 3)
    mins = {first + timedelta(days=k): 17.0 + (k * 7 % 11) * 0.5 for k in range(-1, 101)}
    # In every half-month the cramp nights are exactly its coldest (or warmest): infinite
    # odds ratio, reported as separated with the score test's p, which decides the look.
    for name, hit in (
        ("look-separated-colder", lambda m: m <= 17.5),
        ("look-separated-warmer", lambda m: m >= 21.5),
    ):
        nights = {d for d, m in mins.items() if hit(m) and first <= d < first + timedelta(100)}
        out.append(synth(name, tz, first, 100, seed=51, mins=dict(mins), cramp_nights=nights))
    # At the 90-night look p = 0.0139: below version 2's 0.0158, not below 0.0135.
    out.append(
        seasonal_person(
            "look-between-0.0135-and-0.0158",
            "Europe/Madrid",
            _d(2025, 11, 3),
            95,
            seed=114,
            room_logit=0.35,
            season_logit=0.0,
        )
    )
    # Every night's minimum exactly 17.0 °C: the seasonal fit holds no information (null).
    tz = "Europe/Warsaw"
    first = _d(2026, 1, 5)
    ds = synth(
        "equal-minimums",
        tz,
        first,
        22,
        seed=52,
        mean_min=17.3,
        spread=0.0,
        cramp_nights={first + timedelta(days=k) for k in (1, 4, 9, 12, 17, 20)},
    )
    for k in range(22):
        d = first + timedelta(days=k)
        nxt = d + timedelta(days=1)
        pin_min(
            ds,
            local_ms(tz, d.year, d.month, d.day, 20, 0),
            local_ms(tz, nxt.year, nxt.month, nxt.day, 8, 0),
            17.0,
        )
    out.append(ds)
    return out


def version_2_datasets() -> list[Dataset]:
    """The seasonal comparison, the planned looks and the unfinished night (spec version 2)."""
    out = []

    # A cause of cramps that peaks in winter, and no room effect at all: the crude logistic
    # regression says colder nights go with more cramps (interval above 1); the comparison
    # within months, at the 180-night look, does not. Crosses two clock changes.
    out.append(
        seasonal_person(
            "seasonal-cause-no-room-effect", "Europe/Vienna", _d(2025, 9, 15), 200, seed=8
        )
    )

    # A room effect, 105 valid nights (five nights lost early on, so the first 90 valid
    # nights are not the first 90 calendar nights): at the 90-night look p = 0.038, between
    # the per-look level 0.0158 and 0.05 (inconclusive), while all 105 nights give p = 0.011.
    tz = "Europe/Madrid"
    lost = [(2025, 11, 10), (2025, 11, 20), (2025, 12, 1), (2025, 12, 15), (2025, 12, 24)]
    gaps = [(local_ms(tz, *ymd, 21, 0), local_ms(tz, *ymd, 21, 0) + 8 * 3_600_000) for ymd in lost]
    out.append(
        seasonal_person(
            "look-between-the-levels",
            tz,
            _d(2025, 11, 3),
            110,
            seed=19,
            room_logit=0.35,
            season_logit=0.0,
            gaps=gaps,
        )
    )
    # Warmer nights, more cramps: `contradicts` at the 90-night look.
    out.append(
        seasonal_person(
            "look-contradicts",
            tz,
            _d(2025, 11, 3),
            110,
            seed=4,
            room_logit=-0.5,
            season_logit=0.0,
            gaps=gaps,
        )
    )

    # Far in the future (ahead of any clock, so the time of the analysis is the newest
    # reading): readings stop at 07:00 in the 91st night, which then holds 132 of its 144
    # bins and a cramp, but has not ended. 90 valid nights: exactly the first look.
    tz = "Europe/Dublin"
    ds = synth(
        "unfinished-last-night",
        tz,
        _d(2090, 10, 2),
        91,
        seed=31,
        extra_cramps=[local_ms(tz, 2091, 1, 1, 3, 15)],
    )
    cut = local_ms(tz, 2091, 1, 1, 7, 0)
    ds.readings = [r for r in ds.readings if r[0] < cut]
    out.append(ds)

    # Version 3: an as_of inside the data, with an offset and microseconds (truncated to
    # milliseconds): the night that holds it is not valid, rows after it do not exist (a
    # cramp 1 ms after it, a colder reading right after it), and the look is the first.
    tz = "Europe/Madrid"
    ds = seasonal_person(
        "as-of-inside-the-data",
        tz,
        _d(2025, 11, 3),
        110,
        seed=19,
        room_logit=0.35,
        season_logit=0.0,
    )
    at = local_ms(tz, 2026, 2, 10, 3, 17, 45) + 678
    ds.cramps = sorted({*ds.cramps, at + 1, at - 3_600_000})
    ds.as_of = (
        datetime.fromtimestamp(at / 1000, timezone(timedelta(hours=-3, minutes=-30)))
        .isoformat(timespec="milliseconds")
        .replace(".678-", ".678999-")
    )
    out.append(ds)

    # Strata with a single cramp night each; the cramps of the nights of 31 January and 28
    # February fall after midnight, on the next month's first day.
    tz = "Europe/Rome"
    out.append(
        synth(
            "one-cramp-night-per-month",
            tz,
            _d(2026, 1, 5),
            86,
            seed=32,
            cramp_nights=set(),
            extra_cramps=[
                local_ms(tz, 2026, 2, 1, 2, 0),
                local_ms(tz, 2026, 3, 1, 3, 0),
                local_ms(tz, 2026, 3, 15, 23, 0),
            ],
        )
    )
    # Two cramp nights in informative months (January, February) and a third in March,
    # whose only valid night it is (not informative): the seasonal comparison is null.
    out.append(
        synth(
            "two-informative-cramp-nights",
            tz,
            _d(2026, 1, 10),
            51,
            seed=33,
            cramp_nights={_d(2026, 1, 20), _d(2026, 2, 12), _d(2026, 3, 1)},
        )
    )

    # A month boundary eight hours behind UTC: the night of 31 October starts at 03:00 UTC
    # on 1 November, is 13 hours long (clocks go back), and its cramps fall on 1 November.
    tz = "America/Los_Angeles"
    out.append(
        synth(
            "los-angeles-month-boundary",
            tz,
            _d(2026, 10, 8),
            50,
            seed=34,
            extra_cramps=[
                local_ms(tz, 2026, 11, 1, 0, 40),
                local_ms(tz, 2026, 11, 1, 1, 30, fold=1),
                local_ms(tz, 2026, 9, 30, 23, 0),  # before the data: no night
            ],
        )
    )
    return out


def by_name() -> dict[str, Dataset]:
    return {d.name: d for d in all_datasets()}


if __name__ == "__main__":  # python -m tests.oracle.datasets OUTDIR
    import json
    import sys

    from tests.oracle.spec_oracle import analyze_files

    root = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/oracle-datasets")
    for ds in all_datasets():
        r, c = ds.write(root / ds.name)
        res = analyze_files(r, c, ds.params())
        print(
            ds.name,
            len(ds.readings),
            len(ds.cramps),
            json.dumps(res["nights"]),
            json.dumps(res["table"]),
            res["verdict"],
            "cc" if res["case_crossover"] else "cc-null",
            "lg" if res["logistic"] else "lg-null",
            "rr",
            res["relative_risk"],
        )
