-- Stored summaries of finished nights, one per (node, night parameters, local date).
-- params_key = "timezone|night_start|night_end": the parameters that decide the window
-- (coverage threshold and cold threshold are applied on reading, so they need no key).
-- version = meta.data_version when it was computed: a dirty_days row of a UTC day the
-- night touches with a higher version makes it stale (an import, a cramp edit).
CREATE TABLE night_summaries (
    node          TEXT    NOT NULL,
    params_key    TEXT    NOT NULL,
    night         TEXT    NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL,
    n_readings    INTEGER NOT NULL,
    bins          INTEGER NOT NULL,
    total_bins    INTEGER NOT NULL,
    min_temp_c    REAL,
    mean_temp_c   REAL,
    mean_humidity_pct REAL,
    cramps        INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    computed_ms   INTEGER NOT NULL,
    PRIMARY KEY (node, params_key, night)
) WITHOUT ROWID;

-- Evidence reports (`bedside report`, `analyze --save`) with the data version they cover.
CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    node          TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    data_version  INTEGER NOT NULL,
    params        TEXT    NOT NULL,
    report        TEXT    NOT NULL
);
CREATE INDEX reports_latest ON reports (node, created_ms);
