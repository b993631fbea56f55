-- Items decided before 0900 have no band keys in `similar_keys`, so they never show among
-- "the decided items most similar to this one". The `similar_backfill` periodic task gives
-- them keys, one bounded stretch of item ids per run, newest first; this is its cursor per
-- workspace. Every decision since 0900 writes its own keys, so only items that exist now
-- can lack them: each workspace's walk spans its item ids as they are at this migration.
CREATE TABLE similar_backfill (
    workspace_id  BIGINT PRIMARY KEY REFERENCES workspaces(id),
    -- The workspace's first item: the walk ends below it.
    low_id        BIGINT NOT NULL,
    -- The highest item id not looked at yet; the walk goes down from the newest item.
    next_id       BIGINT NOT NULL
);
INSERT INTO similar_backfill (workspace_id, low_id, next_id)
SELECT workspace_id, MIN(id), MAX(id) FROM items GROUP BY workspace_id;
