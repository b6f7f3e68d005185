"""Stored evidence reports: computed by `bedside report` (scipy), shown by the web.

INTERFACE STUB by the integrator, to be completed by the analysis work (issue 4)
keeping these signatures.  Must stay free of scipy/statsmodels (the web imports it).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.store import Store


@dataclass(frozen=True)
class StoredReport:
    node: str
    created_ms: int
    data_version: int
    params: dict
    report: dict  # the analysis-spec JSON plus extra keys


def latest_report(store: Store, node: str) -> StoredReport | None:
    """The newest stored report for a node, or None."""
    return None


def save_report(
    store: Store, node: str, report: dict, params: dict, data_version: int, now_ms: int
) -> StoredReport:
    raise NotImplementedError


def verdict_sentence(report: dict) -> str:
    """The verdict in one plain sentence with its key number and interval."""
    return {
        "supports": "Colder nights went with more cramps.",
        "contradicts": "Warmer nights went with more cramps.",
        "inconclusive": "No clear link between room temperature and cramps yet.",
    }.get(report.get("verdict"), "Not enough nights yet to tell.")
