"""The warm-night trial: plan it (baseline, exact power), follow it (tonight's arm,
adherence), read the result (plain words, a one-page print view).  docs/trial.md.

Concealment: everything shown goes through monitor.trial.service (masked schedule);
no cramps are compared on a page before the trial is over.  The statistics are pure
Python (monitor.trial.stats): this process never loads scipy.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from monitor.store.seal import SealError
from monitor.trial import design, service
from monitor.trial import report as trial_report
from monitor.trial.design import TrialRequestError
from web.views.api import node_arg
from web.views.common import config, data, room, write_required

bp = Blueprint("trial", __name__)

DEFAULT_NIGHTS = 56

log = logging.getLogger(__name__)


def _nights_arg(raw: str | None, default: int = DEFAULT_NIGHTS) -> int:
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,4}", raw.strip()):
        raise TrialRequestError("the number of nights must be a whole number")
    return int(raw)


def page_context(node: str, nights: int = DEFAULT_NIGHTS) -> dict:
    """What the Trial page and the print view show for a room, masked by time."""
    d = data()
    now = d.now_ms()
    store = d.reader()
    loaded = service.load(store, node)
    ctx: dict = {
        "own_room": node == config().node.id,
        "loaded": loaded,
        "shown": None,
        "report": None,
        "rows": [],
        "verified": None,
        "announce_at": config().trial.announce_at,
        "day": trial_report.day_words,
        "night_of": trial_report.night_words,
        "verdict_words": trial_report.VERDICT_WORDS,
        "result_words": trial_report.summary_words,
        "result_figures": trial_report.figures_sentence,
        "has_figures": trial_report.has_figures,
        "min_nights": design.MIN_NIGHTS,
    }
    if loaded is not None:
        shown = service.show(loaded, now)
        ctx["shown"] = shown
        ctx["rows"] = service.adherence_rows(store, loaded, now)
        report = service.report(store, loaded, now)
        if design.is_over(shown["status"]):
            ctx["report"] = report
            ctx["verified"] = design.verify(
                shown["commitment"],
                shown["salt"],
                [(r["night"], r["arm"]) for r in shown["schedule"]],
            )
        else:  # while it runs: adherence only, never the comparison
            ctx["adherence"] = report["adherence"]
    open_trial = loaded is not None and not design.is_over(loaded.status(now))
    if not open_trial:
        cfg = config()
        base = service.baseline(store, node, d.params, now, cfg.trial.warm_min_c)
        ctx["baseline"] = base
        ctx["figures"] = service.plan_figures(base, nights)
        ctx["chance"] = ctx["figures"]["chance"]
        ctx["chance_words"] = trial_report.chance_words(ctx["figures"])
        ctx["earliest"] = service.earliest_first_night(cfg, now)
        ctx["form_nights"] = nights
    return ctx


def tonight(node: str) -> dict | None:
    """The standing arm for the Now page (None outside a running trial, or when the
    trial's key cannot be read: the Trial page says why, the Now page still works)."""
    try:
        current = service.tonight_of(data().reader(), node, data().now_ms())
    except SealError as exc:
        log.warning("trial: %s", exc)
        return None
    if current is None:
        return None
    loaded, night, arm = current
    return {"night": night, "arm": arm, "warm_min_c": loaded.protocol.warm_min_c}


def _render(
    status: int = 200,
    error: str | None = None,
    nights: int = DEFAULT_NIGHTS,
    confirm: dict | None = None,
):
    ctx = page_context(room(), nights)
    return render_template("trial.html", **ctx, error=error, confirm=confirm, page="trial"), status


@bp.get("/trial")
def index():
    try:
        nights = _nights_arg(request.args.get("nights"))
        design.check_nights(nights)
    except TrialRequestError as exc:
        return _render(400, str(exc))
    return _render(nights=nights)


def _start_form(form) -> tuple[int, date | None, float | None]:
    """The start form's fields, checked (TrialRequestError with the reason)."""
    nights = _nights_arg(form.get("nights"))
    first = None
    if form.get("first_night", "").strip():
        try:
            first = date.fromisoformat(form["first_night"].strip())
        except ValueError:
            raise TrialRequestError("the first night must be a date") from None
    warm = None
    if form.get("warm_min_c", "").strip():
        try:
            warm = float(form["warm_min_c"].replace(",", "."))
        except ValueError:
            raise TrialRequestError("the warm minimum must be a number") from None
    return nights, first, warm


def _confirmation(nights: int, first: date | None, warm: float | None) -> dict:
    """The step before committing: the plan as it would be fixed and its chance in words.

    Every check start_trial makes runs here first, so a refusal shows before the question."""
    d, cfg = data(), config()
    now = d.now_ms()
    design.check_nights(nights)
    warm_c = cfg.trial.warm_min_c if warm is None else warm
    design.check_warm_min(warm_c)
    first_night = design.choose_first_night(now, cfg.node.timezone, cfg.trial.announce_at, first)
    base = service.baseline(d.reader(), room(), d.params, now, warm_c)
    figures = service.plan_figures(base, nights)
    return {
        "nights": nights,
        "first_night": first_night,
        "requested_first": first.isoformat() if first else "",
        "warm_min_c": warm_c,
        "warm_field": "" if warm is None else f"{warm:g}",
        "chance": figures["chance"],
        "words": trial_report.chance_words(figures),
        "last_night": first_night + timedelta(days=nights - 1),
    }


@bp.post("/trial/start")
@write_required
def start():
    """Two steps: the plan and its chance, asked once more; then, confirmed, committed."""
    d = data()
    node = room()
    if node != config().node.id:
        return _render(400, "a trial runs on the room's own bedside, not from another room")
    form = request.form
    nights = DEFAULT_NIGHTS
    try:
        nights, first, warm = _start_form(form)
        if form.get("confirm") != "yes":
            return _render(nights=nights, confirm=_confirmation(nights, first, warm))
        service.start_trial(
            d.writer(), config(), d.now_ms(), nights=nights, first_night=first, warm_min_c=warm
        )
    except TrialRequestError as exc:
        return _render(400, str(exc), nights=nights)
    return redirect(url_for("trial.index", room=node))


@bp.get("/trial/about")
def about():
    """How the trial works, for a phone (docs/trial.md is for the repository)."""
    return render_template(
        "trial_about.html",
        announce_at=config().trial.announce_at,
        min_nights=design.MIN_NIGHTS,
        page="trial",
    )


@bp.post("/trial/stop")
@write_required
def stop():
    d = data()
    try:
        service.stop_trial(d.writer(), room(), d.now_ms(), request.form.get("reason", ""))
    except TrialRequestError as exc:
        return _render(400, str(exc))
    return redirect(url_for("trial.index", room=room()))


@bp.get("/trial/print")
def print_view():
    ctx = page_context(room())
    return render_template("trial_print.html", **ctx)


@bp.get("/api/trial")
def api():
    """The trial as `bedside trial show --json` shows it; the report only once it is over."""
    node = node_arg()
    d = data()
    now = d.now_ms()
    store = d.reader()
    loaded = service.load(store, node)
    if loaded is None:
        return jsonify({"node": node, "trial": None, "report": None, "adherence": None})
    shown = service.show(loaded, now)
    report = service.report(store, loaded, now)
    over = design.is_over(shown["status"])
    return jsonify(
        {
            "node": node,
            "trial": shown,
            "report": report if over else None,
            "adherence": report["adherence"],
        }
    )
