-- A node's own time zone, as it publishes it (retained, <prefix>/<node>/info): a recorder
-- computes each person's nights in that person's zone for the pooled study.
ALTER TABLE nodes ADD COLUMN timezone TEXT;

-- Finished warm-night trials of other nodes, as they publish them (retained,
-- <prefix>/<node>/trial/result): a recorder pools their discordant pairs.  A node's own
-- trials live in `trials`; this holds only the counts, never a schedule.
CREATE TABLE study_trials (
    node         TEXT    PRIMARY KEY,
    first_night  TEXT    NOT NULL,
    pairs        INTEGER NOT NULL,
    usual_only   INTEGER NOT NULL,
    warm_only    INTEGER NOT NULL,
    received_ms  INTEGER NOT NULL
);
