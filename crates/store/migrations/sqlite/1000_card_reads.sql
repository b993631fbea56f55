-- Automation cards read (SQLite): a reviewer is shown an automation's card before their
-- first decision on it, and their acknowledgement is kept here, one row per member and
-- automation (with the version whose card they read). Numbered 1000 (rollout's range).

CREATE TABLE card_reads (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    user_id        INTEGER NOT NULL REFERENCES users(id),
    version_id     INTEGER REFERENCES automation_versions(id),
    read_at        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id, automation_id)
);
