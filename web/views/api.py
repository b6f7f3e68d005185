"""The JSON API (contract): readings, nights, cramps, evidence, health, OpenAPI.

Errors are ``{"error": reason}`` with the right status; bodies are checked
completely before anything is written.  Every write is ``@write_required(api=True)``
(web.views.common): the password when one is set, and JSON (or the CSRF header) for
a POST.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from datetime import date, datetime

from flask import Blueprint, abort, jsonify, request

from monitor import nights as nights_mod
from monitor.clock import FUTURE_SLACK_MS, InstantError, iso_utc, parse_instant
from monitor.store import corruption_message
from web import evidence, forms
from web.openapi import spec
from web.views.common import chosen_room, config, data, ext, write_required

bp = Blueprint("api", __name__)

MAX_RANGE_MS = 31 * 86_400_000
MAX_LIMIT = 1000


def node_arg() -> str:
    """?node= (404 unless it is a known room), else the browser's room (the cookie)."""
    wanted = request.args.get("node")
    if wanted is not None:
        ids = [n["id"] for n in data().nodes()]
        if wanted not in ids:
            abort(404, f"no such node {wanted!r}")
        return wanted
    return chosen_room()


def int_arg(name: str, default: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) > high:
        abort(400, f"{name} must be a whole number from 0 to {high}")
    return int(raw)


def cramp_json(c) -> dict:
    return {
        "id": c.id,
        "node": c.node,
        "ts": iso_utc(c.ts_ms),
        "leg": c.leg,
        "severity": c.severity,
        "note": c.note,
        "remedy": c.remedy,
        "relief_min": c.relief_min,
        "source": c.source,
        "deleted": c.deleted,
    }


def json_body(required: bool = True) -> object:
    if not request.data and not required:
        return {}
    if not request.is_json:
        abort(415, "send the body as application/json")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # '[' * 1000: the parser gives up before the size limit does
        abort(400, "the body is nested too deeply to be a cramp")
    if body is None:
        abort(400, "the body is not valid JSON")
    return body


@bp.get("/api/current")
def current():
    cur = data().current(node_arg())
    return jsonify(
        {
            "node": cur.node,
            "reading": None
            if cur.ts_ms is None
            else {
                "ts": iso_utc(cur.ts_ms),
                "temperature_c": cur.temperature_c,
                "humidity_pct": cur.humidity_pct,
                "age_s": cur.age_s,
            },
            "alerts": [
                {"kind": a["kind"], "since": iso_utc(a["start_ms"]), "min_temp_c": a["min_temp_c"]}
                for a in cur.alerts
            ],
            "sensor_health": cur.health,
            "cramps_tonight": cur.cramps_tonight,
            "last_cramp": iso_utc(cur.last_cramp_ms) if cur.last_cramp_ms else None,
            "version": cur.version,
        }
    )


@bp.get("/api/readings")
def readings():
    try:
        lo = parse_instant(request.args.get("from", ""))
        hi = parse_instant(request.args.get("to", ""))
    except InstantError as exc:
        abort(400, f"from and to must be ISO 8601 instants with an offset: {exc}")
    if hi <= lo:
        abort(400, "to must be after from")
    if hi - lo > MAX_RANGE_MS:
        abort(400, "the range may span at most 31 days; ask for several ranges")
    rows = data().reader().readings(node_arg(), lo, hi)
    return jsonify(
        {
            "node": node_arg(),
            "readings": [
                {
                    "ts": iso_utc(r.ts_ms),
                    "temperature_c": r.temperature_c,
                    "humidity_pct": r.humidity_pct,
                }
                for r in rows
            ],
        }
    )


def _fields(obj) -> dict:
    """A night summary's fields, whatever record type the nights module uses."""
    if dataclasses.is_dataclass(obj):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if hasattr(obj, "_asdict"):
        return dict(obj._asdict())
    return dict(vars(obj))


def night_json(n) -> dict:
    out = {}
    for key, value in _fields(n).items():
        if key.endswith("_ms") and isinstance(value, int) and not isinstance(value, bool):
            out[key[:-3]] = iso_utc(value)
        elif isinstance(value, date | datetime):
            out[key] = value.isoformat()
        elif value is None or isinstance(value, str | int | float | bool):
            out[key] = value
    if out.get("cold") is None:
        threshold = config().analysis.cold_below_c
        out["cold"] = None if n.min_temp_c is None else n.min_temp_c < threshold
    return out


@bp.get("/api/nights")
def nights():
    d = data()
    limit = int_arg("limit", 30, 366)
    offset = int_arg("offset", 0, 100_000)
    rows = nights_mod.list_nights(
        d.reader(), node_arg(), d.params, d.now_ms(), limit=limit, offset=offset
    )
    return jsonify({"node": node_arg(), "nights": [night_json(n) for n in rows]})


@bp.get("/api/cramps")
def cramps():
    limit = int_arg("limit", 100, MAX_LIMIT)
    offset = int_arg("offset", 0, 10_000_000)
    include_deleted = request.args.get("include_deleted", "0")
    if include_deleted not in ("0", "1", "true", "false"):
        abort(400, "include_deleted must be 0 or 1")
    rows = (
        data()
        .reader()
        .cramps(
            node_arg(),
            include_deleted=include_deleted in ("1", "true"),
            newest_first=True,
            limit=limit,
            offset=offset,
        )
    )
    return jsonify({"node": node_arg(), "cramps": [cramp_json(c) for c in rows]})


@bp.post("/api/cramps")
@write_required(api=True)
def add_cramp():
    body = json_body()
    d = data()
    now = d.now_ms()
    try:
        fields = forms.from_json(body, now, partial=False)
    except ValueError as exc:
        abort(400, str(exc))
    ts = fields.pop("ts_ms")
    cramp, created = d.writer().add_cramp(node_arg(), ts, source="web", now_ms=now, **fields)
    return jsonify({"created": created, "cramp": cramp_json(cramp)}), 201 if created else 200


def _existing(cramp_id: int):
    cramp = data().reader().get_cramp(cramp_id) if cramp_id < 2**63 else None
    if cramp is None:
        abort(404, f"no cramp with id {cramp_id}")
    return cramp


@bp.patch("/api/cramps/<int:cramp_id>")
@write_required(api=True)
def patch_cramp(cramp_id: int):
    body = json_body()
    _existing(cramp_id)
    d = data()
    try:
        changes = forms.from_json(body, d.now_ms(), partial=True)
        cramp = d.writer().update_cramp(cramp_id, now_ms=d.now_ms(), **changes)
    except ValueError as exc:
        abort(409 if "another cramp" in str(exc) else 400, str(exc))
    if cramp is None:
        abort(404, f"no cramp with id {cramp_id}")
    return jsonify({"cramp": cramp_json(cramp)})


@bp.delete("/api/cramps/<int:cramp_id>")
@write_required(api=True)
def delete_cramp(cramp_id: int):
    _existing(cramp_id)
    cramp = data().writer().delete_cramp(cramp_id, now_ms=data().now_ms())
    return jsonify({"cramp": cramp_json(cramp), "restore": f"/api/cramps/{cramp_id}/restore"})


@bp.post("/api/cramps/<int:cramp_id>/restore")
@write_required(api=True)
def restore_cramp(cramp_id: int):
    body = json_body()
    if not isinstance(body, dict) or body:
        abort(400, "the body must be an empty JSON object ({}): a restore takes no fields")
    _existing(cramp_id)
    cramp = data().writer().restore_cramp(cramp_id, now_ms=data().now_ms())
    return jsonify({"cramp": cramp_json(cramp)})


@bp.get("/api/evidence")
def evidence_json():
    d = data()
    node = node_arg()
    view = evidence.load(d, ext()["job"], node)
    stored = view.report
    return jsonify(
        {
            "node": node,
            "report": stored.report if stored else None,
            "verdict_sentence": view.sentence,
            "computed": iso_utc(stored.created_ms) if stored else None,
            "data_version": stored.data_version if stored else None,
            "stale": view.stale,
            "computing": view.computing,
        }
    )


INTEGRITY_EVERY_S = 600.0  # /healthz runs SQLite's quick_check at most this often


def database_damage() -> str | None:
    """Why the database is damaged (seen by a request, or quick_check), else None."""
    state = ext()
    if state.get("damaged"):
        return state["damaged"]
    mono = state["clock"].monotonic()
    checked = state.get("integrity")
    if checked is not None and mono - checked[0] < INTEGRITY_EVERY_S:
        return checked[1]
    # quick_check reads the whole file (seconds on an SD card after years): one request
    # runs it; the Now page's polls meanwhile answer with what was known before.
    lock = state.setdefault("integrity_lock", threading.Lock())
    if not lock.acquire(blocking=checked is None):
        return checked[1]
    try:
        store = data().reader()
        found = None
        if store.quick_check():
            found = corruption_message(store.path, tables=store.damaged_tables())
        state["integrity"] = (mono, found)
        return found
    finally:
        lock.release()


@bp.get("/healthz")
def healthz():
    d = data()
    damaged = database_damage()
    if damaged:
        return jsonify({"ok": False, "error": damaged}), 503
    store = d.reader()
    newest = store.newest_reading(d.config.node.id, until_ms=d.now_ms() + FUTURE_SLACK_MS)
    return jsonify(
        {
            "ok": True,
            "schema_version": store.schema_version(),
            "newest_reading": iso_utc(newest.ts_ms) if newest else None,
            "report_running": ext()["job"].running(),
        }
    )


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())
