-- The exception inbox (issue 6): review policy per automation, claims, escalations,
-- notifications, reports of wrong automatic results, and server-held secrets.

-- Copied from the active version's [review] section each time a version is applied, so
-- the inbox can sort by priority and due time in SQL.
CREATE TABLE review_policies (
    automation_id  INTEGER PRIMARY KEY REFERENCES automations(id),
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    priority       INTEGER NOT NULL DEFAULT 1,
    sla_ms         INTEGER,
    escalate_to    TEXT NOT NULL DEFAULT '[]',
    notify         TEXT NOT NULL DEFAULT '[]',
    updated_at     INTEGER NOT NULL
);
CREATE INDEX review_policies_workspace ON review_policies(workspace_id);

-- Who is looking at an item right now; a claim past expires_at is free to take.
CREATE TABLE item_claims (
    item_id       INTEGER PRIMARY KEY REFERENCES items(id),
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    claimed_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

-- One row per overdue item that was escalated; the primary key makes escalation
-- happen once even when several instances sweep at the same moment.
CREATE TABLE item_escalations (
    item_id       INTEGER PRIMARY KEY REFERENCES items(id),
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    due_at        INTEGER NOT NULL,
    escalated_at  INTEGER NOT NULL,
    detail        TEXT NOT NULL DEFAULT '{}'
);

-- Every notification sent (or attempted): digests and escalations.
CREATE TABLE notifications (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER,
    kind           TEXT NOT NULL,
    channel        TEXT NOT NULL,
    item_ids       TEXT NOT NULL DEFAULT '[]',
    error          TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX notifications_recent ON notifications(workspace_id, kind, automation_id, created_at);

-- "This looks wrong": an automatically accepted result sent back by a person or a system.
CREATE TABLE escaped_errors (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    item_id        INTEGER NOT NULL REFERENCES items(id),
    automation_id  INTEGER NOT NULL,
    reporter_id    INTEGER,
    reporter       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX escaped_errors_time ON escaped_errors(workspace_id, created_at);

-- Secrets the server generates once and every instance shares (the key that signs
-- decision links).
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Reviewer progress reads decisions by time.
CREATE INDEX inbox_audit_time ON audit_events(workspace_id, created_at);
