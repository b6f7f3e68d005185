"""The Study page: several people's nights, one answer (docs/many-rooms.md).

/study and /study/print read the stored pooled report (`bedside report --pooled`);
/api/study gives it as stored: the contract's keys with node ids (the CLI prints them
too; the API sits behind the same password as the rest), plus `left_out`, `zones` and
its freshness.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from monitor.clock import iso_utc
from web import study as study_mod
from web.views.common import config, data, ext

bp = Blueprint("study", __name__)


def _load() -> study_mod.StudyView:
    return study_mod.load(data(), ext()["job"], ext()["charts"], config().study.show_names)


@bp.get("/study")
def index():
    return render_template(
        "study.html", view=_load(), show_names=config().study.show_names, page="study"
    )


@bp.get("/study/print")
def printable():
    d = data()
    return render_template(
        "study_print.html",
        view=_load(),
        printed=d.local(d.now_ms()),
        show_names=config().study.show_names,
        page="study",
    )


@bp.get("/api/study")
def study_json():
    view = _load()
    if view.stored is None:
        reason = "no study report is stored yet"
        if view.computing:
            reason += ": it is being computed"
        elif view.error:
            reason += f": the last attempt failed ({view.error})"
        response = jsonify({"error": reason, "computing": view.computing})
        response.status_code = 404
        return response
    return jsonify(
        {
            **view.stored.report,
            "computed": iso_utc(view.stored.created_ms),
            "data_version": view.stored.data_version,
            "stale": view.stale,
            "computing": view.computing,
        }
    )
