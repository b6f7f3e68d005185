-- A node's own time zone, as it publishes it (retained, <prefix>/<node>/info): a recorder
-- computes each person's nights in that person's zone for the pooled study.
ALTER TABLE nodes ADD COLUMN timezone TEXT;
