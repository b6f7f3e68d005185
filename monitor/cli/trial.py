"""`bedside trial start|stop|show|report`: the warm-night trial from the shell (docs/trial.md).

What is printed never holds an arm ahead of its announce time: `show` and
`report` go through monitor.trial.service, which masks the schedule.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from monitor.clock import SystemClock
from monitor.config import Config
from monitor.errors import EXIT_FAIL, EXIT_USAGE, UserError
from monitor.nights import NightParams
from monitor.store import Store, StoreError
from monitor.trial import design, service
from monitor.trial import report as trial_report
from monitor.trial.design import TrialRequestError
from monitor.trial.report import day_words
from monitor.vocabulary import plural


def run_trial(args, config: Config, clock=None) -> int:
    now = (clock or SystemClock()).now_ms()
    node = args.node or config.node.id
    action = args.trial_command
    if action == "start":
        return _start(args, config, node, now)
    with _open(config, write=action == "stop") as store:
        if action == "stop":
            try:
                loaded = service.stop_trial(store, node, now, args.reason)
            except TrialRequestError as exc:
                raise UserError(str(exc), EXIT_FAIL) from None
            print(
                f"trial stopped ({loaded.trial.stop_reason}). `bedside trial report` shows what"
                " ran; a stopped trial gives no verdict."
            )
            return 0
        loaded = service.load(store, node)
        if loaded is None:
            raise UserError(
                f"no trial on {node} yet: start one with `bedside trial start --nights 56`",
                EXIT_FAIL,
            )
        if action == "show":
            shown = service.show(loaded, now)
            if args.json:
                print(json.dumps(shown, indent=1, allow_nan=False))
            else:
                print(render_show(shown, service.report(store, loaded, now)))
            return 0
        report = service.report(store, loaded, now)
        if args.json:
            print(json.dumps(report, indent=1, allow_nan=False))
        else:
            print(render_report(report))
        return 0


def _open(config: Config, *, write: bool) -> Store:
    path = Path(config.storage.database).expanduser()
    if not path.exists():
        raise UserError(f"no database at {path} yet: no trial has been started", EXIT_FAIL)
    try:
        return Store.open(path)
    except StoreError:
        if write:
            raise
        return Store.open_readonly(path)


def _start(args, config: Config, node: str, now: int) -> int:
    first = None
    if args.first_night:
        try:
            first = date.fromisoformat(args.first_night)
        except ValueError:
            raise UserError(
                f"--first-night: expected a date as YYYY-MM-DD, got {args.first_night!r}",
                EXIT_USAGE,
            ) from None
    with Store.open(Path(config.storage.database).expanduser()) as store:
        try:
            design.check_nights(args.nights)
            _confirm_chance(store, config, node, now, args, first)
            trial = service.start_trial(
                store,
                config,
                now,
                nights=args.nights,
                first_night=first,
                warm_min_c=args.warm_min_c,
                node=node,
            )
        except TrialRequestError as exc:
            code = EXIT_FAIL if "already" in str(exc) else EXIT_USAGE
            raise UserError(str(exc), code) from None
        loaded = service.load(store, node)
        if args.json:
            print(json.dumps({**service.show(loaded, now), "plan": trial.plan}, indent=1))
        else:
            print(render_start(service.show(loaded, now), trial.plan))
    return 0


def _confirm_chance(
    store: Store, config: Config, node: str, now: int, args, first: date | None
) -> None:
    """Below even odds of a firm answer, ask before committing (--yes skips; no answer
    on standard input refuses, exit 2)."""
    warm = config.trial.warm_min_c if args.warm_min_c is None else args.warm_min_c
    design.check_warm_min(warm)
    design.choose_first_night(now, config.node.timezone, config.trial.announce_at, first)
    base = service.baseline(store, node, NightParams.from_config(config), now, warm)
    figures = service.plan_figures(base, args.nights)
    if not figures["confirm"] or args.yes:
        return
    print("\n".join(trial_report.chance_words(figures)), file=sys.stderr)
    print("Start this trial anyway? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        answer = ""
    if not answer:
        raise UserError(
            f"not started: this plan's chance of a firm answer is {figures['chance']:.0%},"
            " below 50%,"
            " and nobody answered the question on standard input; run again with --yes to"
            " start it anyway, or plan more nights",
            EXIT_USAGE,
        )
    if answer.strip().lower() not in ("y", "yes"):
        raise UserError("not started: nothing was stored", EXIT_FAIL)


# -- text ---------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


STATUS_WORDS = {
    "planned": "planned (not started yet)",
    "running": "running",
    "finished": "finished",
    "stopped": "stopped early",
}


def render_start(shown: dict, plan: dict) -> str:
    base, fig = plan["baseline"], plan["figures"]
    first = day_words(shown["first_night"])
    lines = [
        f"Warm-night trial planned: {shown['nights']} nights ({shown['nights'] // 2} pairs)"
        f" from the night of {first}.",
        f"Each evening at {shown['announce_at']} tonight's instruction comes: warm (keep the"
        f" bedroom at or above {shown['warm_min_c']:g} °C all night) or usual.",
        f"Commitment (keep it; the salt that proves it comes at the end): {shown['commitment']}",
        "",
    ]
    if base["nights"]:
        lines.append(
            f"Your last {plural(base['nights'], 'valid night')}: cramps on"
            f" {_pct(base['cramp_rate'])},"
            f" typical night minimum {base['median_min_c']:.1f} °C."
        )
    lines += trial_report.chance_words(plan["figures"])
    for e in fig["effects"]:
        lines.append(
            f"If warm nights {e['effect']} ({_pct(fig['usual_rate'])} →"
            f" {_pct(e['warm_rate'])}), this trial finds it with a chance of {_pct(e['power'])}"
            + (
                f"; {e['nights_for_target']} nights would give {_pct(fig['target_power'])}."
                if e["nights_for_target"]
                else f"; not even a year of nights would give {_pct(fig['target_power'])}."
            )
        )
    lines += [f"Note: {w}" for w in fig["warnings"]]
    return "\n".join(lines)


def render_show(shown: dict, report: dict) -> str:
    running = shown["status"] in ("planned", "running")
    state = STATUS_WORDS.get(shown["status"], shown["status"])
    lines = [
        f"Warm-night trial on {shown['node']}: {state}",
        f"{shown['nights']} nights from the night of {day_words(shown['first_night'])};"
        f" warm nights at or above {shown['warm_min_c']:g} °C"
        + (f"; each evening's instruction comes at {shown['announce_at']}." if running else "."),
    ]
    tonight = shown["tonight"]
    if tonight:
        lines.append(
            f"Standing instruction: the night of {trial_report.night_words(tonight['night'])} is a"
            f" {tonight['arm']} night."
        )
    elif shown["status"] == "planned":
        lines.append(
            f"The first instruction comes on {day_words(shown['first_night'])}"
            f" at {shown['announce_at']}."
        )
    a = report["adherence"]
    lines.append(
        f"Nights ended: {shown['nights_ended']} of {shown['nights']}. The sensor says the plan was"
        f" kept on {a['warm'][0]} of {a['warm'][1]} warm and {a['usual'][0]} of {a['usual'][1]}"
        " usual nights."
    )
    if shown["stop_reason"]:
        lines.append(f"Stopped early: {shown['stop_reason']}")
    lines.append(f"Commitment: {shown['commitment']}")
    if shown["salt"] is not None:
        ok = design.verify(
            shown["commitment"],
            shown["salt"],
            [(row["night"], row["arm"]) for row in shown["schedule"]],
        )
        lines.append(
            f"Salt: {shown['salt']} — the schedule below {'matches' if ok else 'DOES NOT match'}"
            " the commitment."
        )
        lines += [f"  {row['night']} {row['arm']}" for row in shown["schedule"]]
    return "\n".join(lines)


def _fmt(x, spec: str = ".3g") -> str:
    return "—" if x is None else format(x, spec)


def render_report(report: dict) -> str:
    words = trial_report.VERDICT_WORDS.get(report["verdict"], report["verdict"])
    lines = [report["summary"], "", f"Verdict: {words}"]
    a = report["adherence"]
    lines.append(
        f"Adherence (sensor): warm {a['warm'][0]} of {plural(a['warm'][1], 'night')},"
        f" usual {a['usual'][0]} of {a['usual'][1]}."
    )
    if report["status"] in ("finished", "stopped"):
        pp = report["per_protocol"]
        lines += [
            "",
            f"Pairs counted: {report['pairs']} of {report['pairs_planned']}",
            f"  cramp on the usual night only: {report['usual_only']}",
            f"  cramp on the warm night only:  {report['warm_only']}",
            f"  cramps on both nights:         {report['both']}",
            f"  cramps on neither night:       {report['neither']}",
            f"Mid-p (two-sided): {_fmt(report['p'])}; exact p: {_fmt(report.get('p_exact'))};"
            f" odds ratio {_fmt(report['odds_ratio'])}"
            f" (95% CI {_fmt(report['ci_low'])}–{_fmt(report['ci_high'])})",
            f"Per protocol ({pp['pairs']} pairs where both nights kept to plan):"
            f" {pp['usual_only']} usual only, {pp['warm_only']} warm only, mid-p {_fmt(pp['p'])},"
            f" odds ratio {_fmt(pp['odds_ratio'])}",
        ]
    else:
        lines.append("The comparison of cramps is shown when the trial has ended.")
    return "\n".join(lines)
