"""`bedside analyze` and `bedside report`: the evidence, printed or stored."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.clock import MAX_INSTANT_MS, MIN_INSTANT_MS, SystemClock
from monitor.config import Config
from monitor.errors import EXIT_USAGE, UserError
from monitor.nights import NightParams
from monitor.store import Store, StoreError
from monitor.vocabulary import plural


def params_from(args, config: Config) -> NightParams:
    """Config values with the command-line overrides; a bad value is a one-line error."""
    overrides = {
        "timezone": ("--timezone", args.timezone),
        "night_start": ("--night-start", args.night_start),
        "night_end": ("--night-end", args.night_end),
        "min_coverage": ("--min-coverage", args.min_coverage),
        "cold_below_c": ("--cold-below", args.cold_below),
    }
    base = NightParams.from_config(config)
    for name, (flag, value) in overrides.items():
        if value is None:
            continue
        try:
            replace(base, **{name: value}).validate()
        except ValueError as exc:
            raise UserError(f"{flag}: {exc}", EXIT_USAGE) from None
    params = NightParams.from_config(config, **{k: v for k, (_, v) in overrides.items()})
    try:
        return params.validate()
    except ValueError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None


def parse_as_of(text: str | None) -> int | None:
    """--as-of: ISO 8601 with any offset (or Z), truncated to whole milliseconds."""
    if text is None:
        return None
    problem = f"--as-of: expected an ISO 8601 instant with an offset or Z, got {text!r}"
    try:
        dt = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise UserError(problem, EXIT_USAGE) from None
    if dt.tzinfo is None:
        raise UserError(problem + " (no offset)", EXIT_USAGE)
    try:
        ms = (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    except OverflowError:
        ms = -1
    if not MIN_INSTANT_MS <= ms < MAX_INSTANT_MS:
        raise UserError(f"--as-of: {text!r} is outside the years 1970-2199", EXIT_USAGE)
    return ms


def _open(config: Config) -> Store:
    path = Path(config.storage.database).expanduser()
    if not path.exists():
        raise UserError(
            f"no database at {path} yet: import data (`bedside import`) or start `bedside monitor`"
        )
    try:
        return Store.open(path)
    except StoreError:
        return Store.open_readonly(path)  # cannot write: analyse without storing summaries


def _compute(args, config: Config, *, save: bool) -> tuple[dict, int]:
    from monitor.analysis import stats as analysis  # scipy/statsmodels only for this command
    from monitor.analysis.reports import save_report

    params = params_from(args, config)
    as_of = parse_as_of(getattr(args, "as_of", None))
    now = SystemClock().now_ms()
    with _open(config) as store:
        node = _node(args.node, config.node.id, store)
        if save and store.readonly:
            raise UserError(f"cannot write to {store.path}: the report was not stored")
        version = store.data_version()
        plan = analysis.LookPlan.from_config(config)
        report = analysis.analyze(store, node, params, now, plan, as_of_ms=as_of)
        if save:
            save_report(store, node, report, params.as_dict(), version, now)
    return report, version


def _node(wanted: str | None, configured: str, store: Store) -> str:
    """--node if the database knows it, else [node] id, else the database's only node; a
    node it does not know is a usage error naming the ones it does (not "0 nights")."""
    known = [n["id"] for n in store.nodes()]
    if not known or (wanted or configured) in known:
        return wanted or configured
    if not wanted and len(known) == 1:
        return known[0]
    which = f"--node {wanted}" if wanted else f"[node] id {configured!r}"
    raise UserError(
        f"no such node in {store.path}: {which} (known: {', '.join(known)}; choose with --node)",
        EXIT_USAGE,
    )


def _fmt(x, spec: str = ".3g") -> str:
    return "—" if x is None else format(x, spec)


def _fit_line(label: str, fit: dict | None, extra: str = "") -> str:
    if not fit:
        return f"{label:28}—"
    if fit.get("separation"):
        where = "coldest" if fit["separation"] == "colder" else "warmest"
        return (
            f"{label:28}no odds ratio: cramps on the {where} values of every set"
            f"  (score-test p {_fmt(fit['p'])}{extra})"
        )
    return (
        f"{label:28}{_fmt(fit['or_per_degree_colder'])}"
        f"  (95% CI {_fmt(fit['ci_low'])}–{_fmt(fit['ci_high'])}, p {_fmt(fit['p'])}{extra})"
    )


def render_text(report: dict) -> str:
    """What the evidence page says: the headline, the hour before each cramp, the plan;
    then the within-month figures, and the crude figures labelled as such."""
    from monitor.analysis.reports import (
        PREVIOUS_RULES_NOTE,
        VERDICT_LABEL,
        as_of_words,
        plain_lines,
        plan_lines,
        previous_rules,
        stratum,
    )

    t = report["table"]
    n = report["nights"]
    seq = report["sequential"]
    cold = f"{report['cold_threshold_c']:g} °C"
    unit = stratum(report)
    lines = [text for _, text in plain_lines(report)]  # the page's sentences, in its order
    if previous_rules(report):
        lines.append(PREVIOUS_RULES_NOTE)
    lines += ["", *plan_lines(report)]
    look = seq["look"]
    plan = ", ".join(str(x) for x in seq["looks"])
    when = as_of_words(report)
    lines += [
        "",
        f"Verdict: {VERDICT_LABEL.get(report['verdict'], report['verdict'])}"
        f" ({report['verdict']}){', ' + when if when else ''}",
        f"Valid nights: {n['valid']}  (cramp nights {n['cramp']}, cold nights {n['cold']})",
        f"Planned checks at {plan} valid nights, each at p < {seq['alpha_per_look']:g}"
        + (
            f"; this is check {look} ({seq['look_nights']} nights)"
            if look
            else "; none reached yet"
        ),
        "",
        f"Colder than usual for the {unit} (nights compared within their {unit}):",
    ]
    at = seq["at_look"]
    if look:
        extra = f", {_nights_in_strata(at, unit)}" if at else ""
        lines.append(_fit_line(f"  at the {seq['look_nights']}-night check:", at, extra))
    sf = report["seasonal"]
    extra = f", {_nights_in_strata(sf, unit)}" if sf else ""
    lines.append(_fit_line("  all valid nights so far:", sf, extra))
    cc = report["case_crossover"]
    lines += [
        "The hour before each cramp against the same hour on other days of its month"
        " (a description, not a verdict):",
        _fit_line("  odds ratio per °C colder:", cc, f", {cc['cramps']} cramps" if cc else ""),
        "",
        "Crude figures (these do not account for the season; shown, never the verdict):",
        f"{'':22}{'cramp':>8}{'no cramp':>10}",
        f"{'cold (min < ' + cold + ')':22}{t['cold_cramp']:>8}{t['cold_no_cramp']:>10}",
        f"{'warm':22}{t['warm_cramp']:>8}{t['warm_no_cramp']:>10}",
        f"Fisher exact p:           {_fmt(report['fisher_p'])}",
    ]
    rr = report["relative_risk"]
    if rr:
        lines.append(
            f"Relative risk (cold):     {_fmt(rr['estimate'])}"
            f"  (95% CI {_fmt(rr['ci_low'])}–{_fmt(rr['ci_high'])})"
        )
    else:
        lines.append("Relative risk (cold):     —")
    mw = report["mann_whitney"]
    lines.append(
        f"Mann–Whitney U:           {_fmt(mw['u'], 'g')}  p {_fmt(mw['p'])}"
        if mw
        else "Mann–Whitney U:           —"
    )
    lines.append(_fit_line("Logistic OR / °C colder:", report["logistic"]))
    hum = report.get("humidity")
    if hum:
        lines.append(
            f"{'Humidity OR / % more:':28}{_fmt(hum['or_per_pct_more_humid'])}"
            f"  (95% CI {_fmt(hum['ci_low'])}–{_fmt(hum['ci_high'])}, p {_fmt(hum['p'])})"
        )
    dose = report.get("dose_response") or []
    if dose:
        lines += ["", "Night minimum    nights  cramp nights  rate"]
        for b in dose:
            band = f"{b['from_c']}–{b['to_c']} °C"
            lines.append(f"{band:16}{b['nights']:>7}{b['cramp_nights']:>14}{b['rate']:>6.0%}")
    rem = report.get("remedies") or {}
    if rem:
        lines += ["", "Remedy        cramps  median minutes to relief"]
        for name, r in rem.items():
            lines.append(f"{name:14}{r['cramps']:>6}  {r['median_relief_min']:g}")
    return "\n".join(lines)


def _pooled_only(args) -> None:
    if getattr(args, "nodes", None) is not None and not getattr(args, "pooled", False):
        raise UserError("--nodes goes with --pooled (the study); one room is --node", EXIT_USAGE)


def run_analyze(args, config: Config) -> int:
    _pooled_only(args)
    if getattr(args, "pooled", False):
        from monitor.cli.study import run_pooled

        return run_pooled(args, config, save=getattr(args, "save", False))
    report, _ = _compute(args, config, save=getattr(args, "save", False))
    if args.json:
        print(json.dumps(report, indent=1, allow_nan=False))
    else:
        print(render_text(report))
    return 0


def run_report(args, config: Config) -> int:
    _pooled_only(args)
    if getattr(args, "pooled", False):
        from monitor.cli.study import run_pooled

        return run_pooled(args, config, save=True)
    report, version = _compute(args, config, save=True)
    print(f"report stored (data version {version}): {report['summary']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `bedside analyze`")


def _nights_in_strata(fit: dict, unit: str) -> str:
    """'1 night in 1 half-month', '40 nights in 2 half-months'."""
    return f"{plural(fit['nights'], 'night')} in {plural(fit['strata'], unit)}"
