"""Cramps: the list with the remedy table, and the form writes (log, edit, delete, restore)."""

from __future__ import annotations

import functools
import re
import statistics

from flask import Blueprint, abort, redirect, render_template, request, url_for

from monitor.vocabulary import LEGS, REMEDIES
from web import forms
from web.views.common import data, page_arg, room, safe_next, write_required

bp = Blueprint("cramps", __name__)

CRAMPS_PER_PAGE = 30
RESTORABLE_DAYS = 30  # deleted cramps listed for restoring
MAX_ID = 2**63 - 1  # SQLite's largest integer


def existing_cramp(view):
    """Look <cramp_id> up (deleted ones too) and pass it as ``cramp``, else 404.

    Where this stands among a view's decorators says what comes first: the edit
    form answers 404 for a missing cramp before any write check, delete and restore
    check the write first.
    """

    @functools.wraps(view)
    def looked_up(cramp_id: int, **kwargs):
        cramp = data().reader().get_cramp(cramp_id) if cramp_id <= MAX_ID else None
        if cramp is None:
            abort(404, "no such cramp")
        return view(cramp=cramp, **kwargs)

    return looked_up


MIN_TO_COMPARE = 5  # fewer timed cramps than this with a remedy: its median means little


def remedy_table(cramps) -> list[dict]:
    """Which remedies brought relief fastest (median minutes), best first; a remedy with
    fewer than MIN_TO_COMPARE timed cramps is listed after them, unranked ("too few")."""
    by: dict[str, list[float]] = {}
    for c in cramps:
        if c.remedy and c.relief_min is not None:
            by.setdefault(c.remedy, []).append(c.relief_min)
    rows = [
        {
            "remedy": r,
            "count": len(v),
            "median": statistics.median(v),
            "comparable": len(v) >= MIN_TO_COMPARE,
        }
        for r, v in by.items()
    ]
    return sorted(rows, key=lambda row: (not row["comparable"], row["median"], -row["count"]))


def _id_arg(name: str) -> int | None:
    """An optional cramp id from the query string; anything else is ignored."""
    raw = request.args.get(name, "")
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else None


@bp.get("/cramps")
def index():
    page = page_arg()
    store = data().reader()
    node = room()
    rows = store.cramps(
        node, newest_first=True, limit=CRAMPS_PER_PAGE + 1, offset=page * CRAMPS_PER_PAGE
    )
    deleted = _id_arg("deleted")
    deleted_cramp = store.get_cramp(deleted) if deleted else None
    if deleted_cramp is not None and not deleted_cramp.deleted:
        deleted_cramp = None
    # Deletions (a 3-s hold on the button, or ✕ here) stay restorable: list the recent ones.
    since = data().now_ms() - RESTORABLE_DAYS * 86_400_000
    recently_deleted = [
        c for c in store.cramps(node, since, include_deleted=True, newest_first=True) if c.deleted
    ][:20]
    return render_template(
        "cramps.html",
        recently_deleted=recently_deleted if page == 0 else [],
        cramps=rows[:CRAMPS_PER_PAGE],
        more=len(rows) > CRAMPS_PER_PAGE,
        page_no=page,
        remedies=remedy_table(store.cramps(node)),
        min_to_compare=MIN_TO_COMPARE,
        deleted=deleted_cramp,
        saved=_id_arg("saved"),
        page="cramps",
    )


@bp.post("/cramps/log")
@write_required
def log():
    d = data()
    now = d.now_ms()
    cramp, _ = d.writer().add_cramp(room(), now, source="web", now_ms=now)
    back = safe_next("/")  # where Skip goes; the Now page (the default) needs no parameter
    extra = {} if back == "/" else {"next": back}
    return redirect(url_for("cramps.edit", cramp_id=cramp.id, new=1, room=room(), **extra))


@bp.route("/cramps/<int:cramp_id>/edit", methods=["GET", "POST"])
@existing_cramp
@write_required
def edit(cramp):
    d = data()
    error = None
    if request.method == "POST":
        try:
            changes = forms.from_form(request.form, d.tz, d.now_ms())
            original = d.local(cramp.ts_ms).strftime("%Y-%m-%dT%H:%M")
            if request.form.get("when", "").strip() == original:
                changes.pop("ts_ms", None)
            updated = d.writer().update_cramp(cramp.id, now_ms=d.now_ms(), **changes)
            if updated is None:
                abort(404, "no such cramp")
            return redirect(url_for("cramps.index", room=updated.node, saved=updated.id))
        except ValueError as exc:
            error = str(exc)
    status = 400 if error else 200
    return (
        render_template(
            "cramp_edit.html",
            cramp=cramp,
            new=request.args.get("new") == "1",
            error=error,
            legs=LEGS,
            remedies=REMEDIES,
            back=safe_next("/" if request.args.get("new") == "1" else "/cramps"),
            form=request.form if error else None,
            page="cramps",
        ),
        status,
    )


@bp.post("/cramps/<int:cramp_id>/delete")
@write_required
@existing_cramp
def delete(cramp):
    d = data()
    # Also the Undo after "Log a cramp": a soft delete, as the button's long press makes;
    # the cramps page then says so, focused, with Restore.
    d.writer().delete_cramp(cramp.id, now_ms=d.now_ms())
    return redirect(url_for("cramps.index", deleted=cramp.id, room=cramp.node))


@bp.post("/cramps/<int:cramp_id>/restore")
@write_required
@existing_cramp
def restore(cramp):
    d = data()
    d.writer().restore_cramp(cramp.id, now_ms=d.now_ms())
    return redirect(url_for("cramps.index", saved=cramp.id))
