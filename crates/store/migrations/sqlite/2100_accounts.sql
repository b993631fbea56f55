-- Accounts can be managed after they are made (issue 21, point 5). A disabled person keeps
-- their row and history but cannot sign in, and their sessions and tokens stop working; a
-- removed one is kept only for the names on past decisions. Tokens may expire.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
ALTER TABLE users ADD COLUMN removed_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
CREATE INDEX api_tokens_workspace ON api_tokens(workspace_id, id);
CREATE INDEX sessions_user ON sessions(user_id);
