"""Stored evidence reports (`bedside report`, `analyze --save`), shown by the web.

A report is the analysis JSON plus the parameters and the data version it
covers, so the dashboard can tell whether newer imports or cramp edits are
not in it yet.  Written as strict JSON (no NaN).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from monitor.store.summaries import Summaries

# The pooled study's stored report (`bedside report --pooled`, the Study page) sits in the
# reports table under this key: not a valid node id, so no room can ever collide with it.
STUDY_KEY = "~study"
# Why a node is left out of the study (the stored report's "left_out": node -> reason), and
# what a person can do about it (the Study page says it).
NO_ZONE = "no time zone known"
NO_READING_YET = "no reading by the time of the analysis"
LEFT_OUT_WHY = {
    NO_ZONE: "its time zone is not known, so its evenings and mornings cannot be told"
    " apart. To count it, add its time zone under [study.timezones] on the recorder, or let"
    " that room's monitor publish it",
    NO_READING_YET: "it had no reading yet when this report was computed; it counts from"
    " the next report",
}


@dataclass(frozen=True)
class StoredReport:
    node: str
    created_ms: int
    data_version: int
    params: dict
    report: dict  # the analysis-spec JSON plus extra keys

    def is_current(self, store: Summaries) -> bool:
        """No out-of-order change to the data since the report was computed."""
        return store.data_version() <= self.data_version


class Reports(Summaries):
    def save_report(
        self, node: str, report: dict, params: dict, data_version: int, now_ms: int
    ) -> StoredReport:
        """Store a report and return it as stored (ValueError on NaN or infinity)."""
        report_text = json.dumps(report, allow_nan=False, sort_keys=True)
        params_text = json.dumps(params, allow_nan=False, sort_keys=True)
        with self.transaction():
            self._conn.execute(
                "INSERT INTO reports (node, created_ms, data_version, params, report)"
                " VALUES (?, ?, ?, ?, ?)",
                (node, now_ms, data_version, params_text, report_text),
            )
        return StoredReport(
            node, now_ms, data_version, json.loads(params_text), json.loads(report_text)
        )

    def latest_report_key(self, node: str) -> tuple | None:
        """(row id, created_ms, length) of the newest stored report for a node: a cheap way
        to tell that a parsed copy is still the newest (None without one, or before
        migration 0003)."""
        try:
            row = self._one(
                "SELECT id, created_ms, length(report) FROM reports WHERE node = ?"
                " ORDER BY created_ms DESC, id DESC LIMIT 1",
                (node,),
            )
        except sqlite3.OperationalError:
            return None
        return None if row is None else tuple(row)

    def delete_reports(self, node: str) -> int:
        """Forget a node's stored reports (the dashboard then computes a new one)."""
        with self.transaction():
            return self._conn.execute("DELETE FROM reports WHERE node = ?", (node,)).rowcount

    def latest_report(self, node: str) -> StoredReport | None:
        """The newest stored report for a node, or None."""
        try:
            row = self._one(
                "SELECT node, created_ms, data_version, params, report FROM reports"
                " WHERE node = ? ORDER BY created_ms DESC, id DESC LIMIT 1",
                (node,),
            )
        except sqlite3.OperationalError:  # a database from before migration 0003
            return None
        if row is None:
            return None
        return StoredReport(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]))
