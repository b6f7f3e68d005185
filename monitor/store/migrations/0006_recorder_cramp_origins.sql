-- Written by `bedside recorder` only. Which node-local cramp (its id and creation
-- instant on that node) a recorded cramp is, so that an edit of the cramp's time on
-- the node moves the recorded row instead of adding a second cramp. The creation
-- instant tells a re-flashed node, whose ids start again at 1, from an edit.
CREATE TABLE cramp_origins (
    node        TEXT    NOT NULL,
    remote_id   INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    cramp_id    INTEGER NOT NULL REFERENCES cramps (id) ON DELETE CASCADE,
    PRIMARY KEY (node, remote_id, created_ms)
) WITHOUT ROWID;
