-- The items page lists every item, newest first, a page at a time from the last row's
-- (created_at, id). Without an index over all items in that order each page sorted the
-- whole workspace; with it a page reads only its own rows. The inbox's open items keep
-- their own partial index (`items_open`, 0301).
CREATE INDEX items_by_age ON items(workspace_id, created_at, id);
