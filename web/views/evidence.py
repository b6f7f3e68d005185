"""Evidence: does a cold room go with cramps? The stored report in plain words, its charts,
and a one-page summary to print for a doctor."""

from __future__ import annotations

from flask import Blueprint, render_template

from monitor.analysis import reports as reports_mod
from web import charts
from web import evidence as evidence_mod
from web.views.common import config, data, ext, room

bp = Blueprint("evidence", __name__)


def _load():
    d = data()
    node = room()
    view = evidence_mod.load(d, ext()["job"], node)
    return d, node, view


@bp.get("/evidence")
def index():
    d, node, view = _load()
    report = view.report.report if view.report else {}
    key = (view.report.created_ms, view.report.data_version) if view.report else (None, None)
    threshold = config().analysis.cold_below_c

    def build() -> dict:
        points, spread = evidence_mod.plot_points(d, node, view.report)
        inputs = evidence_mod.chart_inputs(points, spread, report)
        groups = [("Cramp nights", inputs["cramp"]), ("Other nights", inputs["free"])]
        return {
            "strip": charts.strip_plot(groups, threshold=threshold),
            "bands": charts.band_chart(inputs["bands"], few_below=evidence_mod.FEW_NIGHTS),
            "within": charts.within_month_chart(
                inputs["points"], summary=inputs["words"], unit=inputs["unit"]
            ),
            "within_words": inputs["words"],
            "spread": inputs["spread"],
            "unit": inputs["unit"],
            "valid": len(points),
        }

    if not (view.report and "plot" in report):  # without stored points: the nights as now
        key = (*key, d.reader().data_version(), d.tonight_or_last(d.now_ms()))
    rendered = ext()["charts"].get(node, key, build)
    return render_template(
        "evidence.html",
        view=view,
        r=report,
        charts=rendered,
        plan=reports_mod.plan(report, rendered["spread"], _today(d)) if view.report else None,
        sections=evidence_mod.figure_sections(report) if view.report else [],
        trial_url=evidence_mod.TRIAL_URL,
        first_look=config().analysis.looks[0],
        min_coverage=config().analysis.min_coverage,
        page="evidence",
    )


def _today(d):
    return d.local(d.now_ms()).date()


@bp.get("/evidence/print")
def printable():
    d, node, view = _load()
    report = view.report.report if view.report else {}
    params = evidence_mod.report_params(d, view.report)
    valid = evidence_mod.report_nights(d, node, view.report)
    _, spread = evidence_mod.plot_points(d, node, view.report, valid)
    return render_template(
        "evidence_print.html",
        view=view,
        r=report,
        summary=evidence_mod.print_summary(d, node, params, valid, report),
        plan=reports_mod.plan(report, spread, _today(d)) if view.report else None,
        printed=d.local(d.now_ms()),
        looks_words=evidence_mod.looks_words(report, config().analysis.looks),
        node_name=next((n.get("name") for n in d.nodes() if n["id"] == node), None) or node,
        page="evidence",
    )
