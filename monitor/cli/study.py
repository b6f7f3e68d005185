"""`bedside analyze --pooled` and `bedside report --pooled`: several people, one answer."""

from __future__ import annotations

import json
import sys
from zoneinfo import ZoneInfo

from monitor.clock import SystemClock
from monitor.config import Config
from monitor.errors import EXIT_USAGE, UserError
from monitor.store.reports import STUDY_KEY
from monitor.vocabulary import is_node_id


def parse_nodes(text: str | None) -> list[str] | None:
    """--nodes a,b: node ids separated by commas (a bad one is a usage error)."""
    if text is None:
        return None
    nodes = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in nodes if not is_node_id(n)]
    if not nodes or bad:
        raise UserError(f"--nodes: expected node ids separated by commas, got {text!r}", EXIT_USAGE)
    return nodes


def compute(args, config: Config, *, save: bool) -> tuple[dict, dict[str, str]]:
    """The pooled report (stored when ``save``) and the nodes left out, with why."""
    from monitor.analysis import study
    from monitor.cli.analyze import _open, params_from, parse_as_of

    for flag, value in (("--node", args.node), ("--timezone", args.timezone)):
        if value is not None:
            raise UserError(
                f"{flag} is for one room: with --pooled each person's nights are in their own"
                " zone (choose people with --nodes, zones under [study.timezones])",
                EXIT_USAGE,
            )
    night_params = params_from(args, config)  # the night window and coverage overrides
    nodes = parse_nodes(getattr(args, "nodes", None))
    as_of = parse_as_of(getattr(args, "as_of", None))
    now = SystemClock().now_ms()
    with _open(config) as store:
        if save and store.readonly:
            raise UserError(f"cannot write to {store.path}: the study report was not stored")
        version = store.data_version()
        report, who = study.pooled(
            store, config, now, nodes=nodes, as_of_ms=as_of, night_params=night_params
        )
        if save:
            extra = {**report, "left_out": who.left_out, "zones": who.zones}
            store.save_report(STUDY_KEY, extra, {"pooled": True}, version, now)
    return report, who.left_out


def render_text(report: dict, tz: ZoneInfo | None = None) -> str:
    """The Study page's sentences, then the figures: everyone together, at the check, and
    each person's own fit (the one-person CLI's lines)."""
    from monitor.analysis.reports import VERDICT_LABEL, as_of_words, plain_lines
    from monitor.cli.analyze import _fit_line, _nights_in_strata

    seq, n = report["sequential"], report["nights"]
    lines = [text for _, text in plain_lines(report, pooled=True)]
    lines += [
        "",
        f"Verdict: {VERDICT_LABEL.get(report['verdict'], report['verdict'])}"
        f" ({report['verdict']}), {as_of_words(report, tz or ZoneInfo('UTC'))}",
        f"People with a usable half-month: {report['people']}; valid nights {n['valid']}"
        f" (cramp nights {n['cramp']})",
        f"Planned checks at {', '.join(map(str, seq['looks']))} valid nights of everyone"
        f" together, each at p < {seq['alpha_per_look']:g}"
        + (f"; this is check {seq['look']}" if seq["look"] else "; none reached yet"),
        "",
        "Odds ratio per °C colder than usual for the half-month (each person against themselves):",
    ]
    for label, fit in (
        ("  at the check:", seq["at_look"]),
        ("  all nights so far:", report["pooled"]),
    ):
        extra = f", {_nights_in_strata(fit, 'half-month')}" if fit else ""
        lines.append(_fit_line(label, fit, extra))
    for row in report["per_person"]:
        lines.append(_fit_line(f"  {row['node']}:", row["seasonal"], f", {row['valid']} nights"))
    t = report["trial"]
    if t:
        lines.append(
            f"Warm-night trials: {t['people']} finished, {t['pairs']} pairs; a cramp on one"
            f" night only: {t['usual_only']} after the usual night, {t['warm_only']} after"
            f" the warm night (mid-p {t['p']:.3g}, exact p {t['p_exact']:.3g})"
        )
    return "\n".join(lines)


def _warn_left_out(left_out: dict[str, str]) -> None:
    for node, why in left_out.items():
        print(f"left out of the study: {node} ({why})", file=sys.stderr)


def run_pooled(args, config: Config, *, save: bool) -> int:
    report, left_out = compute(args, config, save=save)
    _warn_left_out(left_out)
    if getattr(args, "json", False):
        print(json.dumps(report, indent=1, allow_nan=False))
    elif args.command == "report":
        print(f"study report stored: {report['verdict']} ({report['people']} people)")
    else:
        print(render_text(report, ZoneInfo(config.node.timezone)))
    return 0
