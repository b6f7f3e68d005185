"""The SQLite store: the single source of truth, and the only code that speaks SQL.

Principles (see docs/architecture.md):
- WAL, ``synchronous=FULL``: a commit is on disk when it returns, so a cramp
  confirmed to the user survives a power cut.
- One writer connection per process; readers open read-only connections.
- Versioned migrations in ``monitor/store/migrations/NNNN_name.sql``, recorded in
  ``schema_migrations`` and applied on open, after an online backup.
- Idempotent rows: (node, ts_ms) identifies a reading or a cramp.
- One style of method: each writes in its own transaction, and
  ``with store.transaction():`` groups several into one commit.

One module per table family (db.py holds the connection); :class:`Store` is
all of them together.
"""

from __future__ import annotations

from monitor.store.cramps import Cramp, Cramps
from monitor.store.db import (
    CorruptDatabase,
    StoreError,
    _migrations,
    corruption_message,
    is_corruption,
    is_disk_full,
    recovery_advice,
    span,
)
from monitor.store.episodes import AlertEpisode, Episodes
from monitor.store.health import Health
from monitor.store.origins import Origins
from monitor.store.outbox import Outbox
from monitor.store.readings import Reading, ReadingRow, Readings
from monitor.store.reports import Reports, StoredReport
from monitor.store.summaries import DAY_MS, NightCache, NightTotals
from monitor.store.trials import Announcement, StoredTrial, TrialConflict, Trials

__all__ = [
    "DAY_MS",
    "AlertEpisode",
    "Announcement",
    "CorruptDatabase",
    "Cramp",
    "NightCache",
    "NightTotals",
    "Reading",
    "ReadingRow",
    "Store",
    "StoreError",
    "StoredReport",
    "StoredTrial",
    "TrialConflict",
    "_migrations",
    "corruption_message",
    "is_corruption",
    "is_disk_full",
    "recovery_advice",
    "span",
]


class Store(Readings, Cramps, Episodes, Outbox, Health, Reports, Origins, Trials):
    """A connection to the bedside database with the operations the system needs.

    Use :meth:`open` for the writer (creates and migrates) and
    :meth:`open_readonly` for readers (the web, the analysis).
    """
