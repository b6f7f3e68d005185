"""Export: the page, and readings or cramps as CSV (this room's, or every room's with ?all=1)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, render_template, request

from monitor import csvio
from web.views.common import data, room

bp = Blueprint("export", __name__)


@bp.get("/export")
def index():
    return render_template("export.html", page="export")


def _csv_response(kind: str) -> Response:
    store = data().reader()
    out = io.StringIO()
    all_nodes = request.args.get("all") == "1"
    nodes = None if all_nodes else [room()]
    if kind == "readings":
        csvio.export_readings(store, out, nodes)
    else:
        csvio.export_cramps(store, out, nodes)
    name = f"{'all-rooms' if all_nodes else room()}-{kind}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/export/readings.csv")
def readings():
    return _csv_response("readings")


@bp.get("/export/cramps.csv")
def cramps():
    return _csv_response("cramps")
