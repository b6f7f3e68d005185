"""The warm-night trial as stored rows: the protocol, its schedule, its announcements.

The store is the truth for a trial as for cramps: the schedule is written with the
trial in one commit, before the first night, and never changes; each announcement
is committed before it is published.  What a trial *means* (status, which arms may
be shown, the statistics) is monitor.trial's business, not the store's; in
particular the schedule returned here is the whole one, to be masked before it is
shown to anyone.

On disk the arms and the salt are sealed (monitor/store/seal.py): the database file
alone does not tell a future night's arm; this module unseals them with the key only
the database's owner reads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields

from monitor.store import seal
from monitor.store.db import Database

TRIAL_ARMS = ("warm", "usual")


class TrialConflict(ValueError):
    """Another trial of the node is still open."""


@dataclass(frozen=True, slots=True)
class StoredTrial:
    id: int
    node: str
    created_ms: int
    first_night: str  # ISO date
    nights: int
    warm_min_c: float
    announce_at: str  # HH:MM local
    timezone: str
    night_start: str
    night_end: str
    min_coverage: float
    end_ms: int  # the end of the last planned night
    salt: str
    commitment: str
    plan: dict  # what the person was shown before starting (baseline, power)
    stopped_ms: int | None
    stop_reason: str | None


@dataclass(frozen=True, slots=True)
class Announcement:
    trial_id: int
    night: str
    arm: str
    announced_ms: int


_TRIAL_COLUMNS = ", ".join(f.name for f in fields(StoredTrial))


_SALT = 12  # the salt's place in _TRIAL_COLUMNS


def _trial(row, database) -> StoredTrial:
    values = list(row)
    values[14] = json.loads(values[14] or "{}")
    if seal.is_sealed(values[_SALT]):
        values[_SALT] = seal.open_salt(seal.read_key(database), values[_SALT])
    return StoredTrial(*values)


class Trials(Database):
    def create_trial(
        self,
        node: str,
        *,
        created_ms: int,
        first_night: str,
        warm_min_c: float,
        announce_at: str,
        timezone: str,
        night_start: str,
        night_end: str,
        min_coverage: float,
        end_ms: int,
        salt: str,
        commitment: str,
        schedule: Sequence[tuple[str, str]],
        plan: dict | None = None,
    ) -> StoredTrial:
        """Store a trial and its whole schedule in one commit.

        TrialConflict when the node has an open trial (not stopped, last night not
        ended at ``created_ms``); checked inside the same transaction, so two starts
        at once cannot both succeed.
        """
        if any(arm not in TRIAL_ARMS for _, arm in schedule):
            raise ValueError("every arm must be warm or usual")
        key = seal.key_for_new_trial(self.path)
        salt, arms = seal.seal(key, salt, [arm for _, arm in schedule])
        plan_text = json.dumps(plan or {}, allow_nan=False, sort_keys=True)
        with self.transaction():
            open_row = self._one(
                "SELECT id, first_night FROM trials"
                " WHERE node = ? AND stopped_ms IS NULL AND end_ms > ?",
                (node, created_ms),
            )
            if open_row is not None:
                raise TrialConflict(
                    f"a trial is already planned or running on {node}"
                    f" (from the night of {open_row[1]}); stop it first"
                )
            cur = self._conn.execute(
                "INSERT INTO trials (node, created_ms, first_night, nights, warm_min_c,"
                " announce_at, timezone, night_start, night_end, min_coverage, end_ms, salt,"
                " commitment, plan) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    node,
                    created_ms,
                    first_night,
                    len(schedule),
                    warm_min_c,
                    announce_at,
                    timezone,
                    night_start,
                    night_end,
                    min_coverage,
                    end_ms,
                    salt,
                    commitment,
                    plan_text,
                ),
            )
            trial_id = cur.lastrowid
            self._conn.executemany(
                "INSERT INTO trial_nights (trial_id, position, night, arm) VALUES (?,?,?,?)",
                [
                    (trial_id, i, night, arm)
                    for i, ((night, _), arm) in enumerate(zip(schedule, arms, strict=True))
                ],
            )
            return self.get_trial(trial_id)

    def get_trial(self, trial_id: int) -> StoredTrial | None:
        row = self._one(f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE id = ?", (trial_id,))
        return _trial(row, self.path) if row else None

    def latest_trial(self, node: str) -> StoredTrial | None:
        """The node's newest trial (open or over), or None (also on a database from
        before migration 0012, read-only)."""
        try:
            row = self._one(
                f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE node = ? ORDER BY id DESC LIMIT 1",
                (node,),
            )
        except sqlite3.OperationalError:
            return None
        return _trial(row, self.path) if row else None

    def trial_schedule(self, trial_id: int) -> list[tuple[str, str]]:
        """(night, arm) of every planned night in order: the whole schedule, unmasked."""
        rows = self._all(
            "SELECT night, arm FROM trial_nights WHERE trial_id = ? ORDER BY position",
            (trial_id,),
        )
        arms = self._unsealed_arms(trial_id, [arm for _, arm in rows])
        return [(night, arm) for (night, _), arm in zip(rows, arms, strict=True)]

    def _unsealed_arms(self, trial_id: int, stored: list[str]) -> list[str]:
        """The planned arms of the first ``len(stored)`` nights, from the stored ones."""
        row = self._one("SELECT salt FROM trials WHERE id = ?", (trial_id,))
        if row is None or not seal.is_sealed(row[0]):
            return stored
        return seal.open_arms(seal.read_key(self.path), row[0], stored)

    def stop_trial(self, trial_id: int, *, now_ms: int, reason: str) -> StoredTrial | None:
        """Record an early stop (once: a second stop changes nothing); the trial as stored."""
        with self.transaction():
            self._conn.execute(
                "UPDATE trials SET stopped_ms = ?, stop_reason = ?"
                " WHERE id = ? AND stopped_ms IS NULL",
                (now_ms, reason, trial_id),
            )
            return self.get_trial(trial_id)

    def record_trial_announcement(
        self, trial_id: int, night: str, arm: str, *, now_ms: int
    ) -> tuple[Announcement, bool]:
        """Store that a night's arm was announced; (announcement as stored, created).

        The first announcement of a night is the one kept: a restart re-publishes it.
        """
        with self.transaction():
            row = self._one(
                "SELECT position FROM trial_nights WHERE trial_id = ? AND night = ?",
                (trial_id, night),
            )
            planned = None
            if row is not None:
                stored = self._all(
                    "SELECT arm FROM trial_nights WHERE trial_id = ? AND position <= ?"
                    " ORDER BY position",
                    (trial_id, row[0]),
                )
                planned = self._unsealed_arms(trial_id, [a for (a,) in stored])[-1]
            if planned != arm:
                raise ValueError(f"{night} is not a {arm} night of trial {trial_id}")
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO trial_announcements (trial_id, night, arm, announced_ms)"
                " VALUES (?, ?, ?, ?)",
                (trial_id, night, arm, now_ms),
            )
            row = self._one(
                "SELECT trial_id, night, arm, announced_ms FROM trial_announcements"
                " WHERE trial_id = ? AND night = ?",
                (trial_id, night),
            )
        return Announcement(*row), cur.rowcount == 1

    def trial_announcements(self, trial_id: int) -> list[Announcement]:
        try:
            rows = self._all(
                "SELECT trial_id, night, arm, announced_ms FROM trial_announcements"
                " WHERE trial_id = ? ORDER BY night",
                (trial_id,),
            )
        except sqlite3.OperationalError:
            return []
        return [Announcement(*r) for r in rows]
