"""From per-night outcomes to the trial's report: pairs, adherence, the verdict, plain words.

Rules (docs/trial.md; the JSON keys are the contract of `bedside trial report --json`):

- A night is a **cramp night** when a cramp falls in its window (analysis-spec
  nights), whether or not the sensor covered it.
- A pair (nights 2k, 2k+1) **counts** once both its nights have ended; after an
  early stop only nights announced before the stop belong to the trial.
- **Adherence**, judged by the sensor on ended nights: a warm night adheres when
  it is valid and its minimum is at least ``warm_min_c − 0.5``; a usual night when
  it is valid and its minimum is below ``warm_min_c``.  ``[adherent, known]``, known
  being the ended nights of that arm.
- **Intention to treat**: every counted pair as randomised.  **Per protocol**: the
  counted pairs whose two nights both adhered.
- **Verdict**: ``stopped-early`` after a stop (no verdict), ``too-early`` until every
  pair has ended, then ``warm-helped`` (p < 0.05, b > c), ``warm-worse`` (p < 0.05,
  c > b) or ``no-difference``.  ``p`` is the two-sided mid-p McNemar test, ``p_exact``
  the exact one beside it.  A person never reads a verdict's slug: VERDICT_WORDS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from monitor.nights import night_dates
from monitor.trial import stats
from monitor.trial.design import (
    ADHERENCE_MARGIN_C,
    USUAL,
    WARM,
    Protocol,
    in_trial,
    status,
)

VERDICTS = ("too-early", "warm-helped", "no-difference", "warm-worse", "stopped-early")
# What a person reads for each verdict (the slugs stay in the JSON).
VERDICT_WORDS = {
    "too-early": "too early: the trial is still running",
    "warm-helped": "warm nights helped",
    "no-difference": "no clear difference (yet)",
    "warm-worse": "warm nights went with more cramps",
    "stopped-early": "stopped early: no verdict",
}


@dataclass(frozen=True)
class NightOutcome:
    night: date
    ended: bool
    valid: bool  # coverage reached, and ended
    min_temp_c: float | None
    cramp: bool  # a cramp fell in the night's window


def adheres(arm: str, outcome: NightOutcome, warm_min_c: float) -> bool:
    if not (outcome.ended and outcome.valid) or outcome.min_temp_c is None:
        return False
    if arm == WARM:
        return outcome.min_temp_c >= warm_min_c - ADHERENCE_MARGIN_C
    return outcome.min_temp_c < warm_min_c


@dataclass(frozen=True)
class PairRow:
    index: int  # 0-based pair number
    warm: NightOutcome
    usual: NightOutcome
    warm_adhered: bool
    usual_adhered: bool


def counted_pairs(
    protocol: Protocol,
    arms: Sequence[str],
    outcomes: Mapping[date, NightOutcome],
    stopped_ms: int | None,
) -> list[PairRow]:
    """The pairs that count: both nights in the trial and ended."""
    dates = protocol.dates()
    rows = []
    for k in range(protocol.pairs):
        pair = []
        for i in (2 * k, 2 * k + 1):
            outcome = outcomes.get(dates[i])
            if outcome is None or not outcome.ended or not in_trial(protocol, dates[i], stopped_ms):
                break
            pair.append((arms[i], outcome))
        if len(pair) != 2:
            continue
        by_arm = dict(pair)
        if set(by_arm) != {WARM, USUAL}:
            raise ValueError(f"pair {k} is not one warm and one usual night")
        rows.append(
            PairRow(
                k,
                by_arm[WARM],
                by_arm[USUAL],
                adheres(WARM, by_arm[WARM], protocol.warm_min_c),
                adheres(USUAL, by_arm[USUAL], protocol.warm_min_c),
            )
        )
    return rows


def _table(rows: Sequence[PairRow]) -> dict:
    b = sum(1 for r in rows if r.usual.cramp and not r.warm.cramp)
    c = sum(1 for r in rows if r.warm.cramp and not r.usual.cramp)
    return {"pairs": len(rows), "usual_only": b, "warm_only": c, **stats.comparison(b, c)}


def build_report(
    protocol: Protocol,
    arms: Sequence[str],
    outcomes: Mapping[date, NightOutcome],
    now_ms: int,
    stopped_ms: int | None = None,
    stop_reason: str | None = None,
) -> dict:
    """The report JSON (contract keys first, then extras)."""
    state = status(protocol, now_ms, stopped_ms)
    rows = counted_pairs(protocol, arms, outcomes, stopped_ms)
    itt = _table(rows)
    both = sum(1 for r in rows if r.usual.cramp and r.warm.cramp)
    neither = sum(1 for r in rows if not r.usual.cramp and not r.warm.cramp)
    adherence = {WARM: [0, 0], USUAL: [0, 0]}
    for d, arm in zip(protocol.dates(), arms, strict=True):
        outcome = outcomes.get(d)
        if outcome is None or not outcome.ended or not in_trial(protocol, d, stopped_ms):
            continue
        adherence[arm][1] += 1
        adherence[arm][0] += adheres(arm, outcome, protocol.warm_min_c)
    per_protocol = _table([r for r in rows if r.warm_adhered and r.usual_adhered])
    if state == "stopped":
        verdict = "stopped-early"
    elif itt["pairs"] < protocol.pairs:
        verdict = "too-early"
    else:
        verdict = stats.verdict_of(itt["usual_only"], itt["warm_only"], itt["p"])
    report = {
        "status": state,
        "pairs": itt["pairs"],
        "usual_only": itt["usual_only"],
        "warm_only": itt["warm_only"],
        "both": both,
        "neither": neither,
        "p": itt["p"],
        "p_exact": itt["p_exact"],
        "odds_ratio": itt["odds_ratio"],
        "ci_low": itt["ci_low"],
        "ci_high": itt["ci_high"],
        "adherence": adherence,
        "per_protocol": per_protocol,
        "verdict": verdict,
        # extras
        "pairs_planned": protocol.pairs,
        "nights_planned": protocol.nights,
        "first_night": protocol.first_night.isoformat(),
        "warm_min_c": float(protocol.warm_min_c),
        "stop_reason": stop_reason if state == "stopped" else None,
    }
    report["summary"] = summary(report)
    return report


def _p(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _ratio(report: dict) -> str:
    r, lo, hi = report["odds_ratio"], report["ci_low"], report["ci_high"]
    point = "not defined (no pair had a cramp on the warm night only)" if r is None else f"{r:.2f}"
    low = "0" if lo is None else f"{lo:.2f}"
    high = "infinity" if hi is None else f"{hi:.2f}"
    return f"{point} (95% interval {low} to {high})"


def _as_date(value: str | date) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def day_words(value: str | date | None) -> str:
    """A date as elsewhere on bedside: 'Mon 07 Dec' (page and CLI)."""
    return "—" if value is None else _as_date(value).strftime("%a %d %b")


def night_words(value: str | date | None) -> str:
    """A night by both its dates, 'Mon 07 → Tue 08 Dec': read at 3 am, one date would
    name yesterday (monitor.nights.night_dates)."""
    return "—" if value is None else night_dates(_as_date(value))


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


def pairs_sentence(report: dict) -> str:
    """'In 2 of the 8 pairs cramps came on one night only: once after the usual night, once
    after the warm night.'"""
    b, c, n = report["usual_only"], report["warm_only"], report["pairs"]
    if b + c == 0:
        return f"In none of the {n} pairs did cramps come on one night only."
    return (
        f"In {b + c} of the {n} pairs cramps came on one night only: {_times(b)} after the"
        f" usual night, {_times(c)} after the warm night."
    )


def figures_sentence(report: dict) -> str:
    """The figures, after the words: p (mid-p), the exact p, the odds ratio and interval."""
    return (
        f"Two-sided mid-p = {_p(report['p'])} (exact p = {_p(report.get('p_exact'))});"
        f" odds ratio, usual against warm: {_ratio(report)}."
    )


def has_figures(report: dict) -> bool:
    """A finished trial with at least one pair that had cramps on one night only."""
    return report["verdict"] in ("warm-helped", "warm-worse", "no-difference") and (
        report["usual_only"] + report["warm_only"] > 0
    )


def summary(report: dict) -> str:
    """The result in plain words, then the figures (`bedside trial report`, the JSON's
    "summary"); the page and the print view show the two parts apart."""
    words = summary_words(report)
    return f"{words} {figures_sentence(report)}" if has_figures(report) else words


def summary_words(report: dict, *, pooled: bool = False) -> str:
    """The result in plain words only: what a person reads first (``pooled``: several
    people's finished trials summed, the Study page)."""
    these = "in these trials" if pooled else "in this trial"
    v = report["verdict"]
    n = report["pairs"]
    planned = report["pairs_planned"]
    if v == "stopped-early":
        why = f" ({report['stop_reason']})" if report.get("stop_reason") else ""
        return (
            f"The trial was stopped early{why}, after {n} of {planned} pairs of nights."
            " It gives no verdict: a trial stopped when its numbers look good or bad says"
            " more about when it was stopped than about warmth."
        )
    if v == "too-early":
        return (
            f"The trial is still running: {n} of {planned} pairs of nights have ended."
            " The comparison of cramps is shown when the last night has ended;"
            " looking earlier would make a chance difference look like an answer."
        )
    b, c = report["usual_only"], report["warm_only"]
    said = pairs_sentence(report)
    if v == "warm-helped":
        return (
            f"{said} That is unlikely to be chance: {these}, warm nights came with"
            " fewer cramps than usual nights. Because the room was changed at random, the"
            " season and other causes cannot explain the difference. A firm answer from"
            " few pairs tends to overstate how large the difference is."
        )
    if v == "warm-worse":
        return (
            f"{said} That is unlikely to be chance: {these}, warm nights came with"
            " more cramps than usual nights."
        )
    if b + c == 0:
        return (
            f"{said} So the trial cannot tell warm nights from usual ones: no clear"
            " difference (yet)."
        )
    chance = "That could easily be chance" if (report["p"] or 1) >= 0.2 else "That could be chance"
    return (
        f"{said} {chance}: no clear difference (yet). It does not show that warmth makes no"
        " difference either: a longer trial might find one."
    )


# -- before the start: the chance of a firm answer --------------------------------------------


def chance_words(figures: dict) -> list[str]:
    """The plan's chance of a firm answer (service.plan_figures' "chance": if warm nights
    halve cramp nights) in words; a second sentence when the start asks to confirm."""
    nights, cramp_rate, chance = figures["nights"], figures["usual_rate"], figures["chance"]
    rate = (
        f"assuming cramps on {cramp_rate:.0%} of nights (too few recorded nights to know yours)"
        if figures["assumed_rate"]
        else f"with your cramp rate (cramps on {cramp_rate:.0%} of your recent nights)"
    )
    out = [
        f"If warm nights halve your cramp nights, this {nights}-night plan has"
        f" {'an' if f'{chance:.0%}'.startswith(('8', '11%', '18%')) else 'a'} {chance:.0%}"
        f" chance of a firm answer, {rate}."
    ]
    if figures["confirm"]:
        out.append(
            "That is less than even: the trial will more likely end without a firm answer."
            " More nights, or a time of year with more cramps, would give a better chance."
        )
    return out
