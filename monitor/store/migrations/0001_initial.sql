-- Readings are unique by (node, instant): replays and re-imports change nothing.
-- Instants are integer milliseconds since the epoch, UTC.
CREATE TABLE readings (
    node          TEXT    NOT NULL,
    ts_ms         INTEGER NOT NULL,
    temperature_c REAL    NOT NULL,
    humidity_pct  REAL,
    PRIMARY KEY (node, ts_ms)
) WITHOUT ROWID;

-- Cramps are precious: soft-deleted (deleted_ms) so an undo can be restored.
-- published = 0 means the current state of the row has not been acknowledged
-- by the broker yet; every change sets it back to 0 (the outbox).
CREATE TABLE cramps (
    id          INTEGER PRIMARY KEY,
    node        TEXT    NOT NULL,
    ts_ms       INTEGER NOT NULL,
    leg         TEXT    CHECK (leg IN ('left', 'right', 'both')),
    severity    INTEGER CHECK (severity BETWEEN 1 AND 5),
    note        TEXT,
    remedy      TEXT    CHECK (remedy IN ('stretch', 'reposition', 'heat', 'massage', 'other')),
    relief_min  REAL    CHECK (relief_min >= 0),
    source      TEXT    NOT NULL CHECK (source IN ('button', 'web', 'cli', 'import', 'mqtt')),
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    deleted_ms  INTEGER,
    published   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (node, ts_ms)
);
CREATE INDEX cramps_unpublished ON cramps (node, id) WHERE published = 0;

-- Readings go out in instant order; the outbox for readings is everything
-- after the acknowledged watermark of the node's own stream.
CREATE TABLE outbox_state (
    node      TEXT NOT NULL,
    stream    TEXT NOT NULL,
    acked_ms  INTEGER NOT NULL,
    PRIMARY KEY (node, stream)
) WITHOUT ROWID;

CREATE TABLE alert_episodes (
    id          INTEGER PRIMARY KEY,
    node        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('cold', 'sensor')),
    start_ms    INTEGER NOT NULL,
    end_ms      INTEGER,
    min_temp_c  REAL,
    UNIQUE (node, kind, start_ms)
);

CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    name         TEXT,
    first_seen_ms INTEGER,
    last_seen_ms INTEGER,
    status       TEXT,
    status_ms    INTEGER
) WITHOUT ROWID;

-- Which UTC days (ts_ms // 86400000) had rows written out of order (imports,
-- recorder backfill, cramp edits), with the data version of the last change:
-- night summaries covering them must be recomputed. Live appends of new
-- readings never touch finished nights and are not recorded here.
CREATE TABLE dirty_days (
    node     TEXT    NOT NULL,
    day      INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    PRIMARY KEY (node, day)
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('data_version', '0');
