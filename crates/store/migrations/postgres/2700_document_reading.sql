-- Documents are read by the worker, not in the upload (issue 16): the upload keeps the
-- original and answers at once; `read_at` is NULL until the worker has read its text and
-- word boxes into the item. Every document kept before this was read at intake.
ALTER TABLE documents ADD COLUMN read_at BIGINT;
UPDATE documents SET read_at = created_at;
