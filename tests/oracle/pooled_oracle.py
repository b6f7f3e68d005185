"""An independent implementation of the contract's "Pooled analysis" (analysis-spec.md v3).

Written from the spec text alone. Each person's nights come from the single-person oracle
(spec_oracle.build_nights) in that person's own time zone, with one as_of for all; the fit,
the looks and the verdict reuse its stratified fit, looks and verdict rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from tests.oracle.spec_oracle import (
    CONTRACT,
    Params,
    as_of_ms,
    build_nights,
    half_month,
    ms_text,
    read_cramps,
    read_readings,
    seasonal,
    sequential,
    stratified_fit,
    verdict,
)
from tests.oracle.spec_oracle import default_as_of as single_default_as_of

POOLED_LOOKS = (360, 720, 1460, 2920, 4380)


@dataclass
class Person:
    """One node: its rows (UTC ms), its time zone and, optionally, a finished trial's
    counts (pairs, usual_only, warm_only)."""

    node: str
    timezone: str
    readings: list[tuple[int, float, float | None]]
    cramps: list[int]
    trial: tuple[int, int, int] | None = None

    @classmethod
    def from_files(cls, node, timezone, readings_csv, cramps_csv, trial=None) -> Person:
        readings = read_readings(Path(readings_csv))
        return cls(node, timezone, readings, read_cramps(Path(cramps_csv)), trial)


def default_as_of(people: list[Person]) -> int:
    """The earlier of the clock and the newest reading of any person taking part."""
    return single_default_as_of([r for p in people for r in p.readings])


def mcnemar(b: int, c: int) -> dict:
    """Two-sided exact and mid-p McNemar tests, odds b/c with a Clopper-Pearson interval."""
    n = b + c
    out = {"p": 1.0, "p_exact": 1.0, "odds_ratio": b / c if c else None}
    out["ci_low"] = out["ci_high"] = None
    if n == 0:
        return out
    k = min(b, c)
    tail = float(stats.binom.cdf(k, n, 0.5))
    point = float(stats.binom.pmf(k, n, 0.5))
    out["p_exact"] = min(1.0, 2 * tail)
    out["p"] = min(1.0, 2 * tail - point)
    lo = float(stats.beta.ppf(0.025, b, n - b + 1)) if b > 0 else 0.0
    hi = float(stats.beta.ppf(0.975, b + 1, n - b)) if b < n else 1.0
    odds_lo = lo / (1 - lo) if 0 < lo < 1 else None
    odds_hi = hi / (1 - hi) if 0 < hi < 1 else None
    out["ci_low"] = odds_lo if odds_lo and math.isfinite(odds_lo) else None
    out["ci_high"] = odds_hi if odds_hi and math.isfinite(odds_hi) else None
    return out


def pooled_trial(people: list[Person]) -> dict | None:
    done = [p for p in people if p.trial is not None]
    if not done:
        return None
    pairs = sum(p.trial[0] for p in done)
    b = sum(p.trial[1] for p in done)
    c = sum(p.trial[2] for p in done)
    return {"people": len(done), "pairs": pairs, "usual_only": b, "warm_only": c, **mcnemar(b, c)}


def analyze_pooled(
    people: list[Person],
    params: Params | None = None,
    as_of=None,
    nodes: list[str] | None = None,
    pooled_looks=POOLED_LOOKS,
) -> dict:
    """The pooled contract JSON. params gives the night window, coverage, threshold and
    alpha (its timezone is ignored: each person has their own); nodes = [study] nodes."""
    params = params or Params("UTC")
    if nodes is not None:
        taking_part = [p for p in people if p.node in set(nodes)]
        at = default_as_of(taking_part) if as_of is None else as_of_ms(as_of)
    else:
        at = default_as_of(people) if as_of is None else as_of_ms(as_of)
        taking_part = [p for p in people if any(r[0] <= at for r in p.readings)]
    taking_part.sort(key=lambda p: p.node)
    valid_by_node = {}
    for person in taking_part:
        p = Params(
            person.timezone,
            params.night_start,
            params.night_end,
            params.min_coverage,
            params.cold_threshold_c,
        )
        nights = build_nights(person.readings, person.cramps, p, at)
        valid_by_node[person.node] = sorted((n for n in nights if n.valid), key=lambda n: n.day)

    def keyed(pairs):
        return (((node, *half_month(n.day)), n) for node, n in pairs)

    def fit(pairs):
        return stratified_fit(keyed(pairs))

    everything = [(node, n) for node, valid in valid_by_node.items() for n in valid]
    ordered = sorted(everything, key=lambda pair: (pair[1].day, pair[0]))
    seq = sequential(ordered, list(pooled_looks), params.alpha_per_look, fit)
    per_person = []
    people_count = 0
    for node, valid in valid_by_node.items():
        strata: dict = {}
        for n in valid:
            strata.setdefault(half_month(n.day), []).append(n)
        if any(any(n.cramp for n in g) and any(not n.cramp for n in g) for g in strata.values()):
            people_count += 1
        per_person.append(
            {
                "node": node,
                "valid": len(valid),
                "cramp": sum(n.cramp for n in valid),
                "seasonal": seasonal(valid),
            }
        )
    return {
        "contract": CONTRACT,
        "as_of": ms_text(at),
        "people": people_count,
        "nights": {"valid": len(everything), "cramp": sum(n.cramp for _, n in everything)},
        "pooled": fit(everything),
        "sequential": seq,
        "verdict": verdict(seq),
        "per_person": per_person,
        "trial": pooled_trial(taking_part),
    }
