"""Evidence: does a cold room go with cramps? The stored report, its charts and verdict."""

from __future__ import annotations

from flask import Blueprint, render_template

from web import charts
from web import evidence as evidence_mod
from web.views.common import config, data, ext, room

bp = Blueprint("evidence", __name__)


@bp.get("/evidence")
def index():
    d = data()
    node = room()
    view = evidence_mod.load(d, ext()["job"], node)
    report = view.report.report if view.report else {}
    key = (view.report.created_ms, view.report.data_version) if view.report else (None, None)
    threshold = config().analysis.cold_below_c

    def build() -> dict:
        inputs = evidence_mod.chart_inputs(d, node)
        groups = [("Cramp nights", inputs["cramp"]), ("Cramp-free nights", inputs["free"])]
        bands = evidence_mod.dose_response(report) or inputs["bands"]
        return {
            "strip": charts.strip_plot(groups, threshold=threshold),
            "bands": charts.band_chart(bands),
        }

    key = (*key, d.reader().data_version(), d.tonight_or_last(d.now_ms()))
    rendered = ext()["charts"].get(node, key, build)
    return render_template(
        "evidence.html",
        view=view,
        r=report,
        strip=rendered["strip"],
        bands=rendered["bands"],
        nights_needed=evidence_mod.nights_needed(report),
        extras=evidence_mod.extra_figures(report),
        page="evidence",
    )
