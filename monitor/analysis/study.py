"""The pooled study from a store: who takes part, in which time zone, and their nights.

The I/O edge of monitor/analysis/pooled.py: it reads each participant's valid nights
(in that person's own zone, up to one `as_of` for all) and finished trials, and names
every node it leaves out and why.  Bad choices (an unknown node, a node without
readings or time zone, an `as_of` before every reading) are UserErrors, exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from monitor.analysis.pooled import Person, TrialCounts, pooled_report
from monitor.clock import iso_ms
from monitor.config import Config
from monitor.errors import EXIT_USAGE, UserError
from monitor.nights import NightParams, night_summaries
from monitor.nights import default_as_of as nights_default_as_of
from monitor.store import Store
from monitor.store.reports import NO_READING_YET, NO_ZONE


@dataclass(frozen=True)
class Roster:
    """The participants with their zones, and the nodes left out with the reason."""

    zones: dict[str, str]
    left_out: dict[str, str]


def known_zones(store: Store, config: Config) -> dict[str, str]:
    """node -> zone: what nodes published, this machine's own [node] zone for its own
    node, and [study.timezones] over both."""
    zones = dict(store.node_timezones())
    zones.setdefault(config.node.id, config.node.timezone)
    zones.update(config.study.timezones)
    return zones


def roster(store: Store, config: Config, wanted: list[str] | None) -> Roster:
    """Who takes part: ``wanted`` (--nodes), else [study] nodes, else every node with
    readings.  Chosen nodes must exist, have readings and a zone; by default a node
    without a zone is left out and named."""
    with_readings = store.nodes_with_readings()
    zones = known_zones(store, config)
    chosen = wanted or list(config.study.nodes)
    if chosen:
        source = "--nodes" if wanted else f"[study] nodes in {config.source}"
        unknown = [n for n in chosen if n not in with_readings]
        if unknown:
            known = ", ".join(sorted(with_readings)) or "none"
            raise UserError(
                f"{source}: no readings stored for {', '.join(unknown)}"
                f" (nodes with readings: {known})",
                EXIT_USAGE,
            )
        no_zone = [n for n in chosen if n not in zones]
        if no_zone:
            raise UserError(
                f"{source}: no time zone known for {', '.join(no_zone)}: each person's nights"
                " are computed in their own zone; set it under [study.timezones]"
                f' (e.g. {no_zone[0]} = "Europe/Berlin") or let the node publish it',
                EXIT_USAGE,
            )
        return Roster({n: zones[n] for n in sorted(set(chosen))}, {})
    left_out = {n: NO_ZONE for n in with_readings if n not in zones}
    return Roster({n: zones[n] for n in sorted(with_readings) if n in zones}, left_out)


def default_as_of(store: Store, nodes: list[str], now_ms: int) -> int:
    """The earlier of the clock and the newest reading of anyone taking part (each
    person's own default, the latest of them)."""
    return max(nights_default_as_of(store, n, now_ms) for n in nodes)


def finished_trials(store: Store, nodes: list[str], as_of_ms: int) -> list[TrialCounts]:
    """Each participant's newest trial, counted only once it has finished by as_of (its
    schedule stays concealed until then; a stopped trial is not pooled): a trial run in
    this database, else the finished trial the node published to this recorder."""
    from monitor.trial import service

    published = store.trial_results()
    out = []
    for node in nodes:
        loaded = service.load(store, node)
        if loaded is not None:
            if loaded.status(as_of_ms) == "finished":
                r = service.report(store, loaded, as_of_ms)
                out.append(TrialCounts(node, r["pairs"], r["usual_only"], r["warm_only"]))
        elif node in published:
            out.append(TrialCounts(node, *published[node]))
    return out


def pooled(
    store: Store,
    config: Config,
    now_ms: int,
    *,
    nodes: list[str] | None = None,
    as_of_ms: int | None = None,
    night_params: NightParams | None = None,
) -> tuple[dict, Roster]:
    """The contract's pooled JSON and who was left out.  ``night_params``: the night
    window and coverage (the command line's overrides); each person's zone replaces its
    time zone."""
    who = roster(store, config, nodes)
    if not who.zones:
        left = "; ".join(f"{n}: {why}" for n, why in who.left_out.items())
        raise UserError(
            "no one can take part in the study yet: no node with readings and a time zone"
            + (f" ({left})" if left else ""),
            EXIT_USAGE,
        )
    participants = list(who.zones)
    as_of = default_as_of(store, participants, now_ms) if as_of_ms is None else as_of_ms
    first = {n: r.ts_ms for n in participants if (r := store.oldest_reading(n)) is not None}
    if not first or as_of < min(first.values()):
        raise UserError(
            f"--as-of {iso_ms(as_of)} is before every reading of the people taking part"
            + (f" (the first is {iso_ms(min(first.values()))})" if first else ""),
            EXIT_USAGE,
        )
    if not (nodes or config.study.nodes):
        # By default the people are the nodes with a reading at or before as_of (the spec).
        late = {n for n in participants if first.get(n, as_of + 1) > as_of}
        who = Roster(
            {n: z for n, z in who.zones.items() if n not in late},
            {**who.left_out, **{n: NO_READING_YET for n in late}},
        )
        participants = list(who.zones)
    base = night_params or NightParams.from_config(config)
    people = []
    for node, zone in who.zones.items():
        params = replace(base, timezone=zone)
        nights = night_summaries(store, node, params, as_of, as_of_ms=as_of)
        people.append(Person(node, tuple(n for n in nights if n.valid)))
    report = pooled_report(
        people,
        finished_trials(store, participants, as_of),
        as_of=iso_ms(as_of),
        alpha=float(config.analysis.look_alpha),
        looks=tuple(config.study.looks),
    )
    return report, who
