"""CSV import and export in the format of shared/analysis-spec.md.

Import is all or nothing: the whole file is parsed and checked first; the first
bad rows are reported with their line numbers and nothing is written.  Rows
are idempotent by (node, instant), so importing a file twice changes nothing.
Export writes the same format, so export -> import round-trips.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import math
import re
import sys
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TextIO

from monitor.clock import InstantError, SystemClock, future_problem, iso_utc, parse_instant
from monitor.mqtt.payloads import HUMIDITY_RANGE, TEMPERATURE_RANGE
from monitor.store import Reading, Store, span
from monitor.vocabulary import CRAMP_FIELDS, validate_cramp_fields

READINGS_HEADER = ["timestamp", "temperature_c", "humidity_pct"]
CRAMPS_HEADER = ["timestamp", "leg", "severity", "note"]
CRAMPS_OPTIONAL = ["remedy", "relief_min"]
MAX_ERRORS_SHOWN = 10

# A text cell a spreadsheet would run as a formula (=, +, -, @, and any whitespace before
# them, per OWASP's "CSV injection"), also behind quotes we added: exported with one more
# leading apostrophe, which the import takes off again.  A note that starts or ends with
# whitespace is marked the same way, because the import trims the cells of hand-made
# files; so every note round-trips exactly.  Only text cells (the note): numbers such as
# -3.5 °C stay numbers.
_FORMULA = re.compile(r"'*[=+\-@\s]")


def _marked(text: str) -> bool:
    return bool(_FORMULA.match(text)) or text[-1:].isspace()


def neutralise(text: str) -> str:
    return "'" + text if _marked(text) else text


def unneutralise(cell: str) -> str:
    """neutralise's inverse; an unmarked cell (a hand-made file) is trimmed."""
    if cell.startswith("'") and _marked(cell[1:]):
        return cell[1:]
    return cell.strip()


log = logging.getLogger(__name__)


class CsvError(Exception):
    """A file that cannot be imported; ``errors`` name the lines. Nothing was written."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportResult:
    rows: int  # rows in the file
    added: int  # rows that were new
    nodes: list[str]
    repeated: int = 0  # rows whose node and instant an earlier row of the file has

    @property
    def already_stored(self) -> int:
        return self.rows - self.added - self.repeated


def _open_rows(stream: TextIO, required: list[str], optional: list[str], name: str):
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvError(
            [f"{name}: line 1: empty file, expected header {','.join(required)}"]
        ) from None
    except csv.Error as exc:
        raise CsvError([f"{name}: line 1: {exc}"]) from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [h for h in required if h not in header]
    allowed = set(required) | set(optional) | {"node"}
    unknown = [h for h in header if h not in allowed]
    if missing or unknown or len(set(header)) != len(header):
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if len(set(header)) != len(header):
            problems.append("repeated column names")
        raise CsvError(
            [f"{name}: line 1: bad header ({'; '.join(problems)}); expected {','.join(required)}"]
        )
    return header, reader


def _iter_records(reader, header, name, errors) -> Iterator[tuple[int, dict]]:
    width = len(header)
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                errors.append(f"{name}: line {line}: expected {width} fields, found {len(row)}")
                continue
            yield line, dict(zip(header, row, strict=True))
    except csv.Error as exc:
        errors.append(f"{name}: line {reader.line_num}: {exc}")


def _float(text: str, label: str, bounds: tuple[float, float], required: bool) -> float | None:
    text = text.strip()
    if not text:
        if required:
            raise ValueError(f"{label} is empty")
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{label} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{label} {text!r} is not a finite number")
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{label} {value} is outside {bounds[0]:g}..{bounds[1]:g}")
    return value


def _node_of(record: dict, default: str) -> str:
    node = record.get("node", "").strip()
    if not node:
        return default
    if not all(c.isalnum() or c in "-_" for c in node) or len(node) > 64:
        raise ValueError(f"node {node!r} must be 1-64 letters, digits, '-' or '_'")
    return node


# 'MM:SSZ' -> milliseconds, for the fast timestamp path below.
_MINUTE_SECOND_MS = {
    f"{m:02d}:{sec:02d}Z": m * 60_000 + sec * 1000 for m in range(60) for sec in range(60)
}


class _Instants:
    """parse_instant with a fast path for the common 'YYYY-MM-DDTHH:MM:SSZ' form.

    'YYYY-MM-DDTHH:' is parsed once by parse_instant and cached; 'MM:SSZ' is
    looked up.  Anything else goes through parse_instant (same results, same
    errors); the import benchmark (bench/bench_import.py) is why this exists.
    """

    def __init__(self):
        self.hours: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        base = self.hours.get(text[:14])
        if base is not None:
            offset = _MINUTE_SECOND_MS.get(text[14:])
            if offset is not None:
                return base + offset
        return self.slow(text)

    def slow(self, text: str) -> int:
        if len(text) == 20 and text[13] == ":" and text[14:] in _MINUTE_SECOND_MS:
            try:
                base = parse_instant(text[:14] + "00:00Z")
            except InstantError:
                return parse_instant(text)
            self.hours[text[:14]] = base
            return base + _MINUTE_SECOND_MS[text[14:]]
        return parse_instant(text)


def _check_instants(
    by_node: dict[str, list], lines: dict[str, array], name: str, now_ms: int | None, values
) -> None:
    """Say (a warning naming the lines) which rows are stamped in the future and which
    instants appear twice with different values; import them all the same.

    The analysis contract's import format decides this, not taste: a row with the same
    node and instant as an earlier one *is* that row (the first one read stays), and
    the contract's own example data hold both cases (an hour written twice around a
    clock change; data running past this machine's clock).  A future-stamped row can
    no longer freeze recording (the clock guard trusts only the daemon's own readings,
    the relay and /api/current hold such rows back), and `bedside prune-future` lists
    and removes them.  ``values(row)`` is what a row says; its instant is ``_ts_of(row)``.
    """
    now_ms = SystemClock().now_ms() if now_ms is None else now_ms
    future: list[str] = []
    conflicts: list[str] = []
    for node, rows in by_node.items():
        at = lines[node]
        stamps = [_ts_of(r) for r in rows]
        if stamps and max(stamps) > now_ms:
            for i, ts in enumerate(stamps):
                problem = future_problem(ts, now_ms)
                if problem:
                    future.append(f"line {at[i]}: {problem}")
        if all(a < b for a, b in itertools.pairwise(stamps)):
            continue  # the usual file: in order, one row per instant
        first: dict[int, int] = {}
        for i, ts in enumerate(stamps):
            j = first.setdefault(ts, i)
            if j != i and values(rows[j]) != values(rows[i]):
                conflicts.append(
                    f"line {at[i]}: {iso_utc(ts)}{_of(node, by_node)} is also on line"
                    f" {at[j]} with other values ({_said(values(rows[j]))} there,"
                    f" {_said(values(rows[i]))} here)"
                )
    if conflicts:
        log.warning(
            "%s: %d rows repeat an earlier row's instant with other values; the first one"
            " read is kept (same node and instant = same row): %s%s",
            name,
            len(conflicts),
            "; ".join(conflicts[:MAX_ERRORS_SHOWN]),
            " ..." if len(conflicts) > MAX_ERRORS_SHOWN else "",
        )
    if future:
        log.warning(
            "%s: %d rows are stamped in the future (%s%s); they are imported, the live"
            " view and MQTT hold them back, and `bedside prune-future` lists and removes them",
            name,
            len(future),
            "; ".join(future[:3]),
            " ..." if len(future) > 3 else "",
        )


def _ts_of(row) -> int:
    return row["ts_ms"] if isinstance(row, dict) else row[1]


def _of(node: str, by_node: dict) -> str:
    return f" for {node}" if len(by_node) > 1 else ""


def _said(values) -> str:
    if isinstance(values, dict):
        return ", ".join(f"{k} {v!r}" for k, v in values.items() if v is not None) or "no details"
    return " °C, ".join("-" if v is None else f"{v:g}" for v in values) + " %RH"


def _reading_values(row) -> tuple:
    return row[2], row[3]


def _cramp_values(fields: dict) -> dict:
    return {k: fields.get(k) for k in CRAMP_FIELDS}


def _reading_row(rec: dict, node: str) -> tuple[str, int, float, float | None]:
    """One CSV record as (node, ts_ms, temperature, humidity); ValueError says what is wrong."""
    ts = parse_instant(rec["timestamp"])
    temp = _float(rec["temperature_c"], "temperature_c", TEMPERATURE_RANGE, True)
    hum = _float(rec["humidity_pct"], "humidity_pct", HUMIDITY_RANGE, False)
    return _node_of(rec, node), ts, temp, hum


ReadingRow = tuple[str, int, float, float | None]


def parse_reading_rows(
    stream: TextIO,
    node: str,
    name: str = "readings.csv",
    progress: Callable[[int], None] | None = None,
    now_ms: int | None = None,
) -> dict[str, list[ReadingRow]]:
    """Parse a readings CSV into {node: [(node, ts_ms, temperature, humidity)]}.

    CsvError names the bad lines (unreadable ones); rows stamped in the future (after
    ``now_ms``, default the clock) and rows for one instant that disagree are imported
    with a warning naming their lines (see _check_instants).  The tuples go
    straight into Store.add_reading_rows (no object per row: a year is a million rows).
    """
    return _reading_rows_and_lines(stream, node, name, progress, now_ms)[0]


def _reading_rows_and_lines(stream, node, name, progress, now_ms):
    header, reader = _open_rows(stream, READINGS_HEADER, [], name)
    if header == READINGS_HEADER:
        by_node, lines = _parse_plain_rows(reader, header, node, name, progress)
    else:
        errors: list[str] = []
        by_node = defaultdict(list)
        lines = defaultdict(lambda: array("q"))
        for line, rec in _iter_records(reader, header, name, errors):
            try:
                row = _reading_row(rec, node)
                by_node[row[0]].append(row)
                lines[row[0]].append(line)
            except (InstantError, ValueError) as exc:
                errors.append(f"{name}: line {line}: {exc}")
            if len(errors) >= MAX_ERRORS_SHOWN:
                break
            if progress and line % 20000 == 0:
                progress(line)
        if errors:
            raise CsvError(errors)
    _check_instants(by_node, lines, name, now_ms, _reading_values)
    return dict(by_node), lines


def parse_readings(
    stream: TextIO,
    node: str,
    name: str = "readings.csv",
    progress: Callable[[int], None] | None = None,
) -> dict[str, list[Reading]]:
    """Parse a readings CSV into {node: [Reading]}; CsvError names bad lines."""
    return {
        n: [Reading(ts, t, h) for _, ts, t, h in rows]
        for n, rows in parse_reading_rows(stream, node, name, progress).items()
    }


def _parse_plain_rows(reader, header, node, name, progress):
    """The usual three-column file, fast: rows that fail the quick checks take the
    careful path above, so messages and results are the same.  Returns the rows and
    their line numbers, by node."""
    errors: list[str] = []
    rows: list[ReadingRow] = []
    append = rows.append
    lines = array("q")
    mark = lines.append
    instant = _Instants()
    hours, minute_second, slow = instant.hours, _MINUTE_SECOND_MS, instant.slow
    t_lo, t_hi = TEMPERATURE_RANGE
    h_lo, h_hi = HUMIDITY_RANGE
    width = len(header)
    try:
        for row in reader:
            try:
                ts_text, t_text, h_text = row
                temp = float(t_text)
                hum = float(h_text) if h_text else None
                if not t_lo <= temp <= t_hi or (hum is not None and not h_lo <= hum <= h_hi):
                    raise ValueError
                base = hours.get(ts_text[:14])  # instant(ts_text), inlined
                offset = minute_second.get(ts_text[14:])
                ts = base + offset if base is not None and offset is not None else slow(ts_text)
                append((node, ts, temp, hum))
                mark(reader.line_num)
            except ValueError:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if len(row) != width:
                    errors.append(f"{name}: line {line}: expected {width} fields, found {len(row)}")
                else:
                    try:
                        append(_reading_row(dict(zip(header, row, strict=True)), node))
                        mark(line)
                    except (InstantError, ValueError) as exc:
                        errors.append(f"{name}: line {line}: {exc}")
                if len(errors) >= MAX_ERRORS_SHOWN:
                    break
            if progress is not None and reader.line_num % 20000 == 0:
                progress(reader.line_num)
    except csv.Error as exc:
        errors.append(f"{name}: line {reader.line_num}: {exc}")
    if errors:
        raise CsvError(errors)
    return ({node: rows} if rows else {}), {node: lines}


def parse_cramps(
    stream: TextIO, node: str, name: str = "cramps.csv", now_ms: int | None = None
) -> dict[str, list[dict]]:
    """Parse a cramps CSV into {node: [fields]}; CsvError names bad lines (cramps stamped
    in the future, and two rows for one instant that disagree, are warned about)."""
    return _cramps_and_lines(stream, node, name, now_ms)[0]


def _cramps_and_lines(stream, node, name, now_ms):
    header, reader = _open_rows(stream, CRAMPS_HEADER, CRAMPS_OPTIONAL, name)
    errors: list[str] = []
    by_node: dict[str, list[dict]] = defaultdict(list)
    lines: dict[str, array] = defaultdict(lambda: array("q"))
    for line, rec in _iter_records(reader, header, name, errors):
        try:
            fields: dict = {"ts_ms": parse_instant(rec["timestamp"])}
            fields["leg"] = rec["leg"].strip().lower() or None
            sev = rec["severity"].strip()
            if sev and not sev.isdigit():
                raise ValueError(f"severity {sev!r} must be a whole number from 1 to 5")
            fields["severity"] = int(sev) if sev else None
            fields["note"] = unneutralise(rec["note"]) or None
            fields["remedy"] = rec.get("remedy", "").strip().lower() or None
            fields["relief_min"] = _float(rec.get("relief_min", ""), "relief_min", (0, 1440), False)
            validate_cramp_fields(fields)
            owner = _node_of(rec, node)
            by_node[owner].append(fields)
            lines[owner].append(line)
        except (InstantError, ValueError) as exc:
            errors.append(f"{name}: line {line}: {exc}")
        if len(errors) >= MAX_ERRORS_SHOWN:
            break
    if errors:
        raise CsvError(errors)
    _check_instants(by_node, lines, name, now_ms, _cramp_values)
    return dict(by_node), lines


def import_readings(
    store: Store,
    stream: TextIO,
    node: str,
    name: str = "readings.csv",
    progress: Callable[[int], None] | None = None,
    *,
    clock_ms: int | None = None,
) -> ImportResult:
    """Parse everything, then write every node's rows in one transaction.  Rows stamped
    after ``clock_ms`` (default: the clock) plus a few minutes are refused."""
    by_node, lines = _reading_rows_and_lines(stream, node, name, progress, clock_ms)

    def stored(n: str, lo: int, hi: int) -> dict[int, tuple]:
        return {r.ts_ms: (r.temperature_c, r.humidity_pct) for r in store.readings(n, lo, hi)}

    with store.transaction():
        _warn_stored_conflicts(by_node, lines, name, stored, _reading_values)
        added = sum(store.add_reading_rows(n, rows) for n, rows in by_node.items())
    return _result(by_node, added)


def _result(by_node: dict, added: int) -> ImportResult:
    repeated = 0
    for rows in by_node.values():
        stamps = [_ts_of(r) for r in rows]
        if not all(a < b for a, b in itertools.pairwise(stamps)):
            repeated += len(stamps) - len(set(stamps))
    return ImportResult(sum(len(v) for v in by_node.values()), added, sorted(by_node), repeated)


def _warn_stored_conflicts(by_node: dict, lines: dict, name: str, stored, values) -> None:
    """Say (a warning naming the lines and both values) which rows disagree with the row
    already stored for their node and instant; the stored row is kept, as ever.
    ``stored(node, lo, hi)`` is {ts_ms: values} of the stored rows in [lo, hi)."""
    conflicts: list[str] = []
    for node, rows in by_node.items():
        if not rows:
            continue
        stamps = [_ts_of(r) for r in rows]
        have = stored(node, min(stamps), max(stamps) + 1)
        if not have:
            continue
        seen: set[int] = set()
        for i, (ts, row) in enumerate(zip(stamps, rows, strict=True)):
            if ts in seen:
                continue  # a repeat within the file: said by _check_instants
            seen.add(ts)
            old = have.get(ts)
            if old is not None and old != values(row):
                conflicts.append(
                    f"line {lines[node][i]}: {iso_utc(ts)}{_of(node, by_node)} is already"
                    f" stored with other values ({_said(old)} stored, {_said(values(row))}"
                    " in the file)"
                )
    if conflicts:
        log.warning(
            "%s: %d rows are already stored with other values; the stored rows are kept"
            " (same node and instant = same row; delete the stored ones first to replace"
            " them): %s%s",
            name,
            len(conflicts),
            "; ".join(conflicts[:MAX_ERRORS_SHOWN]),
            " ..." if len(conflicts) > MAX_ERRORS_SHOWN else "",
        )


def import_cramps(
    store: Store,
    stream: TextIO,
    node: str,
    now_ms: int,
    name: str = "cramps.csv",
    *,
    clock_ms: int | None = None,
) -> ImportResult:
    """``now_ms`` is the rows' creation instant; rows stamped after ``clock_ms`` (default:
    the clock) plus a few minutes are refused."""
    by_node, lines = _cramps_and_lines(stream, node, name, clock_ms)

    def stored(n: str, lo: int, hi: int) -> dict[int, dict]:
        return {
            c.ts_ms: {k: getattr(c, k) for k in CRAMP_FIELDS}
            for c in store.cramps(n, lo, hi)
            if not c.deleted
        }

    with store.transaction():
        _warn_stored_conflicts(by_node, lines, name, stored, _cramp_values)
        added = sum(
            store.add_cramps(n, rows, source="import", now_ms=now_ms) for n, rows in by_node.items()
        )
    return _result(by_node, added)


def _fmt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def export_readings(
    store: Store,
    out: IO[str],
    nodes: list[str] | None,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> int:
    """Write readings as CSV; with ``nodes`` None, every node with a node column."""
    writer = csv.writer(out, lineterminator="\n")
    all_nodes = nodes is None
    writer.writerow(READINGS_HEADER + (["node"] if all_nodes else []))
    names = [n["id"] for n in store.nodes()] if all_nodes else nodes
    count = 0
    for node in names:
        lo, _ = span(from_ms, to_ms)
        while True:  # page through, so a year of readings is not held in memory
            batch = store.readings(node, lo, to_ms, limit=50_000)
            for r in batch:
                row = [iso_utc(r.ts_ms), _fmt(r.temperature_c), _fmt(r.humidity_pct)]
                writer.writerow(row + ([node] if all_nodes else []))
            count += len(batch)
            if len(batch) < 50_000:
                break
            lo = batch[-1].ts_ms + 1
    return count


def export_cramps(
    store: Store,
    out: IO[str],
    nodes: list[str] | None,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> int:
    writer = csv.writer(out, lineterminator="\n")
    all_nodes = nodes is None
    writer.writerow(CRAMPS_HEADER + CRAMPS_OPTIONAL + (["node"] if all_nodes else []))
    cramps = []
    for node in [None] if all_nodes else nodes:
        cramps += store.cramps(node, from_ms, to_ms)
    for c in sorted(cramps, key=lambda c: (c.ts_ms, c.node)):
        row = [
            iso_utc(c.ts_ms),
            c.leg or "",
            "" if c.severity is None else c.severity,
            neutralise(c.note or ""),
            c.remedy or "",
            _fmt(c.relief_min),
        ]
        writer.writerow(row + ([c.node] if all_nodes else []))
    return len(cramps)


def open_text(path: str) -> TextIO:
    """Open a CSV path ('-' is stdin) as text, tolerating a UTF-8 BOM."""
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def count_lines(path: str) -> int | None:
    if path == "-":
        return None
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
