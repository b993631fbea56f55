-- Closing a review session (PostgreSQL): when and by whom, and the summary of its votes,
-- comments and decisions as they stood then (JSON). A closed session takes no more notes;
-- its decisions can still be linked to the version that carries them out.

ALTER TABLE review_sessions ADD COLUMN closed_at BIGINT;
ALTER TABLE review_sessions ADD COLUMN closed_by BIGINT REFERENCES users(id);
ALTER TABLE review_sessions ADD COLUMN summary TEXT;
