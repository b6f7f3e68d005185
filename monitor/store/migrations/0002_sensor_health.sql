-- The daemon's view of its sensor, for the dashboard (one row per node).
-- Written when the status changes and at most every 10 minutes otherwise.
-- status: starting | ok | degraded | failing
CREATE TABLE sensor_health (
    node                 TEXT    PRIMARY KEY,
    status               TEXT    NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    failure_rate         REAL    NOT NULL,
    last_good_ms         INTEGER,
    last_error           TEXT,
    updated_ms           INTEGER NOT NULL
) WITHOUT ROWID;
