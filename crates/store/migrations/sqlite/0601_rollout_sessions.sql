-- Review sessions (SQLite): a stratified sample of an automation's items for a 30-minute
-- team session, the votes and comments on them, and the decisions taken, each linked to
-- the version that carries it out. Numbered 0601 (rollout owns 06xx) because sqlx reads
-- the number before the first underscore as the migration's version.

CREATE TABLE review_sessions (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    title          TEXT NOT NULL,
    created_by     INTEGER REFERENCES users(id),
    created_at     INTEGER NOT NULL
);
CREATE INDEX review_sessions_automation ON review_sessions(workspace_id, automation_id, id);

CREATE TABLE review_session_items (
    session_id    INTEGER NOT NULL REFERENCES review_sessions(id),
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    item_id       INTEGER NOT NULL REFERENCES items(id),
    stratum       TEXT NOT NULL,
    position      INTEGER NOT NULL,
    PRIMARY KEY (session_id, item_id)
);

CREATE TABLE review_session_notes (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    session_id    INTEGER NOT NULL REFERENCES review_sessions(id),
    item_id       INTEGER,
    user_id       INTEGER REFERENCES users(id),
    kind          TEXT NOT NULL,
    vote          TEXT,
    action        TEXT,
    body          TEXT NOT NULL,
    version_id    INTEGER REFERENCES automation_versions(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX review_session_notes_session ON review_session_notes(workspace_id, session_id, id);
