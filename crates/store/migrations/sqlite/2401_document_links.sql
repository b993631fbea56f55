-- E-mail (issue 16): an attachment's item is linked to the item of the message it came
-- with, and a document keeps notes on what could not be read (an attachment of a kind
-- Tandem does not read stays in the kept original, and the note says which).
ALTER TABLE documents ADD COLUMN parent_item_id INTEGER REFERENCES items(id);
ALTER TABLE documents ADD COLUMN notes TEXT;
CREATE INDEX documents_parent ON documents(workspace_id, parent_item_id) WHERE parent_item_id IS NOT NULL;
