-- The exception inbox lists and counts open items; with a million items nearly all
-- decided, an index over the open ones alone keeps those queries small. The statuses are
-- written exactly as the store's queries write them, so the planner can use it.
CREATE INDEX items_open ON items(workspace_id, created_at, id, automation_id) WHERE status IN ('needs_review', 'failed');
