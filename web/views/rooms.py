"""Rooms: every room's current state, and choosing the one to look at (the room cookie)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request

from web.data import ROOM_COOKIE
from web.views.common import COOKIE_AGE, data, safe_next

bp = Blueprint("rooms", __name__)


@bp.get("/rooms")
def index():
    d = data()
    rows = []
    for node in d.nodes():
        cur = d.current(node["id"])
        rows.append({"node": node, "cur": cur})
    # Rooms the recorder refused (beyond [recorder] max_nodes): a real one is named here.
    refused = d.reader().refused_nodes()
    return render_template("rooms.html", rows=rows, refused=refused, page="rooms")


@bp.get("/room")
def choose():
    wanted = request.args.get("id", "")
    ids = [n["id"] for n in data().nodes()]
    if wanted not in ids:
        abort(404, "no such room")
    response = redirect(safe_next())
    response.set_cookie(ROOM_COOKIE, wanted, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    return response
