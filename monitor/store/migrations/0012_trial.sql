-- The warm-night trial (docs/trial.md). The protocol is fixed when the trial is
-- created and never changes: its own copy of the night windows, the announce time and
-- the warm threshold, so a later config change cannot move a planned night.
-- end_ms is the end of the last planned night (UTC ms): a trial is open while it has
-- not been stopped and end_ms has not passed (one open trial per node).
-- salt and commitment: commitment = sha256(salt + "\n" + "YYYY-MM-DD arm" lines);
-- the salt is shown only once the trial is over.
CREATE TABLE trials (
    id            INTEGER PRIMARY KEY,
    node          TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    first_night   TEXT    NOT NULL,
    nights        INTEGER NOT NULL CHECK (nights >= 8 AND nights % 2 = 0),
    warm_min_c    REAL    NOT NULL,
    announce_at   TEXT    NOT NULL,
    timezone      TEXT    NOT NULL,
    night_start   TEXT    NOT NULL,
    night_end     TEXT    NOT NULL,
    min_coverage  REAL    NOT NULL,
    end_ms        INTEGER NOT NULL,
    salt          TEXT    NOT NULL,
    commitment    TEXT    NOT NULL,
    plan          TEXT    NOT NULL DEFAULT '{}',
    stopped_ms    INTEGER,
    stop_reason   TEXT
);
CREATE INDEX trials_by_node ON trials (node, id);

-- The schedule: one row per planned night, drawn before the first night.
CREATE TABLE trial_nights (
    trial_id  INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    night     TEXT    NOT NULL,
    arm       TEXT    NOT NULL CHECK (arm IN ('warm', 'usual')),
    PRIMARY KEY (trial_id, position),
    UNIQUE (trial_id, night)
) WITHOUT ROWID;

-- Every announcement the daemon made (stored before it is published): one per night.
CREATE TABLE trial_announcements (
    trial_id      INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    night         TEXT    NOT NULL,
    arm           TEXT    NOT NULL CHECK (arm IN ('warm', 'usual')),
    announced_ms  INTEGER NOT NULL,
    PRIMARY KEY (trial_id, night)
) WITHOUT ROWID;
