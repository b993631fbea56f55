-- Documents as teams receive them (issue 16): the original file of an item, kept in the
-- database so that every instance can serve it (no shared disk to set up, and backups,
-- `tandem migrate` and workspace scoping cover it like any row), with the positions of its
-- words. The item's input holds the document's text; `layout` (the engine's Layout, JSON)
-- maps that text back to pages and boxes. `content` is NULL once retention removed it.
CREATE TABLE documents (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    item_id        INTEGER NOT NULL REFERENCES items(id),
    file_name      TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    pages          INTEGER NOT NULL,
    ocr_pages      INTEGER NOT NULL,
    layout         TEXT,
    content        BLOB,
    created_at     INTEGER NOT NULL,
    purged_at      INTEGER
);
CREATE UNIQUE INDEX documents_item ON documents(workspace_id, item_id);
CREATE INDEX documents_retention ON documents(created_at) WHERE purged_at IS NULL;
