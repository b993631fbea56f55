-- The item page's "decided items most similar to this one" (issue 6): each decided item's
-- MinHash band keys (engine::similarity), written in the decision's transaction. A page
-- view looks up its own sixteen keys in this index instead of reading every decided item.
CREATE TABLE similar_keys (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    band_key       INTEGER NOT NULL,
    item_id        INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (workspace_id, automation_id, band_key, item_id)
);
