"""The pooled study: several people's nights, one answer (analysis-spec.md v3, "Pooled").

Each person's nights are compared only with that person's own nights of the same
half-month: the strata are (person, year, month, half), so one conditional logistic
fit over all of them never compares one bedroom with another.  The looks are four
times the one-person looks, so the same per-look level holds.  Pure functions of the
people's valid nights (computed elsewhere, each in the person's own time zone) and of
their finished trials' counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.analysis import stats
from monitor.analysis.reports import CONTRACT
from monitor.config import DEFAULT_POOLED_LOOKS
from monitor.nights import NightSummary


@dataclass(frozen=True)
class Person:
    """One participant: a node id and its valid nights up to the time of the analysis."""

    node: str
    valid: tuple[NightSummary, ...]


@dataclass(frozen=True)
class TrialCounts:
    """A finished warm-night trial's discordant pairs (only finished trials are pooled)."""

    node: str
    pairs: int
    usual_only: int
    warm_only: int


def _strata(nights: Iterable[tuple[str, NightSummary]]) -> list[list[NightSummary]]:
    """The informative strata of every person: one person's half-months, never mixed."""
    by_person: dict[str, list[NightSummary]] = defaultdict(list)
    for node, n in nights:
        by_person[node].append(n)
    return [g for own in by_person.values() for g in stats.informative_strata(own)]


def fit_block(nights: Iterable[tuple[str, NightSummary]]) -> dict | None:
    """``{"nights", "strata", FIT}`` over the informative strata, or None as the spec says."""
    return _block(stats.fit_strata(_strata(nights)))


def _block(fit: stats.SeasonalFit | None) -> dict | None:
    return fit.block if fit else None


def _tagged(people: Sequence[Person]) -> list[tuple[str, NightSummary]]:
    """Every valid night with its person, in the looks' order: (date D, node id)."""
    return sorted(((p.node, n) for p in people for n in p.valid), key=lambda t: (t[1].night, t[0]))


def sequential(tagged: list[tuple[str, NightSummary]], looks: Sequence[int], alpha: float) -> dict:
    """The planned looks over all people's valid nights; at_look on the first L_k."""
    return stats.look_block(len(tagged), tuple(looks), alpha, lambda n: fit_block(tagged[:n]))


def pooled_trial(trials: Sequence[TrialCounts]) -> dict | None:
    """Summed discordant pairs of the finished trials: mid-p McNemar (``p``), the exact
    test (``p_exact``), the odds ratio b/c with its Clopper-Pearson interval; with no
    discordant pair both p are 1.0 (analysis-spec.md)."""
    from monitor.trial import stats as trial_stats

    if not trials:
        return None
    b = sum(t.usual_only for t in trials)
    c = sum(t.warm_only for t in trials)
    figures = trial_stats.comparison(b, c)
    if b + c == 0:
        figures.update(p=1.0, p_exact=1.0)
    return {
        "people": len(trials),
        "pairs": sum(t.pairs for t in trials),
        "usual_only": b,
        "warm_only": c,
        **figures,
    }


def pooled_report(
    people: Sequence[Person],
    trials: Sequence[TrialCounts],
    *,
    as_of: str,
    alpha: float,
    looks: Sequence[int] = DEFAULT_POOLED_LOOKS,
) -> dict:
    """The contract's pooled JSON (keys exactly so)."""
    people = sorted(people, key=lambda p: p.node)
    tagged = _tagged(people)
    seq = sequential(tagged, looks, alpha)
    return {
        "contract": CONTRACT,
        "as_of": as_of,
        "people": sum(1 for p in people if stats.informative_strata(list(p.valid))),
        "nights": {"valid": len(tagged), "cramp": sum(n.cramp_night for _, n in tagged)},
        "pooled": fit_block(tagged),
        "sequential": seq,
        "verdict": stats.verdict(seq),
        "per_person": [
            {
                "node": p.node,
                "valid": len(p.valid),
                "cramp": sum(n.cramp_night for n in p.valid),
                "seasonal": _block(stats.seasonal_fit(list(p.valid))),
            }
            for p in people
        ],
        "trial": pooled_trial(sorted(trials, key=lambda t: t.node)),
    }
