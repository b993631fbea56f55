-- A share link shows figures, not customers (issue 17, point 8): the outside page carries
-- item text (the week's edge-case inputs) only when whoever made the link chose so.
ALTER TABLE share_links ADD COLUMN include_examples INTEGER NOT NULL DEFAULT 0;
